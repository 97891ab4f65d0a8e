"""Operator console and conversation log figures, on SQLite and PostgreSQL:

- log write overhead per exchange (`ConversationLog.record_exchange`, masking included);
- console list view latency with 100,000 logged exchanges (several filters);
- time from saving a curated answer to the bot quoting it (rebuild and swap included).

Usage: python bench/console.py [--rows 100000] [--postgres URL] [--no-write]
PostgreSQL: a throw-away database is created on the server (default the local one).
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

from common import CACHE, percentile, questions, report, seed_bot
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, insert, text

from backoffice.conversations import ConversationLog
from backoffice.database import Database, exchanges, feedback
from backoffice.office import BackOffice
from backoffice.operators import OperatorStore
from web.app import create_app

PASSWORD = "bench password 1"
LIST_VIEWS = {
    "newest page": {},
    "fallbacks only": {"kind": "fallback"},
    "text search": {"text": "腰痛"},
    "channel + language + date range": {"channel": "wechat-mp", "lang": "zh",
                                        "since": "2026-01-01", "until": "2027-12-31"},
    "thumbs down": {"thumbs_down": "1"},
    "page 1,000": {"page": "1000"},
}


def real_replies(bot, count: int) -> list[tuple[str, object]]:
    texts = questions(per_language=count)[:count]
    return [(q, bot.ask(q)) for q in texts]


def write_overhead(url: str, samples: list[tuple[str, object]]) -> list[float]:
    store = ConversationLog(Database(url))
    timings = []
    for question, reply in samples:
        fresh = reply.model_copy(update={"reply_id": uuid.uuid4().hex})
        started = time.perf_counter()
        store.record_exchange(question, fresh, "web", 50.0)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def fill(url: str, samples: list[tuple[str, object]], rows: int) -> None:
    """`rows` exchanges over the last 180 days, from real replies, some rated."""
    store = Database(url)
    rng = random.Random(5)
    now = datetime.now(UTC)
    channels = ["web"] * 6 + ["wechat-mp"] * 3 + ["wecom"]
    batch, ratings = [], []
    for n in range(rows):
        question, reply = samples[n % len(samples)]
        reply_id = f"b{n:08d}"
        batch.append({
            "reply_id": reply_id, "session_id": f"s{n // 3:08d}",
            "created_at": now - timedelta(seconds=rng.randrange(180 * 86400)),
            "channel": rng.choice(channels), "lang": reply.lang, "kind": reply.kind,
            "question": question, "top_score": max((p.score for p in reply.passages),
                                                   default=None),
            "reply": reply.model_dump_json(), "latency_ms": rng.uniform(20, 300),
            "reviewed": rng.random() < 0.3})
        if rng.random() < 0.05:
            ratings.append({"reply_id": reply_id, "created_at": now,
                            "rating": rng.choice(["up", "down"]), "comment": None})
        if len(batch) == 5000:
            _insert(store, batch, ratings)
            batch, ratings = [], []
    _insert(store, batch, ratings)
    with store.engine.begin() as conn:  # as autovacuum / a periodic ANALYZE would
        conn.execute(text("ANALYZE"))


def _insert(store: Database, batch: list[dict], ratings: list[dict]) -> None:
    with store.engine.begin() as conn:
        if batch:
            conn.execute(insert(exchanges), batch)
        if ratings:
            conn.execute(insert(feedback), ratings)


def logged_in(client: TestClient, store: Database) -> None:
    """Log the client in as the bench operator (created on first use)."""
    with store.engine.connect() as conn:
        known = conn.execute(text("SELECT count(*) FROM operators WHERE username = 'bench'")
                             ).scalar_one()
    if not known:
        OperatorStore(store).create_user("bench", PASSWORD)
    form = client.get("/admin/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    client.post("/admin/login", data={"username": "bench", "password": PASSWORD,
                                      "csrf_token": token})


def list_latency(bot, url: str, repeats: int) -> dict[str, list[float]]:
    office = BackOffice(ConversationLog(Database(url)), bot.settings.corpus_dir)
    bot.recorder = office.conversations
    out = {}
    with TestClient(create_app(bot.settings, bot=bot, office=office)) as client:
        logged_in(client, office.database)
        for name, params in LIST_VIEWS.items():
            client.get("/admin/conversations", params=params)  # warm
            timings = []
            for _ in range(repeats):
                started = time.perf_counter()
                response = client.get("/admin/conversations", params=params)
                timings.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200
            out[name] = timings
    return out


def time_to_live(bot, url: str, rounds: int) -> list[float]:
    """Seconds from pressing "Save and go live" to the bot quoting the new answer."""
    office = BackOffice(ConversationLog(Database(url)), bot.settings.corpus_dir)
    bot.recorder = office.conversations
    out = []
    with TestClient(create_app(bot.settings, bot=bot, office=office)) as client:
        logged_in(client, office.database)
        for n in range(rounds):
            question = f"第{n + 1}号测试问题：膝关节积液怎么办"
            answer = f"膝关节积液第{n + 1}版解答：请到骨科就诊，查明原因后治疗。"
            page = client.get("/admin/curated").text
            token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
            started = time.perf_counter()
            client.post("/admin/curated", data={"csrf_token": token, "question_zh": question,
                                                "answer_zh": answer})
            while True:
                reply = client.post("/api/chat", json={"message": question}).json()
                if reply["passages"] and reply["passages"][0]["text"] == answer:
                    break
            out.append(time.perf_counter() - started)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--writes", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/"
                        "postgres")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    bot = seed_bot()
    samples = real_replies(bot, 300)
    name = f"faqbot_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    databases = {"SQLite": f"sqlite:///{CACHE}/console-bench.sqlite",
                 "PostgreSQL": args.postgres.rsplit("/", 1)[0] + "/" + name}
    (CACHE / "console-bench.sqlite").unlink(missing_ok=True)
    results = {}
    try:
        for label, url in databases.items():
            writes = write_overhead(url, (samples * 10)[:args.writes])
            fill(url, samples, args.rows)
            views = list_latency(bot, url, args.repeats)
            results[label] = (writes, views)
        live = time_to_live(bot, databases["SQLite"], 3)
    finally:
        Database(databases["PostgreSQL"]).engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    lines = [
        f"Seed corpus bot; log filled with {args.rows:,} exchanges (real replies to "
        f"{len(samples)} questions, spread over 180 days, 3 channels, 5% rated); SQLite "
        f"(WAL) file and the local PostgreSQL 15 server. In process (FastAPI TestClient), "
        f"one request at a time.",
        "",
        "| figure | SQLite | PostgreSQL |",
        "|---|---|---|",
    ]
    sq_w, pg_w = results["SQLite"][0], results["PostgreSQL"][0]
    lines.append(f"| log write per exchange ({args.writes} writes), p50 / p95 ms | "
                 f"{percentile(sq_w, 50):.2f} / {percentile(sq_w, 95):.2f} | "
                 f"{percentile(pg_w, 50):.2f} / {percentile(pg_w, 95):.2f} |")
    for view in LIST_VIEWS:
        sq, pg = results["SQLite"][1][view], results["PostgreSQL"][1][view]
        lines.append(f"| console list, {view}: p50 / p95 ms ({args.repeats} requests) | "
                     f"{percentile(sq, 50):.0f} / {percentile(sq, 95):.0f} | "
                     f"{percentile(pg, 50):.0f} / {percentile(pg, 95):.0f} |")
    lines += ["", f"Saving a curated answer to the bot quoting it (export, rebuild from the "
              f"embedding cache, swap; SQLite log): {', '.join(f'{s:.1f}' for s in live)} s "
              f"(median {statistics.median(live):.1f} s)."]
    report("console", "\n".join(lines), args.no_write)


if __name__ == "__main__":
    main()
