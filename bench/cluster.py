"""The process topology under load (issue 13): `scripts/cluster.sh up` on this machine
(nginx in front of 3 app replicas, one process each, each with its own index directory; the
indexing worker; the local PostgreSQL and Redis), then wrk through nginx with distinct
questions: 8 clients for 60 s; then the same with replica 2 killed with -9 a quarter of
the way in and started again at the middle. Counted: wrk's errors, exchanges in the log
against completed requests, and what each replica served.

Usage: python bench/cluster.py [--seconds 60] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from common import ROOT, cpu_seconds, questions, report
from load import lua_script, wrk
from sqlalchemy import create_engine, func, select

from backoffice.database import exchanges

DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/faqbot_bench_cluster"
REPLICAS = 3


def cluster(env: dict[str, str], *args: str) -> None:
    subprocess.run(["bash", str(ROOT / "scripts" / "cluster.sh"), *args], env=env, check=True,
                   stdout=subprocess.DEVNULL)


def logged() -> int:
    engine = create_engine(DATABASE)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(exchanges)).scalar_one()
    finally:
        engine.dispose()


def served(run: Path) -> list[int]:
    return [(run / f"replica-{n}.log").read_text().count('"path": "/api/chat"')
            for n in range(1, REPLICAS + 1)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--port", type=int, default=8780)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "cluster"
        env = {k: v for k, v in os.environ.items() if not k.startswith("FAQBOT_")}
        env.update(FAQBOT_CLUSTER_DIR=str(run), FAQBOT_CLUSTER_PORT=str(args.port),
                   FAQBOT_CLUSTER_BASE_PORT=str(args.port + 1), FAQBOT_DATABASE_URL=DATABASE,
                   FAQBOT_REDIS_URL="redis://127.0.0.1:6379/7",
                   FAQBOT_RATE_LIMIT_PER_MINUTE="0")
        script = Path(tmp) / "chat.lua"
        script.write_text(lua_script(questions()), "utf-8")
        started = time.perf_counter()
        cluster(env, "up")
        up_seconds = time.perf_counter() - started
        try:
            wrk(args.port, 8, 10, script)  # warm-up
            rows = []
            for name, kill in (("steady", False), ("replica 2 killed -9, then restarted", True)):
                before_log, before_served = logged(), served(run)
                events: list[str] = []
                if kill:
                    def crash(events=events) -> None:
                        time.sleep(args.seconds / 4)
                        cluster(env, "kill", "2")
                        events.append(f"killed at {args.seconds / 4:.0f} s")
                        time.sleep(args.seconds / 4)
                        begun = time.perf_counter()
                        cluster(env, "start", "2")
                        events.append(f"started at {args.seconds / 2:.0f} s, ready "
                                      f"{time.perf_counter() - begun:.1f} s later")

                    chaos = threading.Thread(target=crash)
                    chaos.start()
                result = wrk(args.port, 8, args.seconds, script)
                if kill:
                    chaos.join()
                time.sleep(2)  # requests in flight when wrk stopped are logged too
                errors = sum(result[k] for k in ("connect", "read", "write", "status",
                                                 "timeout"))
                after = served(run)
                per_replica = " / ".join(str(a - b) for a, b in zip(after, before_served,
                                                                     strict=True))
                rows.append(
                    f"| {name} | {result['requests'] / (result['duration_us'] / 1e6):.1f} | "
                    f"{result['p50'] / 1000:.0f} | {result['p95'] / 1000:.0f} | "
                    f"{result['p99'] / 1000:.0f} | {errors} | {result['requests']:,} | "
                    f"{logged() - before_log:,} | {per_replica} | "
                    f"{'; '.join(events) or '—'} |")
        finally:
            cluster(env, "purge")
    body = (f"`scripts/cluster.sh up` (nginx, {REPLICAS} replicas × 1 process, the worker, "
            f"local PostgreSQL 15 and Redis, all on this 2-core machine, with wrk): "
            f"{up_seconds:.0f} s from nothing to every replica ready (the worker builds the "
            f"seed index and publishes it; the replicas wait for it and fetch it). wrk "
            f"through nginx, 8 clients, {args.seconds} s per row, distinct questions, rate "
            f"limit off. Machine speed: `sum(range(10**8))` in CPython took "
            f"{cpu_seconds():.1f} s.\n\n"
            "| run | requests/s | p50 ms | p95 ms | p99 ms | errors | completed | "
            "exchanges logged | served by replica 1 / 2 / 3 | events |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|---|---|\n" + "\n".join(rows) +
            "\n\nAn exchange is logged before its reply is sent, so a request whose replica "
            "died after logging it and that nginx then sent to another is logged twice: "
            "exchanges logged may exceed completed requests, never fall short of them.")
    report("cluster", body, args.no_write)


if __name__ == "__main__":
    main()
