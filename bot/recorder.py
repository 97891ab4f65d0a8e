"""How the core records what it answered: a protocol. The back office implements it
(backoffice.conversations.ConversationLog, a database); the core never imports a database layer."""

from __future__ import annotations

from typing import Protocol

from bot.models import Reply


class ExchangeRecorder(Protocol):
    def record_exchange(self, question: str, reply: Reply, channel: str,
                        latency_ms: float) -> None:
        """Keep one exchange; raise bot.errors.DatabaseError if it could not be kept
        (after keeping it somewhere safe to retry)."""
        ...

    def record_feedback(self, reply_id: str, rating: str, comment: str | None = None) -> None:
        """Attach a visitor's rating to a recorded reply (InputError for an unknown one)."""
        ...
