"""The conversation log: every exchange and every rating, for operators to review.

SQLAlchemy Core over SQLite by default (a file beside the index, WAL mode) or any database
URL (PostgreSQL for several replicas). The schema is made by Alembic migrations
(backoffice/migrations), run on open. Writes are one short transaction each. Personal data in
questions is masked before it is stored. A write the database refuses goes to a spool file
and is replayed on the next write, so no exchange is lost while the database is away.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    false,
    insert,
    inspect,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from backoffice.privacy import mask_personal_data
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
    Column("top_score", Float),  # the best quoted passage's confidence
    Column("reply", Text, nullable=False),  # the Reply as JSON: passages with their scores
    Column("latency_ms", Float),
    Column("reviewed", Boolean, nullable=False, server_default=false()),
)

feedback = Table(
    "feedback", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("reply_id", String(64), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("rating", String(8), nullable=False),
    Column("comment", Text),
)


operators = Table(
    "operators", metadata,
    Column("username", String(64), primary_key=True),
    Column("password_hash", String(256), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("failed_logins", Integer, nullable=False, server_default="0"),
    Column("locked_until", DateTime(timezone=True)),
    Column("role", String(16), nullable=False, server_default="admin"),
)

operator_sessions = Table(
    "operator_sessions", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("username", String(64), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

curated = Table(
    "curated", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("question_zh", Text),
    Column("answer_zh", Text),
    Column("question_en", Text),
    Column("answer_en", Text),
    Column("source_url", String(1000)),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("retired", Boolean, nullable=False, server_default=false()),
)

documents = Table(
    "documents", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("format", String(16), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("title", String(500), nullable=False, server_default=""),
    Column("lang", String(8), nullable=False, server_default=""),
    Column("passages", Integer, nullable=False, server_default="0"),
    Column("status", String(16), nullable=False),
    Column("error", Text),
    Column("uploaded_by", String(64), nullable=False),
    Column("uploaded_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

jobs = Table(
    "jobs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("done", Integer, nullable=False, server_default="0"),
    Column("total", Integer, nullable=False, server_default="0"),
    Column("stage", String(200), nullable=False, server_default=""),
    Column("error", Text),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("worker", String(64)),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True)),
    Column("heartbeat_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("build_id", String(64)),  # the index build a finished build job made
)

index_builds = Table(
    "index_builds", metadata,
    Column("build_id", String(64), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("manifest", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("parts", Integer, nullable=False),
    Column("published_by", String(128), nullable=False),
)

index_build_parts = Table(
    "index_build_parts", metadata,
    Column("build_id", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("data", LargeBinary, nullable=False),
)

api_keys = Table(
    "api_keys", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),
    Column("prefix", String(16), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False),
    Column("rate_per_minute", Integer, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
)

audit = Table(
    "audit", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("who", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(255), nullable=False, server_default=""),
    Column("detail", Text),
)

guidance = Table(
    "guidance", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("question", Text, nullable=False),
    Column("doc_id", String(500)),
    Column("quote", Text),
    Column("title", String(500)),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

synonym_groups = Table(
    "synonym_groups", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("members", Text, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

batch_runs = Table(
    "batch_runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", Integer, nullable=False, index=True),
    Column("name", String(255), nullable=False),
    Column("items", Text, nullable=False),
    Column("results", Text),
    Column("passed", Integer),
    Column("total", Integer, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

MIGRATIONS = Path(__file__).parent / "migrations"
FIRST_REVISION = "0001"  # the schema the website channel created before migrations


@dataclass(frozen=True)
class Feedback:
    reply_id: str
    rating: Rating
    comment: str | None
    created_at: datetime


class LogStore:
    def __init__(self, url: str, spool_path: Path | str | None = None) -> None:
        self.url = url
        self.spool_path = Path(spool_path) if spool_path else _default_spool(url)
        self._spool_lock = threading.Lock()
        try:
            self.engine = _make_engine(url)
            migrate(self.engine)
        except SQLAlchemyError as exc:
            raise LogStoreError(f"log database unavailable: {_safe(exc)}") from exc
        self.replay_spool()

    def record_exchange(self, question: str, reply: Reply, channel: str,
                        latency_ms: float | None = None) -> None:
        """Store one exchange (question masked). If the database refuses, the row goes to
        the spool file and LogStoreError is raised; the next write replays it."""
        row = {
            "reply_id": reply.reply_id, "session_id": reply.session_id,
            "created_at": datetime.now(UTC).isoformat(), "channel": channel,
            "lang": reply.lang, "kind": reply.kind, "question": mask_personal_data(question),
            "top_score": max((p.score for p in reply.passages), default=None),
            "reply": reply.model_dump_json(), "latency_ms": latency_ms,
        }
        try:
            self._write(insert(exchanges).values(_from_json(row)))
        except LogStoreError:
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
                    except LogStoreError as exc:
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
            raise LogStoreError(f"could not purge the log: {_safe(exc)}") from exc

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
            raise LogStoreError(f"could not write to the log: {_safe(exc)}") from exc

    def _connect(self):
        try:
            return self.engine.connect()
        except SQLAlchemyError as exc:
            raise LogStoreError(f"log database unavailable: {_safe(exc)}") from exc


def migrate(engine: Engine) -> None:
    """Bring the schema to the latest migration. A database the website channel created
    before migrations existed is recognised and stamped first."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    for attempt in range(3):
        try:
            with engine.begin() as conn:
                config.attributes["connection"] = conn
                current = MigrationContext.configure(conn).get_current_revision()
                if current is None and inspect(conn).has_table("exchanges"):
                    command.stamp(config, FIRST_REVISION)
                command.upgrade(config, "head")
            return
        except SQLAlchemyError:
            # Several workers starting at once: one migrates, the others find it done.
            if attempt == 2:
                raise
            time.sleep(0.5 * (attempt + 1))


def _from_json(row: dict) -> dict:
    return {**row, "created_at": datetime.fromisoformat(row["created_at"])}


def _default_spool(url: str) -> Path:
    """Beside a SQLite file; else in the working directory, named after the database."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        return Path(url.removeprefix("sqlite:///") + ".spool.jsonl")
    name = url.rsplit("/", 1)[-1].split("?")[0] or "log"
    return Path(f"faqbot-log-{name}.spool.jsonl")


def _make_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        # The default file lives in the index directory, which a first start creates.
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
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
