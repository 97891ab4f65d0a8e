"""`Bot.ask` cost on a warm bot (seed corpus and MedQuAD): CPU and wall time per question
never asked before (the query memo has not seen it), and wall time of repeated questions;
the first start of `faqbot serve` on an empty index directory and embedding cache (the
index is built), and a cold start with a built index. Run bench/medquad.py first (it
builds the MedQuAD index).

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
import tempfile
import time
import urllib.request
from pathlib import Path

from common import CACHE, ROOT, SHARED, median, percentile, report

from bot.config import Settings
from bot.core import Bot


def new_question_costs(bot: Bot, questions: list[list[str]]) -> tuple[list[float], list[float]]:
    """CPU ms (this process, all threads) and wall ms of each turn, asked once each."""
    cpu, wall = [], []
    for turns in questions:
        session = None
        for turn in turns:
            cpu_started, started = time.process_time(), time.perf_counter()
            session = bot.ask(turn, session).session_id
            cpu.append((time.process_time() - cpu_started) * 1000)
            wall.append((time.perf_counter() - started) * 1000)
    return cpu, wall


def cost_row(name: str, cpu: list[float], wall: list[float]) -> str:
    return (f"| {name} | {len(cpu)} | {median(cpu):.1f} / {percentile(cpu, 95):.1f} | "
            f"{median(wall):.1f} / {percentile(wall, 95):.1f} |")


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


def serve_until_healthy(corpus, index_dir, cache_dir=None, model_dir=None) -> float:
    """Seconds from `faqbot serve` to its first answer (/api/ready, then a question)."""
    port = free_port()
    env = dict(os.environ, FAQBOT_CORPUS_DIR=str(corpus), FAQBOT_INDEX_DIR=str(index_dir))
    if cache_dir is not None:
        env["FAQBOT_CACHE_DIR"] = str(cache_dir)
    if model_dir is not None:
        env["FAQBOT_MODEL_DIR"] = str(model_dir)
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "faqbot", "serve", "--port", str(port)],
                              env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = started + 600
        while time.perf_counter() < deadline:
            if server.poll() is not None:
                raise RuntimeError(f"server exited with code {server.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/ready", timeout=1):
                    pass
                question = urllib.request.Request(
                    f"http://127.0.0.1:{port}/api/chat", method="POST",
                    data=json.dumps({"message": "腰痛怎么办"}).encode(),
                    headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(question, timeout=10):
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
    costs = ["| corpus, questions never asked before | turns | CPU ms p50 / p95 | "
             "wall ms p50 / p95 |", "|---|---|---|---|"]

    seed_corpus, seed_index = CACHE / "seed-corpus", CACHE / "seed-index"
    seed_bot = Bot.load(settings=Settings(corpus_dir=seed_corpus, index_dir=seed_index,
                                          cache_dir=CACHE))
    own = [json.loads(line) for line in (ROOT / "bench" / "data" / "own_questions.jsonl")
           .read_text("utf-8").splitlines() if line.strip()]
    ask_latencies(seed_bot, [i.get("turns") or [i["question"]] for i in own], 1)  # warm-up
    seed_questions = []
    lines = (SHARED / "eval" / "seed_dev_questions.jsonl").read_text("utf-8").splitlines()
    for line in lines:
        item = json.loads(line)
        seed_questions.append(item.get("turns") or [item["question"]])
    costs.append(cost_row("seed (4 pages), the dev questions",
                          *new_question_costs(seed_bot, seed_questions)))
    timings = ask_latencies(seed_bot, seed_questions, args.rounds)
    rows.append(f"| seed (4 pages) | {len(timings)} | {median(timings):.1f} | "
                f"{percentile(timings, 95):.1f} | {max(timings):.1f} |")

    med_corpus, med_index = CACHE / "medquad-corpus", CACHE / "medquad-index"
    if (med_index / "current").exists():
        med_bot = Bot.load(settings=Settings(corpus_dir=med_corpus, index_dir=med_index))
        random.seed(11)
        sample = random.sample(med_bot.retriever.index.chunks, 220)
        questions = [[c.question or c.title] for c in sample]
        ask_latencies(med_bot, questions[:20], 1)  # warm-up on other questions
        costs.append(cost_row("MedQuAD (16,407 entries), 200 of its questions",
                              *new_question_costs(med_bot, questions[20:])))
        timings = ask_latencies(med_bot, questions[20:], max(1, args.rounds // 5))
        rows.append(f"| MedQuAD (16,407 entries) | {len(timings)} | {median(timings):.1f} | "
                    f"{percentile(timings, 95):.1f} | {max(timings):.1f} |")
        del med_bot

    with tempfile.TemporaryDirectory() as empty:
        first = serve_until_healthy(seed_corpus, Path(empty) / "index", Path(empty) / "cache")
    with tempfile.TemporaryDirectory() as empty:  # a fresh machine: no model graphs either
        fresh = serve_until_healthy(seed_corpus, Path(empty) / "index", Path(empty) / "cache",
                                    Path(empty) / "models")
    starts = [serve_until_healthy(seed_corpus, seed_index) for _ in range(3)]
    body = ("CPU and wall time per question never asked before (one thread for query "
            "embedding; sessions and the conversation log included):\n\n" + "\n".join(costs)
            + "\n\nWarm `Bot.ask` wall time of repeated questions (the dev questions and "
            "follow-ups asked again; MedQuAD: the same 200 again).\n\n" + "\n".join(rows)
            + f"\n\nFrom `faqbot serve` to its first answer (`/api/ready`, then a question "
            f"answered), on the seed corpus: on a fresh machine (no model graphs, no index, "
            f"no embedding cache: what the first `make run` does after installing) "
            f"{fresh:.1f} s; with the model's graphs made before (a new index directory "
            f"and cache) {first:.1f} s; with a built index, median {median(starts):.2f} s "
            f"(runs: {', '.join(f'{s:.2f}' for s in starts)}).")
    report("latency", body, args.no_write)


if __name__ == "__main__":
    main()
