"""The Bot as a server or the indexing worker runs it: with the conversation log (and the
back office's tables) in the database, and, with FAQBOT_BUILDS=shared, on the builds
published there rather than on one of its own."""

from __future__ import annotations

import logging
import socket
import threading

from backoffice.builds import BuildStore, catch_up, publish_served
from backoffice.logstore import LogStore
from backoffice.worker import export_knowledge
from bot.config import Settings
from bot.core import Bot

log = logging.getLogger(__name__)


def load_bot(settings: Settings, builds_here: bool | None = None,
             stop: threading.Event | None = None) -> Bot:
    """The bot with its conversation log. `builds_here`: this process runs indexing jobs
    (default: FAQBOT_WORKER=in-process). With shared builds, the newest published build is
    fetched first; a process that never builds waits for one (until `stop`) and serves it
    as built; one that builds brings it up to date with the database's knowledge and
    publishes what it serves if that is new."""
    url = settings.log_database_url()
    # A shared database's spool is this server's own (beside its index), never a file in
    # whatever directory several servers were started from.
    logstore = LogStore(url, spool_path=None if url.startswith("sqlite") else
                        settings.index_dir / "conversations.spool.jsonl")
    if settings.builds != "shared":
        return Bot.load(settings=settings, logstore=logstore)
    builds_here = settings.worker == "in-process" if builds_here is None else builds_here
    store = BuildStore(logstore)
    served = catch_up(store, settings.index_dir, wait=not builds_here, stop=stop)
    if not builds_here:
        if not served:
            raise InterruptedError("stopped while waiting for a published build")
        return Bot.load(settings=settings, logstore=logstore, as_built=True)
    export_knowledge(logstore, settings.corpus_dir)
    bot = Bot.load(settings=settings, logstore=logstore)
    publish_served(bot, store, f"{socket.gethostname()}:{settings.index_dir}")
    return bot
