"""Resident memory of the server over 10,000 requests (issue 13).

`faqbot serve` in its own process, as `make run` starts it (one process, sessions in it,
conversation log on, rate limit off), over the seed corpus and over MedQuAD (16,407 Q&A
entries; bench/medquad.py builds that index); and `faqbot serve --workers 2` with sessions
in Redis, as the load bench runs it. 8 clients send distinct questions (seed dev, Chinese
patient and MedQuAD questions); resident memory (RSS) and its proportional share (PSS:
pages shared between processes counted once) of the server's processes after a warm-up and
after every 2,000 requests. The serving process never imports torch: checked at the end.

Usage: python bench/memory.py [--requests 10000] [--no-write]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import re
import threading
from pathlib import Path

from common import CACHE, questions, report, server_processes, wait_ready
from latency import free_port

CLIENTS = 8
STEP = 2000


def memory(pids: list[int]) -> tuple[float, float]:
    """RSS and PSS of the processes, MB."""
    rss = pss = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                name, _, value = line.partition(":")
                if name == "Rss":
                    rss += int(value.split()[0])
                elif name == "Pss":
                    pss += int(value.split()[0])
        except OSError:
            pass
    return rss / 1024, pss / 1024


def send(port: int, texts: list[str]) -> int:
    """Ask each text once from CLIENTS connections; the number of failed requests."""
    work: queue.Queue[str] = queue.Queue()
    for text in texts:
        work.put(text)
    failed = [0]

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            try:
                text = work.get_nowait()
            except queue.Empty:
                return
            try:
                connection.request("POST", "/api/chat", json.dumps({"message": text}),
                                   {"Content-Type": "application/json"})
                response = connection.getresponse()
                response.read()
                failed[0] += response.status != 200
            except OSError:
                failed[0] += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failed[0]


def run(name: str, corpus: Path, index_dir: Path, texts: list[str], requests: int,
        workers: int = 1) -> list[str]:
    import subprocess
    import sys

    from common import ROOT

    port = free_port()
    log_db = CACHE / f"memory-{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}.sqlite"
    log_db.unlink(missing_ok=True)
    env = dict(os.environ, FAQBOT_CORPUS_DIR=str(corpus), FAQBOT_INDEX_DIR=str(index_dir),
               FAQBOT_RATE_LIMIT_PER_MINUTE="0", FAQBOT_DATABASE_URL=f"sqlite:///{log_db}",
               OMP_NUM_THREADS="1")
    if workers > 1:
        env["FAQBOT_REDIS_URL"] = os.environ.get("FAQBOT_REDIS_URL", "redis://127.0.0.1:6379/0")
    server = subprocess.Popen([sys.executable, "-m", "faqbot", "serve", "--port", str(port),
                               "--workers", str(workers)], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = []
    try:
        wait_ready(port, server, workers)
        failed = send(port, texts[:200])  # warm-up
        pids = server_processes(server.pid)
        start_rss, start_pss = memory(pids)
        rows.append(f"| {name} | after a 200-request warm-up | {start_rss:.0f} | "
                    f"{start_pss:.0f} | |")
        done = 200
        while done < 200 + requests:
            batch = texts[done:done + STEP]
            failed += send(port, batch)
            done += len(batch)
            rss, pss = memory(server_processes(server.pid))
            rows.append(f"| {name} | after {done - 200:,} more | {rss:.0f} | {pss:.0f} | "
                        f"{(rss - start_rss) / start_rss * 100:+.1f}% |")
        torch = any("torch" in Path(f"/proc/{pid}/maps").read_text() for pid in
                    server_processes(server.pid))
        rows.append(f"| {name} | failed requests: {failed}; torch mapped in a serving "
                    f"process: {'yes' if torch else 'no'} | | | |")
    finally:
        server.terminate()
        server.wait(timeout=30)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    from common import seed_bot

    texts = questions(per_language=(args.requests + 200) // 2 + 1)
    seed = seed_bot().settings
    rows = ["| server | when | RSS MB | PSS MB | RSS change |", "|---|---|---:|---:|---:|"]
    rows += run("seed, one process", seed.corpus_dir, seed.index_dir, texts, args.requests)
    rows += run("seed, `--workers 2`", seed.corpus_dir, seed.index_dir, texts, args.requests,
                workers=2)
    medquad = CACHE / "medquad-index"
    if (medquad / "current").exists():
        rows += run("MedQuAD, one process", CACHE / "medquad-corpus", medquad, texts,
                    args.requests)
    else:
        rows.append("| MedQuAD | not measured: run bench/medquad.py first | | | |")
    body = (f"Server processes' memory while {CLIENTS} clients send {args.requests:,} distinct "
            f"questions (each a new conversation). RSS counts a page shared by two "
            f"processes in both; PSS splits it.\n\n" + "\n".join(rows))
    report("memory", body, args.no_write)


if __name__ == "__main__":
    main()
