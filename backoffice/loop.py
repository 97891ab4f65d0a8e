"""The back office's background threads, shared by the indexing worker and the build
follower: a loop that polls until stopped, and a heartbeat that marks a long job alive."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)


class PollingThread:
    """A daemon thread calling `step` until stopped: again at once after a step that did
    some work (returned True), after `poll_seconds` otherwise. A step that raises is logged
    and the loop goes on (a worker outlives one bad job or a database blip)."""

    def __init__(self, name: str, step: Callable[[], bool], poll_seconds: float,
                 join_seconds: float) -> None:
        self.name = name
        self.step = step
        self.poll = poll_seconds
        self.join_seconds = join_seconds
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                worked = self.step()
            except Exception:  # noqa: BLE001 - see the class docstring
                log.exception("%s: a step failed", self.name)
                worked = False
            if not worked:
                self.stopping.wait(self.poll)

    def start(self) -> PollingThread:
        self._thread = threading.Thread(target=self.run, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=self.join_seconds)


@contextmanager
def heartbeat(every_seconds: float, beat: Callable[[], None]) -> Iterator[None]:
    """`beat()` every `every_seconds` while the block runs (one slow step of a job must not
    make it look dead to other workers); none after the block has ended."""
    done = threading.Event()

    def loop() -> None:
        while not done.wait(every_seconds):
            beat()

    thread = threading.Thread(target=loop, name="job-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
