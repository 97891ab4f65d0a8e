"""The conversation log on SQLite (default) and on the real PostgreSQL server."""

from __future__ import annotations

import threading
import uuid

import pytest

from backoffice.conversations import ConversationLog
from backoffice.database import Database
from bot.errors import DatabaseError, InputError
from bot.models import Passage, Reply


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        return ConversationLog(Database(f"sqlite:///{tmp_path}/log.sqlite"))
    return ConversationLog(Database(request.getfixturevalue("postgres_url")))


def _reply(kind="answer", score=0.8) -> Reply:
    passages = [Passage(text="原文", doc_id="d1", title="标题", score=score)] if score else []
    return Reply(reply_id=uuid.uuid4().hex, session_id="s1", lang="zh", kind=kind,
                 message="以下是资料中的相关内容：", text="全文", passages=passages,
                 disclaimer="免责声明", suggestions=[])


def test_a_sqlite_log_in_a_directory_not_yet_made_is_created(tmp_path):
    # The default log lives in the index directory, which a first start has not built yet.
    store = ConversationLog(Database(f"sqlite:///{tmp_path}/new-index/conversations.sqlite"))
    reply = _reply()
    store.record_exchange("腰痛怎么办", reply, "web")
    assert store.exchange(reply.reply_id)["question"] == "腰痛怎么办"


def test_exchange_and_feedback_round_trip(store):
    reply = _reply()
    store.record_exchange("腰痛怎么办", reply, "web")
    logged = store.exchange(reply.reply_id)
    assert logged["question"] == "腰痛怎么办" and logged["channel"] == "web"
    assert logged["top_score"] == pytest.approx(0.8)
    assert Reply.model_validate(logged["reply"]) == reply
    store.record_feedback(reply.reply_id, "down", "  不相关 ")
    store.record_feedback(reply.reply_id, "up")
    assert [(f.rating, f.comment) for f in store.feedback_for(reply.reply_id)] == [
        ("down", "不相关"), ("up", None)]


def test_fallback_has_no_score(store):
    reply = _reply("fallback", score=None)
    store.record_exchange("怎么办护照", reply, "wechat")
    assert store.exchange(reply.reply_id)["top_score"] is None


def test_feedback_validation(store):
    reply = _reply()
    store.record_exchange("q", reply, "web")
    with pytest.raises(InputError, match="unknown reply_id"):
        store.record_feedback("nope", "up")
    with pytest.raises(InputError, match="rating"):
        store.record_feedback(reply.reply_id, "sideways")
    with pytest.raises(InputError, match="comment"):
        store.record_feedback(reply.reply_id, "up", "x" * 5000)
    assert store.feedback_for(reply.reply_id) == []


