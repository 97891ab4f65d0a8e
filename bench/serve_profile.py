"""Where the serving process's memory and time go (issue 13: profile before changing).

Memory: resident size after each step of starting a server on the seed corpus, in a fresh
process. Time: py-spy samples of `faqbot serve` while wrk sends distinct questions from 8
clients; the functions most often on the CPU (self), and the bot's own steps (inclusive).

Usage: python bench/serve_profile.py [--seconds 20] [--no-write]
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ROOT, questions, report, seed_bot, seed_server
from latency import free_port
from load import lua_script, wrk

MEMORY_STEPS = r'''
import sys
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) // 1024
steps = [("Python", rss())]
import numpy, faiss, bm25s, sqlalchemy
steps.append(("numpy, faiss, bm25s, sqlalchemy imported", rss()))
import fastapi, uvicorn
from web.app import create_app
steps.append(("the web app imported (FastAPI, pydantic, ...)", rss()))
from bot.language import _jieba
_jieba()
steps.append(("jieba's dictionary", rss()))
from bot.language import zipf
zipf("back", "en"); zipf("腰", "zh")
steps.append(("wordfreq's frequency lists (en, zh), as the bot reads them", rss()))
from bot.embedding import E5SmallEmbedder
E5SmallEmbedder().warm_up()
steps.append(("the question encoder (ONNX Runtime, int8 graph, tokenizer)", rss()))
from pathlib import Path
from bot.index import load_index
load_index(Path(sys.argv[1]))
steps.append(("the seed index", rss()))
from backoffice.database import Database
import tempfile
Database(f"sqlite:///{tempfile.mkdtemp()}/log.sqlite")
steps.append(("the conversation log (SQLAlchemy, Alembic migrations run)", rss()))
for name, mb in steps:
    print(f"{name}\t{mb}")
'''


def memory_steps(index_dir: Path) -> list[tuple[str, int]]:
    out = subprocess.run([sys.executable, "-c", MEMORY_STEPS, str(index_dir)], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    return [(name, int(mb)) for name, mb in (line.split("\t") for line in out.splitlines()
                                             if "\t" in line)]


def cpu_profile(seconds: int) -> tuple[collections.Counter, collections.Counter, int]:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp, seed_server(port) as server:
        script = Path(tmp) / "chat.lua"
        script.write_text(lua_script(questions()), "utf-8")
        wrk(port, 8, 5, script)  # warm
        raw = Path(tmp) / "profile.txt"
        spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record",
                                "--pid", str(server.pid), "--duration", str(seconds),
                                "--format", "raw", "--output", str(raw), "--nonblocking"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wrk(port, 8, seconds, script)
        spy.wait(timeout=seconds + 60)
        own: collections.Counter = collections.Counter()
        inclusive: collections.Counter = collections.Counter()
        total = 0
        for line in raw.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            frames = stack.split(";")
            n = int(count)
            total += n
            own[_short(frames[-1])] += n
            for short in {_short(frame) for frame in frames}:
                if any(f" ({package}/" in short for package in ("bot", "web", "backoffice")):
                    inclusive[short] += n
    return own, inclusive, total


def _short(frame: str) -> str:
    """'assess (bot/ranking.py:64)' from py-spy's 'assess (/path/bot/ranking.py:64)'."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    for marker in ("site-packages/", "/work/main/", str(ROOT) + "/"):
        if marker in where:
            where = where.split(marker, 1)[1]
    return f"{name} ({where.rsplit(':', 1)[0]})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    index_dir = seed_bot().settings.index_dir
    steps = memory_steps(index_dir)
    own, inclusive, total = cpu_profile(args.seconds)
    lines = ["Resident memory while a server starts (seed corpus, a fresh process):", "",
             "| step | RSS MB | added MB |", "|---|---:|---:|"]
    previous = steps[0][1]
    for name, mb in steps:
        lines.append(f"| {name} | {mb} | +{mb - previous} |")
        previous = mb
    lines += ["", f"CPU under load (`faqbot serve`, wrk, 8 clients, distinct questions, "
              f"{args.seconds} s; py-spy, {total:,} samples). Most often on the CPU:", "",
              "| function (self) | share |", "|---|---:|"]
    lines += [f"| `{name}` | {n / total:.1%} |" for name, n in own.most_common(12)]
    lines += ["", "The bot's own steps (inclusive):", "", "| function | share |", "|---|---:|"]
    lines += [f"| `{name}` | {n / total:.1%} |" for name, n in inclusive.most_common(12)]
    report("profile", "\n".join(lines), args.no_write)


if __name__ == "__main__":
    main()
