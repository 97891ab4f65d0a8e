"""What a web process runs around its bot, from start to stop: the Bot and the back office
opened in the background (backoffice.house; health and readiness answer meanwhile), the
in-process indexing worker, and with shared builds the follower that fetches each new
published build."""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import TYPE_CHECKING

from fastapi import FastAPI

from bot.config import Settings
from web.metrics import CountingRecorder, Metrics

if TYPE_CHECKING:
    from backoffice.office import BackOffice
    from bot.core import Bot

log = logging.getLogger(__name__)


class Service:
    """One per app: begun by the app's lifespan at startup, stopped at shutdown."""

    def __init__(self, app: FastAPI, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.stopping = threading.Event()
        self.worker = None
        self.follower = None
        self._loader: threading.Thread | None = None

    def begin(self) -> None:
        if self.app.state.bot is not None:
            self._started(self.app.state.bot, self.app.state.office)
            return
        self._loader = threading.Thread(target=self._load, name="bot-loader", daemon=True)
        self._loader.start()

    def _load(self) -> None:
        from backoffice.house import open_house

        try:
            house = open_house(self.settings, stop=self.stopping)
        except InterruptedError:
            return
        except Exception as exc:  # noqa: BLE001 - any failure to start is reported alike
            log.exception("the bot could not start")
            self.app.state.start_error = str(exc)[:300]
            if self.app.state.exit_on_start_failure:  # a server: stop, loudly (exit code 1)
                os.kill(os.getpid(), signal.SIGTERM)
            return
        if not self.stopping.is_set():
            self._started(house.bot, house.office)

    def _started(self, bot: Bot, office: BackOffice | None) -> None:
        instrument(bot, self.app.state.metrics)
        self.app.state.metrics.observe_index(bot.retriever.index.manifest)
        self.worker = start_index_worker(bot, office, self.settings)
        if self.settings.builds == "shared" and office is not None:
            from backoffice.builds import BuildFollower

            self.follower = BuildFollower(bot, office.builds).start()
        self.app.state.office = office
        self.app.state.bot = bot

    def stop(self) -> None:
        self.stopping.set()
        for part in (self.follower, self.worker):
            if part is not None:
                part.stop()


def start_index_worker(bot: Bot, office: BackOffice | None, settings: Settings):
    """The in-process indexing worker, when there is a back office (the jobs live in its
    database) and no separate `faqbot worker` is configured."""
    from backoffice.worker import IndexWorker

    if settings.worker != "in-process" or office is None:
        return None
    return IndexWorker(bot, office).start()


def instrument(bot, metrics: Metrics | None = None) -> Metrics:
    """The bot's recorder counts replies for /metrics (wrapped once per bot, into
    `metrics` when given: the app's, which also counts its requests)."""
    if not isinstance(bot.recorder, CountingRecorder):
        bot.recorder = CountingRecorder(bot.recorder, metrics or Metrics())
    return bot.recorder.metrics
