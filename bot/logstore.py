"""The conversation log: every exchange and every rating, for operators to review.

SQLAlchemy Core over SQLite by default (a file beside the index) or any database URL
(PostgreSQL in production). Writes are one short transaction each, so several workers can
share one database.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.errors import InputError, LogStoreError, UnknownReplyError
from bot.models import Reply

log = logging.getLogger(__name__)

Rating = Literal["up", "down"]
MAX_COMMENT_CHARS = 2000

metadata = MetaData()

exchanges = Table(
    "exchanges", metadata,
    Column("reply_id", String(64), primary_key=True),
    Column("session_id", String(128), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("channel", String(32), nullable=False),
    Column("lang", String(8), nullable=False),
    Column("kind", String(16), nullable=False, index=True),
    Column("question", Text, nullable=False),
    Column("top_score", Float),
    Column("reply", Text, nullable=False),  # the Reply as JSON
)

feedback = Table(
    "feedback", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("reply_id", String(64), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("rating", String(8), nullable=False),
    Column("comment", Text),
)


@dataclass(frozen=True)
class Feedback:
    reply_id: str
    rating: Rating
    comment: str | None
    created_at: datetime


class LogStore:
    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = _make_engine(url)
            metadata.create_all(self.engine)
        except SQLAlchemyError as exc:
            raise LogStoreError(f"log database unavailable: {_safe(exc)}") from exc

    def record_exchange(self, question: str, reply: Reply, channel: str) -> None:
        row = {
            "reply_id": reply.reply_id, "session_id": reply.session_id,
            "created_at": datetime.now(UTC), "channel": channel, "lang": reply.lang,
            "kind": reply.kind, "question": question,
            "top_score": max((p.score for p in reply.passages), default=None),
            "reply": reply.model_dump_json(),
        }
        self._write(insert(exchanges).values(row))

    def record_feedback(self, reply_id: str, rating: str, comment: str | None = None) -> None:
        """Ratings attach to a logged reply; a visitor may change their mind (latest wins)."""
        if rating not in ("up", "down"):
            raise InputError("rating must be 'up' or 'down'")
        comment = (comment or "").strip() or None
        if comment is not None and len(comment) > MAX_COMMENT_CHARS:
            raise InputError(f"comment is longer than {MAX_COMMENT_CHARS} characters")
        known = select(exchanges.c.reply_id).where(exchanges.c.reply_id == reply_id)
        with self._connect() as conn:
            if conn.execute(known).first() is None:
                raise UnknownReplyError(f"unknown reply_id {reply_id[:64]!r}")
        self._write(insert(feedback).values(reply_id=reply_id, created_at=datetime.now(UTC),
                                            rating=rating, comment=comment))

    def exchange(self, reply_id: str) -> dict | None:
        with self._connect() as conn:
            row = conn.execute(select(exchanges).where(exchanges.c.reply_id == reply_id)).first()
        if row is None:
            return None
        out = dict(row._mapping)
        out["reply"] = json.loads(out["reply"])
        return out

    def session_exchanges(self, session_id: str) -> list[dict]:
        """A conversation's logged exchanges, oldest first (reply JSON left as text)."""
        query = (select(exchanges).where(exchanges.c.session_id == session_id)
                 .order_by(exchanges.c.created_at))
        with self._connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def feedback_for(self, reply_id: str) -> list[Feedback]:
        query = (select(feedback).where(feedback.c.reply_id == reply_id)
                 .order_by(feedback.c.id))
        with self._connect() as conn:
            return [Feedback(r.reply_id, r.rating, r.comment, r.created_at)
                    for r in conn.execute(query)]

    def _write(self, statement) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(statement)
        except SQLAlchemyError as exc:
            raise LogStoreError(f"could not write to the log: {_safe(exc)}") from exc

    def _connect(self):
        try:
            return self.engine.connect()
        except SQLAlchemyError as exc:
            raise LogStoreError(f"log database unavailable: {_safe(exc)}") from exc


def _make_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": 10, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record) -> None:  # WAL: readers never block the writer
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


def _safe(exc: Exception) -> str:
    """The error's first line, without the statement and parameters (visitor text)."""
    return str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
