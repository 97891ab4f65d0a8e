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
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common import CACHE, ROOT, cpu_seconds, questions, report, rss_mb, seed_server

from backoffice.database import Database

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


def lua_script(texts: list[str]) -> str:
    quoted = ", ".join("[==[" + json.dumps(t) + "]==]" for t in texts)
    return LUA % quoted


def wrk(port: int, clients: int, seconds: int, script: Path) -> dict:
    out = subprocess.run(
        ["wrk", "-t", str(min(clients, 2)), "-c", str(clients), "-d", f"{seconds}s",
         "--timeout", "10s", "-s", str(script), f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")

    log_db = CACHE / "load-log.sqlite"
    log_db.unlink(missing_ok=True)
    extra_env = {"FAQBOT_DATABASE_URL": f"sqlite:///{log_db}"}
    if args.workers > 1:
        extra_env["FAQBOT_REDIS_URL"] = os.environ.get("FAQBOT_REDIS_URL",
                                                       "redis://127.0.0.1:6379/0")
    texts = questions()
    with tempfile.TemporaryDirectory() as tmp, \
            seed_server(args.port, args.workers, extra_env) as server:
        script = Path(tmp) / "chat.lua"
        script.write_text(lua_script(texts), "utf-8")
        warm = wrk(args.port, 8, 10, script)  # warm caches and allocator pools
        rss_start = rss_mb(server.pid)
        rows = []
        total = 0
        for clients in CONCURRENCY:
            result = wrk(args.port, clients, args.seconds, script)
            total += result["requests"]
            rows.append((clients, result, rss_mb(server.pid)))
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


def _count_logged(log_db: Path) -> int:
    from sqlalchemy import func, select

    from backoffice.database import exchanges

    store = Database(f"sqlite:///{log_db}")
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(exchanges)).scalar_one()


if __name__ == "__main__":
    main()
