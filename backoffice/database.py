"""The back office's database: its tables, its engine and its schema, made by the Alembic
migrations (backoffice/migrations) when it is opened. SQLAlchemy Core over SQLite by
default (a file beside the index, WAL mode) or any database URL (PostgreSQL for several
replicas). Every back-office store (the conversation log among them) takes a `Database`.
"""

from __future__ import annotations

import time
from pathlib import Path

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
    event,
    false,
    inspect,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.errors import DatabaseError

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


class Database:
    """One database, opened (and migrated to the latest schema) once per process."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = _make_engine(url)
            migrate(self.engine)
        except SQLAlchemyError as exc:
            raise DatabaseError(f"database unavailable: {safe_error(exc)}") from exc

    def connect(self) -> Connection:
        """A connection (DatabaseError, not SQLAlchemy's, when the database is away)."""
        try:
            return self.engine.connect()
        except SQLAlchemyError as exc:
            raise DatabaseError(f"database unavailable: {safe_error(exc)}") from exc


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


def safe_error(exc: Exception) -> str:
    """The error's first line, without the statement and parameters (visitor text)."""
    return str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
