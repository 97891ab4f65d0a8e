"""The composition root: the Bot and the back office wired together from the settings, as
a server (web.lifecycle) or the indexing worker (`faqbot worker`) runs them: the bot
records its exchanges in the back office's conversation log and, with
FAQBOT_BUILDS=shared, serves the builds published in the database rather than one of its
own."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass

from backoffice.builds import catch_up, publish_served
from backoffice.office import BackOffice
from bot.config import Settings
from bot.core import Bot


@dataclass(frozen=True)
class House:
    bot: Bot
    office: BackOffice


def open_house(settings: Settings, builds_here: bool | None = None,
               stop: threading.Event | None = None) -> House:
    """`builds_here`: this process runs indexing jobs (default: FAQBOT_WORKER=in-process).
    With shared builds, the newest published build is fetched first; a process that never
    builds waits for one (until `stop`) and serves it as built; one that builds brings it up
    to date with the database's knowledge and publishes what it serves if that is new."""
    office = BackOffice.open(settings)
    if settings.builds != "shared":
        return House(Bot.load(settings=settings, recorder=office.conversations), office)
    builds_here = settings.worker == "in-process" if builds_here is None else builds_here
    served = catch_up(office.builds, settings.index_dir, wait=not builds_here, stop=stop)
    if not builds_here:
        if not served:
            raise InterruptedError("stopped while waiting for a published build")
        return House(Bot.load(settings=settings, recorder=office.conversations,
                              as_built=True), office)
    office.export_knowledge()
    bot = Bot.load(settings=settings, recorder=office.conversations)
    publish_served(bot, office.builds, f"{socket.gethostname()}:{settings.index_dir}")
    return House(bot, office)
