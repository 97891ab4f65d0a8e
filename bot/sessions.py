"""Conversation memory: the recent turns of each session, so follow-ups keep their context."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Protocol

from bot.models import Turn


class SessionStore(Protocol):
    def recent(self, session_id: str) -> list[Turn]: ...

    def append(self, session_id: str, turn: Turn) -> None: ...


class InMemorySessionStore:
    """Process-local sessions with an idle timeout; the least recently used are evicted
    past `max_sessions`, so memory stays bounded under any traffic."""

    def __init__(self, max_turns: int = 6, ttl_seconds: float = 3600,
                 max_sessions: int = 10_000) -> None:
        self.max_turns = max_turns
        self.ttl = ttl_seconds
        self.max_sessions = max_sessions
        self._data: OrderedDict[str, tuple[float, list[Turn]]] = OrderedDict()
        self._lock = threading.Lock()

    def recent(self, session_id: str) -> list[Turn]:
        with self._lock:
            entry = self._data.get(session_id)
            if entry is None:
                return []
            seen, turns = entry
            if time.monotonic() - seen > self.ttl:
                del self._data[session_id]
                return []
            return list(turns)

    def append(self, session_id: str, turn: Turn) -> None:
        with self._lock:
            _, turns = self._data.pop(session_id, (0.0, []))
            turns = (turns + [turn])[-self.max_turns :]
            self._data[session_id] = (time.monotonic(), turns)
            while len(self._data) > self.max_sessions:
                self._data.popitem(last=False)