def test_concurrent_writers_lose_nothing(store):
    replies = [_reply() for _ in range(80)]

    def write(batch):
        for reply in batch:
            store.record_exchange("并发", reply, "web")
            store.record_feedback(reply.reply_id, "up")

    threads = [threading.Thread(target=write, args=(replies[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(store.exchange(r.reply_id) and store.feedback_for(r.reply_id) for r in replies)


def test_unreachable_database_is_a_clear_error():
    with pytest.raises(DatabaseError, match="unavailable"):
        ConversationLog(Database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"))


def test_migrations_make_the_schema_from_empty(store):
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from sqlalchemy import inspect, text

    from backoffice.database import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head
        columns = {c["name"] for c in inspect(conn).get_columns("exchanges")}
        tables = set(inspect(conn).get_table_names())
        roles = {c["name"] for c in inspect(conn).get_columns("operators")}
    assert {"latency_ms", "reviewed", "question", "reply"} <= columns
    assert {"documents", "jobs", "audit", "curated", "operators", "guidance", "index_builds",
            "index_build_parts", "api_keys"} <= tables and "role" in roles
    Database(store.database.url)  # opening again finds it up to date


def test_a_log_from_before_migrations_is_upgraded_in_place(tmp_path):
    from sqlalchemy import create_engine, text

    url = f"sqlite:///{tmp_path}/old.sqlite"
    old = create_engine(url)
    with old.begin() as conn:  # the schema the website channel created with create_all
        conn.execute(text("CREATE TABLE exchanges (reply_id VARCHAR(64) PRIMARY KEY, "
                          "session_id VARCHAR(128) NOT NULL, created_at DATETIME NOT NULL, "
                          "channel VARCHAR(32) NOT NULL, lang VARCHAR(8) NOT NULL, kind "
                          "VARCHAR(16) NOT NULL, question TEXT NOT NULL, top_score FLOAT, "
                          "reply TEXT NOT NULL)"))
        conn.execute(text("CREATE TABLE feedback (id INTEGER PRIMARY KEY, reply_id "
                          "VARCHAR(64) NOT NULL, created_at DATETIME NOT NULL, rating "
                          "VARCHAR(8) NOT NULL, comment TEXT)"))
        conn.execute(text("INSERT INTO exchanges VALUES ('old1', 's', '2026-01-01 00:00:00', "
                          "'web', 'zh', 'answer', '旧问题', 0.5, '{}')"))
    old.dispose()
    store = ConversationLog(Database(url))
    assert store.exchange("old1")["question"] == "旧问题"
    reply = _reply()
    store.record_exchange("新问题", reply, "web", latency_ms=12.5)
    assert store.exchange(reply.reply_id)["latency_ms"] == pytest.approx(12.5)


def test_personal_data_is_masked_before_storage(store):
    reply = _reply()
    store.record_exchange("我电话13812345678，身份证11010119900307451X，邮箱 a.b@example.com，"
                          "腰椎L4-L5 疼了3年", reply, "web")
    question = store.exchange(reply.reply_id)["question"]
    assert question == "我电话[phone]，身份证[id]，邮箱 [email]，腰椎L4-L5 疼了3年"
    store.record_feedback(reply.reply_id, "down", "call me on +86 139 1234 5678")
    assert store.feedback_for(reply.reply_id)[0].comment == "call me on [phone]"


def test_retention_purge_removes_only_old_exchanges_and_their_ratings(store):
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from backoffice.database import exchanges

    old, recent = _reply(), _reply()
    for reply in (old, recent):
        store.record_exchange("q", reply, "web")
        store.record_feedback(reply.reply_id, "up")
    with store.engine.begin() as conn:
        conn.execute(update(exchanges).where(exchanges.c.reply_id == old.reply_id)
                     .values(created_at=datetime.now(UTC) - timedelta(days=40)))
    assert store.purge(30) == 1
    assert store.exchange(old.reply_id) is None and store.feedback_for(old.reply_id) == []
    assert store.exchange(recent.reply_id) and store.feedback_for(recent.reply_id)
    with pytest.raises(InputError):
        store.purge(0)


def test_an_exchange_the_database_refuses_is_spooled_and_replayed(store, tmp_path):
    from sqlalchemy import text

    store.spool_path = tmp_path / "spool.jsonl"
    first, second = _reply(), _reply()
    with store.engine.begin() as conn:  # the table is away: every insert fails
        conn.execute(text("ALTER TABLE exchanges RENAME TO exchanges_away"))
    try:
        with pytest.raises(DatabaseError):
            store.record_exchange("在吗 13812345678", first, "web")
    finally:
        with store.engine.begin() as conn:
            conn.execute(text("ALTER TABLE exchanges_away RENAME TO exchanges"))
    spooled = store.spool_path.read_text("utf-8")
    assert first.reply_id in spooled and "13812345678" not in spooled  # masked there too
    store.record_exchange("下一个", second, "web")  # the next write replays the spool
    assert store.exchange(first.reply_id)["question"] == "在吗 [phone]"
    assert store.exchange(second.reply_id) and not store.spool_path.exists()
    assert store.replay_spool() == 0


def _write_from_process(url: str, prefix: str, count: int) -> None:
    store = ConversationLog(Database(url))
    for number in range(count):
        reply = _reply().model_copy(update={"reply_id": f"{prefix}-{number}"})
        store.record_exchange("多进程", reply, "web")


def test_concurrent_processes_lose_and_duplicate_nothing(store):
    import multiprocessing

    from sqlalchemy import func, select

    from backoffice.database import exchanges

    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_write_from_process,
                               args=(store.database.url, f"p{n}", 30))
               for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    with store.engine.connect() as conn:
        ids = [r[0] for r in conn.execute(select(exchanges.c.reply_id)
                                          .where(exchanges.c.question == "多进程"))]
        assert conn.execute(select(func.count()).select_from(exchanges)).scalar_one() >= 120
    assert len(ids) == 120 and len(set(ids)) == 120
