"""The conversation log on SQLite (default) and on the real PostgreSQL server."""

from __future__ import annotations

import threading
import uuid

import pytest

from bot.errors import InputError, LogStoreError
from bot.logstore import LogStore
from bot.models import Passage, Reply


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        return LogStore(f"sqlite:///{tmp_path}/log.sqlite")
    return LogStore(request.getfixturevalue("postgres_url"))


def _reply(kind="answer", score=0.8) -> Reply:
    passages = [Passage(text="原文", doc_id="d1", title="标题", score=score)] if score else []
    return Reply(reply_id=uuid.uuid4().hex, session_id="s1", lang="zh", kind=kind,
                 message="以下是资料中的相关内容：", text="全文", passages=passages,
                 disclaimer="免责声明", suggestions=[])


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
    with pytest.raises(LogStoreError, match="unavailable"):
        LogStore("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
