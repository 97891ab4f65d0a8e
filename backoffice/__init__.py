"""The back office: what operators work with, beside the retrieval core. The conversation
log (logstore), operator accounts (operators), review (review), curated answers (curation),
their database schema (migrations). The core (`bot`) never imports this package: it
records exchanges through `bot.recorder.ExchangeRecorder`, which LogStore implements."""
