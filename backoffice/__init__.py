"""The back office: what operators work with, beside the retrieval core. Its database
(`database`: tables, engine, migrations) and the stores over it: the conversation log
(`conversations`), operator accounts (`operators`), review, curated answers (`curation`),
documents, jobs, builds, API keys, audit, guidance and synonym groups (`guidance_store`,
`synonym_store`: the core reads what they export), batch tests; `office` holds
them all as one `BackOffice`, and `house` is the composition root that wires the Bot to it.
The core (`bot`) never imports this package: it records exchanges through
`bot.recorder.ExchangeRecorder`, which ConversationLog implements."""
