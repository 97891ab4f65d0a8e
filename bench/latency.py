"""`Bot.ask` latency on a warm bot (seed corpus and MedQuAD) and cold start of `faqbot serve`
with a built index. Run bench/medquad.py first (it builds the MedQuAD index).

Usage: python bench/latency.py [--rounds N] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.request

from common import CACHE, ROOT, SHARED, median, percentile, report

from bot.config import Settings
from bot.core import Bot


def ask_latencies(bot: Bot, questions: list[list[str]], rounds: int) -> list[float]:
    timings = []
    for _ in range(rounds):
        for turns in questions:
            session = None
            for turn in turns:
                started = time.perf_counter()
                session = bot.ask(turn, session).session_id
                timings.append((time.perf_counter() - started) * 1000)
    return timings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cold_start(corpus, index_dir) -> float:
    port = free_port()
    env = dict(os.environ, FAQBOT_CORPUS_DIR=str(corpus), FAQBOT_INDEX_DIR=str(index_dir))
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--port", str(port)],
                              env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = started + 120
        while time.perf_counter() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1):
                    return time.perf_counter() - started
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    rows = ["| corpus | asks | p50 ms | p95 ms | max ms |", "|---|---|---|---|---|"]

    seed_corpus, seed_index = CACHE / "seed-corpus", CACHE / "seed-index"
    seed_bot = Bot.load(settings=Settings(corpus_dir=seed_corpus, index_dir=seed_index,
                                          cache_dir=CACHE))
    seed_questions = []
    lines = (SHARED / "eval" / "seed_dev_questions.jsonl").read_text("utf-8").splitlines()
    for line in lines:
        item = json.loads(line)
        seed_questions.append(item.get("turns") or [item["question"]])
    ask_latencies(seed_bot, seed_questions, 1)  # warm-up
    timings = ask_latencies(seed_bot, seed_questions, args.rounds)
    rows.append(f"| seed (4 pages) | {len(timings)} | {median(timings):.1f} | "
                f"{percentile(timings, 95):.1f} | {max(timings):.1f} |")

    med_corpus, med_index = CACHE / "medquad-corpus", CACHE / "medquad-index"
    if (med_index / "current").exists():
        med_bot = Bot.load(settings=Settings(corpus_dir=med_corpus, index_dir=med_index))
        random.seed(11)
        sample = random.sample(med_bot.retriever.index.chunks, 200)
        questions = [[c.question or c.title] for c in sample]
        ask_latencies(med_bot, questions[:20], 1)
        timings = ask_latencies(med_bot, questions, max(1, args.rounds // 5))
        rows.append(f"| MedQuAD (16,407 entries) | {len(timings)} | {median(timings):.1f} | "
                    f"{percentile(timings, 95):.1f} | {max(timings):.1f} |")
        del med_bot

    starts = [cold_start(seed_corpus, seed_index) for _ in range(3)]
    body = ("Warm `Bot.ask` latency (one thread for query embedding, sessions included; the "
            "seed set's 23 questions and follow-ups repeated; MedQuAD: 200 of its questions).\n\n"
            + "\n".join(rows) + f"\n\nCold start of `faqbot serve` with a built seed index, "
            f"process start to first `/api/health` answer: median {median(starts):.2f} s "
            f"(runs: {', '.join(f'{s:.2f}' for s in starts)}).")
    report("latency", body, args.no_write)


if __name__ == "__main__":
    main()
