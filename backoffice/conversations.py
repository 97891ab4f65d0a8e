"""The conversation log: every exchange and every rating, for operators to review; one
store of the back office's database (backoffice.database).

Writes are one short transaction each. Personal data in questions is masked before it is
stored. A write the database refuses goes to a spool file and is replayed on the next
write, so no exchange is lost while the database is away.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from backoffice.database import Database, exchanges, feedback, safe_error
from backoffice.privacy import mask_personal_data
from bot.errors import DatabaseError, InputError, UnknownReplyError
from bot.models import Reply

log = logging.getLogger(__name__)

Rating = Literal["up", "down"]
MAX_COMMENT_CHARS = 2000


@dataclass(frozen=True)
class Feedback:
    reply_id: str
    rating: Rating
    comment: str | None
    created_at: datetime


class ConversationLog:
    """Implements bot.recorder.ExchangeRecorder over the database."""

    def __init__(self, database: Database, spool_path: Path | str | None = None) -> None:
        self.database = database
        self.engine = database.engine
        self.spool_path = Path(spool_path) if spool_path else _default_spool(database.url)
        self._spool_lock = threading.Lock()
        self.replay_spool()

    def record_exchange(self, question: str, reply: Reply, channel: str,
                        latency_ms: float | None = None) -> None:
        """Store one exchange (question masked). If the database refuses, the row goes to
        the spool file and DatabaseError is raised; the next write replays it."""
        row = {
            "reply_id": reply.reply_id, "session_id": reply.session_id,
            "created_at": datetime.now(UTC).isoformat(), "channel": channel,
            "lang": reply.lang, "kind": reply.kind, "question": mask_personal_data(question),
            "top_score": max((p.score for p in reply.passages), default=None),
            "reply": reply.model_dump_json(), "latency_ms": latency_ms,
        }
        try:
            self._write(insert(exchanges).values(_from_json(row)))
        except DatabaseError:
            self._spool(row)
            raise
        if self.spool_path.exists():
            self.replay_spool()

    def replay_spool(self) -> int:
        """Write spooled exchanges into the database; how many went in."""
        with self._spool_lock:
            if not self.spool_path.exists():
                return 0
            replaying = self.spool_path.with_suffix(f".replay-{os.getpid()}")
            os.replace(self.spool_path, replaying)
            rows = [json.loads(line) for line in replaying.read_text("utf-8").splitlines()
                    if line.strip()]
            written = 0
            try:
                for number, row in enumerate(rows):
                    try:
                        self._write(insert(exchanges).values(_from_json(row)))
                        written += 1
                    except DatabaseError as exc:
                        if not isinstance(exc.__cause__, IntegrityError):  # not a duplicate
                            for rest in rows[number:]:
                                self._append_spool(rest)
                            break
            finally:
                replaying.unlink()
            if written:
                log.info("replayed %d spooled exchanges", written)
            return written

    def _spool(self, row: dict) -> None:
        with self._spool_lock:
            self._append_spool(row)
        log.error("log database refused exchange %s; kept in %s", row["reply_id"],
                  self.spool_path)

    def _append_spool(self, row: dict) -> None:
        line = (json.dumps(row, ensure_ascii=False) + "\n").encode()
        self.spool_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.spool_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def purge(self, older_than_days: int) -> int:
        """Delete exchanges (and their ratings) older than the retention period."""
        if older_than_days < 1:
            raise InputError("retention must be at least one day")
        cutoff = datetime.now(UTC) - timedelta(days=older_than_days)
        old = select(exchanges.c.reply_id).where(exchanges.c.created_at < cutoff)
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(feedback).where(feedback.c.reply_id.in_(old)))
                return conn.execute(delete(exchanges).where(exchanges.c.created_at < cutoff)
                                    ).rowcount
        except SQLAlchemyError as exc:
            raise DatabaseError(f"could not purge the log: {safe_error(exc)}") from exc

    def record_feedback(self, reply_id: str, rating: str, comment: str | None = None) -> None:
        """Ratings attach to a logged reply; a visitor may change their mind (latest wins)."""
        if rating not in ("up", "down"):
            raise InputError("rating must be 'up' or 'down'")
        comment = mask_personal_data((comment or "").strip()) or None
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
            raise DatabaseError(f"could not write to the log: {safe_error(exc)}") from exc

    def _connect(self):
        return self.database.connect()


def _from_json(row: dict) -> dict:
    return {**row, "created_at": datetime.fromisoformat(row["created_at"])}


def _default_spool(url: str) -> Path:
    """Beside a SQLite file; else in the working directory, named after the database."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        return Path(url.removeprefix("sqlite:///") + ".spool.jsonl")
    name = url.rsplit("/", 1)[-1].split("?")[0] or "log"
    return Path(f"faqbot-log-{name}.spool.jsonl")
