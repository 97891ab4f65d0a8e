"""The indexing worker: takes build jobs from the database one at a time, exports the
uploaded documents to the corpus, rebuilds the index (the bot keeps serving the previous
one until the new one is swapped in) and marks each document live or failed. Runs as a
thread in the server, or alone as `faqbot worker`."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import Counter

from backoffice.builds import publish_served
from backoffice.documents import UPLOAD_DIR, DocumentStatus, document_of
from backoffice.jobs import Job, JobKind
from backoffice.loop import PollingThread, heartbeat
from backoffice.office import BackOffice
from bot.core import Bot
from bot.errors import BotError
from bot.sessions import InMemorySessionStore

log = logging.getLogger(__name__)


class IndexWorker:
    HEARTBEAT_SECONDS = 10.0

    def __init__(self, bot, office: BackOffice, poll_seconds: float = 1.0,
                 name: str | None = None) -> None:
        self.bot = bot
        self.office = office
        self.queue = office.jobs
        self.documents = office.documents
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
        self._loop = PollingThread("index-worker", lambda: self.run_once() is not None,
                                   poll_seconds, join_seconds=30)

    def run_once(self) -> Job | None:
        """Run the next job if there is one; the job as it ended."""
        job = self.queue.claim(self.name)
        if job is None:
            return None
        log.info("%s job #%d started on %s", job.kind, job.id, self.name)
        if job.kind == JobKind.BATCH:
            self._batch(job)
        else:
            self._build(job)
        return self.queue.get(job.id)

    def _batch(self, job: Job) -> None:
        # A bot on the live index that keeps no log and no sessions of its own.
        quiet = Bot(self.bot.retriever, self.bot.settings, sessions=InMemorySessionStore())
        try:
            self.office.batch.run(job, quiet)
        except (BotError, OSError, ValueError) as exc:
            self.queue.finish(job.id, f"the batch test could not run ({exc})")
            return
        self.queue.finish(job.id)

    def run_forever(self) -> None:
        self._loop.run()

    def start(self) -> IndexWorker:
        self._loop.start()
        return self

    def stop(self) -> None:
        self._loop.stop()

    def _build(self, job: Job) -> None:
        # What the database holds goes to the corpus directory first: this server builds
        # what every server's operators saved.
        stored = self.office.export_knowledge()
        waiting = (DocumentStatus.QUEUED, DocumentStatus.INDEXING, DocumentStatus.FAILED)
        pending = [d.id for d in stored if d.status in waiting]
        self.documents.set_status(pending, DocumentStatus.INDEXING)
        last = 0.0
        state = ["starting", 0, 0]

        def progress(stage: str, done: int, total: int) -> None:
            nonlocal last
            state[:] = [stage, done, total]
            now = time.monotonic()
            if now - last >= 0.5 or done == total:  # a report, not a write per text
                last = now
                self.queue.progress(job.id, stage, done, total)

        error = ""
        try:
            with heartbeat(self.HEARTBEAT_SECONDS, lambda: self.queue.progress(job.id, *state)):
                manifest = self.bot.reindex(progress)
        except (BotError, OSError) as exc:
            manifest, error = None, f"the build failed ({exc}); the bot keeps its previous index"
        if manifest is None:
            self.documents.set_status(pending, DocumentStatus.FAILED, error)
            self.queue.finish(job.id, error)
            log.error("index job #%d failed: %s", job.id, error)
            return
        if self.bot.settings.builds == "shared":  # every server fetches it from there
            publish_served(self.bot, self.office.builds, self.name)
        counts = Counter(document_of(chunk.doc_id) for chunk in self.bot.retriever.index.chunks)
        problems = {doc.id: warning for doc in stored for warning in manifest.warnings
                    if f"{UPLOAD_DIR}/{doc.file_name}" in warning}
        # A document replaced while this build ran waits for the next one.
        current = {d.id: d.sha256 for d in self.documents.list()}
        live = [d.id for d in stored if d.id not in problems and current.get(d.id) == d.sha256]
        self.documents.set_status(live, DocumentStatus.LIVE, passages=counts)
        for doc_id, warning in problems.items():
            self.documents.set_status([doc_id], DocumentStatus.FAILED, warning)
        self.queue.finish(job.id, build_id=self.bot.retriever.index.path.name)
        log.info("index job #%d done: %d chunks", job.id, manifest.chunks)
