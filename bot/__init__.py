"""The core of faqbot, a bilingual medical FAQ bot that answers by quoting its sources:
reading documents, building the index, and answering (`Bot`). It imports neither the back
office nor the web: it records exchanges through `bot.recorder.ExchangeRecorder`."""

from bot.config import Settings
from bot.models import Passage, Reply

__all__ = ["Bot", "Passage", "Reply", "Settings"]


def __getattr__(name: str):
    # Imported lazily so `import bot` stays cheap (no numpy/faiss until a Bot is needed).
    if name == "Bot":
        from bot.core import Bot

        return Bot
    raise AttributeError(name)
