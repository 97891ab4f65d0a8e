"""Conversation memory: in process, and in the real Redis server shared by app instances."""

from __future__ import annotations

import redis
from fastapi.testclient import TestClient

from bot.core import Bot
from bot.models import Turn
from bot.sessions import InMemorySessionStore, RedisSessionStore
from tests.conftest import REDIS_URL, office_of
from web.app import create_app


def _turn(n: int) -> Turn:
    return Turn(question=f"问题{n}", retrieval_query=f"问题{n}", lang="zh", kind="answer",
                doc_ids=[f"doc{n}"])


def test_memory_store_keeps_recent_turns_and_evicts_old_sessions():
    store = InMemorySessionStore(max_turns=2, max_sessions=3)
    for n in range(4):
        store.append("a", _turn(n))
    assert [t.question for t in store.recent("a")] == ["问题2", "问题3"]
    for sid in ("b", "c", "d"):
        store.append(sid, _turn(0))
    assert store.recent("a") == [] and store.recent("d")


def test_redis_store_round_trips_trims_and_expires(redis_prefix):
    store = RedisSessionStore(REDIS_URL, max_turns=2, ttl_seconds=120, prefix=redis_prefix)
    for n in range(3):
        store.append("s1", _turn(n))
    recent = store.recent("s1")
    assert [t.question for t in recent] == ["问题1", "问题2"] and recent[0].doc_ids == ["doc1"]
    ttl = redis.Redis.from_url(REDIS_URL).ttl(f"{redis_prefix}s1")
    assert 0 < ttl <= 120
    assert store.recent("unknown") == [] and store.ping()


def test_unreachable_redis_degrades_to_no_context():
    store = RedisSessionStore("redis://127.0.0.1:1/0", prefix="x:")
    store.append("s", _turn(1))  # logged, not raised
    assert store.recent("s") == [] and not store.ping()


def test_two_app_instances_share_a_conversation_through_redis(seed_bot, seed_settings,
                                                              redis_prefix):
    def instance():
        store = RedisSessionStore(REDIS_URL, prefix=redis_prefix)
        bot = Bot(seed_bot.retriever, seed_settings, sessions=store)
        return TestClient(create_app(seed_settings, bot=bot, office=office_of(bot))), store

    (a, store_a), (b, _) = instance(), instance()
    with a, b:
        first = a.post("/api/chat", json={"message": "腰椎微创手术后腰酸是怎么回事"}).json()
        follow = b.post("/api/chat", json={"message": "要怎么缓解",
                                           "session_id": first["session_id"]}).json()
        health = b.get("/api/health").json()
    turns = store_a.recent(first["session_id"])
    assert [t.question for t in turns] == ["腰椎微创手术后腰酸是怎么回事", "要怎么缓解"]
    # Instance b read a's turn: the follow-up was understood in its context.
    assert turns[1].retrieval_query.startswith("腰椎微创手术后腰酸是怎么回事")
    assert follow["kind"] == "answer" and health["sessions"] == "RedisSessionStore ok"
