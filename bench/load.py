"""Load test of the HTTP API: wrk in a second process on loopback against `faqbot serve`
(seed corpus, conversation log on, no rate limit), 60 s at 1, 8 and 32 concurrent clients.
Reports requests/s, latency percentiles, errors and the server's RSS; also the widget's
gzipped size.

Usage: python bench/load.py [--seconds 60] [--workers 1] [--no-write]
Needs `wrk` (Debian package wrk). With --workers > 1, sessions go to Redis
(FAQBOT_REDIS_URL, default redis://127.0.0.1:6379/0).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from xml.etree import ElementTree

from common import CACHE, ROOT, SHARED, report, seed_bot

from bot.logstore import LogStore

CONCURRENCY = (1, 8, 32)

LUA = """
local questions = {%s}
local counter = 0
request = function()
  counter = counter + 1
  local body = '{"message": ' .. questions[(counter %% #questions) + 1] .. '}'
  return wrk.format("POST", "/api/chat", {["Content-Type"] = "application/json"}, body)
end
done = function(summary, latency, requests)
  io.write(string.format('\\nRESULT {"requests": %%d, "duration_us": %%d, "p50": %%d, ' ..
    '"p95": %%d, "p99": %%d, "max": %%d, "connect": %%d, "read": %%d, "write": %%d, ' ..
    '"status": %%d, "timeout": %%d}\\n', summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status,
    summary.errors.timeout))
end
"""


def questions(per_language: int = 2000) -> list[str]:
    """Distinct questions, so the bench measures real work rather than repeated answers:
    the seed dev questions, Chinese patient questions and MedQuAD questions (most of the
    latter two are outside the seed corpus: the fallback path is measured too)."""
    seed = [json.loads(line) for line in
            (SHARED / "eval" / "seed_dev_questions.jsonl").read_text("utf-8").splitlines()
            if line.strip()]
    out = [t for row in seed for t in (row.get("turns") or [row.get("question")]) if t]
    zh_dir = SHARED / "datasets" / "zh-medical-dialogue"
    zh = [json.loads(line)["query"] for line in
          (zh_dir / "dev_queries.jsonl").read_text("utf-8").splitlines() if line.strip()]
    with open(zh_dir / "entries.csv", encoding="utf-8") as handle:
        zh += [row["title"] for row in csv.DictReader(handle)]
    en = []
    for path in sorted((SHARED / "datasets" / "medquad").glob("*/*.xml")):
        en += [q.text.strip() for q in ElementTree.parse(path).getroot().iter("Question")
               if q.text and q.text.strip()]
        if len(en) >= per_language * 3:
            break
    rng = random.Random(7)
    out += rng.sample(sorted(set(zh)), per_language) + rng.sample(sorted(set(en)), per_language)
    rng.shuffle(out)
    return out


def lua_script(texts: list[str]) -> str:
    quoted = ", ".join("[==[" + json.dumps(t) + "]==]" for t in texts)
    return LUA % quoted


def rss_mb(pid: int) -> float:
    """Resident memory of the server: the process and its children (workers)."""
    pids = {pid}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            pids.add(int(stat.parent.name))
    total = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def wrk(port: int, clients: int, seconds: int, script: Path) -> dict:
    out = subprocess.run(
        ["wrk", "-t", str(min(clients, 2)), "-c", str(clients), "-d", f"{seconds}s",
         "--timeout", "10s", "-s", str(script), f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def wait_ready(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("server exited")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")

    bot = seed_bot()  # builds the seed index once, outside the measurement
    settings = bot.settings
    del bot
    log_db = CACHE / "load-log.sqlite"
    log_db.unlink(missing_ok=True)
    env = dict(os.environ, FAQBOT_CORPUS_DIR=str(settings.corpus_dir),
               FAQBOT_INDEX_DIR=str(settings.index_dir), FAQBOT_CACHE_DIR=str(CACHE),
               FAQBOT_RATE_LIMIT_PER_MINUTE="0", FAQBOT_DATABASE_URL=f"sqlite:///{log_db}",
               OMP_NUM_THREADS="1")
    if args.workers > 1:
        env.setdefault("FAQBOT_REDIS_URL", "redis://127.0.0.1:6379/0")
    texts = questions()
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "chat.lua"
        script.write_text(lua_script(texts), "utf-8")
        server = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--port", str(args.port),
             "--workers", str(args.workers)],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_ready(args.port, server)
            warm = wrk(args.port, 8, 10, script)  # warm caches and allocator pools
            rss_start = rss_mb(server.pid)
            rows = []
            total = 0
            for clients in CONCURRENCY:
                result = wrk(args.port, clients, args.seconds, script)
                total += result["requests"]
                rows.append((clients, result, rss_mb(server.pid)))
        finally:
            server.terminate()
            server.wait(timeout=30)
    logged = _count_logged(log_db)

    widget = (ROOT / "web" / "static" / "widget.js").read_bytes()
    lines = [
        f"Server: `faqbot serve --workers {args.workers}` (seed corpus, SQLite conversation "
        f"log, rate limit off); client: wrk on the same 2-core machine, {len(texts):,} distinct "
        f"questions in turn (seed dev, Chinese patient and MedQuAD questions), each request "
        f"a new conversation; {args.seconds} s per row. Machine speed: `sum(range(10**8))` "
        f"in CPython took {cpu_seconds():.1f} s.",
        "",
        "| clients | requests/s | p50 ms | p95 ms | p99 ms | max ms | errors | server RSS after |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for clients, r, rss in rows:
        errors = r["connect"] + r["read"] + r["write"] + r["status"] + r["timeout"]
        lines.append(
            f"| {clients} | {r['requests'] / (r['duration_us'] / 1e6):.1f} | "
            f"{r['p50'] / 1000:.1f} | {r['p95'] / 1000:.1f} | {r['p99'] / 1000:.1f} | "
            f"{r['max'] / 1000:.1f} | {errors} | {rss:.0f} MB |")
    rss_end = rows[-1][2]
    lines += [
        "",
        f"Server RSS after a {warm['requests']}-request warm-up: {rss_start:.0f} MB; after the "
        f"next {total:,} requests: {rss_end:.0f} MB "
        f"({(rss_end - rss_start) / rss_start * 100:+.1f}%). Exchanges in the log: "
        f"{logged:,} (wrk counted {total + warm['requests']:,} completed requests; it does "
        f"not count those in flight when a run ends).",
        "",
        f"Widget: `web/static/widget.js` {len(widget) / 1024:.1f} KB, "
        f"{len(gzip.compress(widget, 9)) / 1024:.1f} KB gzipped (target ≤ 30 KB); served "
        f"gzipped with `Cache-Control: public, max-age=3600` and an ETag.",
    ]
    report(f"load-workers{args.workers}", "\n".join(lines), args.no_write)


def cpu_seconds() -> float:
    started = time.perf_counter()
    sum(range(10**8))
    return time.perf_counter() - started


def _count_logged(log_db: Path) -> int:
    from sqlalchemy import func, select

    from bot.logstore import exchanges

    store = LogStore(f"sqlite:///{log_db}")
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(exchanges)).scalar_one()


if __name__ == "__main__":
    main()
