"""Shared helpers for bench scripts: paths, environment line, writing docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("FAQBOT_SHARED_DIR", ROOT.parent / "shared"))
CACHE = ROOT / "bench" / ".cache"
BENCHMARKS = ROOT / "docs" / "benchmarks.md"


def environment() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip() or "uncommitted"
    return (f"{time.strftime('%Y-%m-%d')}, commit {commit}, {cpu}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, OMP_NUM_THREADS="
            f"{os.environ.get('OMP_NUM_THREADS', 'unset')}")


def report(name: str, body: str, no_write: bool) -> None:
    """Print the figures, or write them into their section of docs/benchmarks.md."""
    if no_write:
        print(body)
    else:
        write_section(name, body)


def seed_bot():
    """A Bot over a fresh copy of the default corpus (index and cache under bench/.cache)."""
    from bot.config import Settings
    from bot.core import Bot

    corpus = CACHE / "seed-corpus"
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.copytree(ROOT / "corpus", corpus)
    return Bot.load(settings=Settings(corpus_dir=corpus, index_dir=CACHE / "seed-index",
                                      cache_dir=CACHE))


def write_section(name: str, body: str) -> None:
    """Replace (or append) the section between <!-- bench:name --> markers."""
    script = Path(sys.argv[0]).resolve()
    shown = script.relative_to(ROOT).as_posix() if script.is_relative_to(ROOT) else str(script)
    command = "python " + " ".join([shown, *sys.argv[1:]])
    block = (f"<!-- bench:{name} -->\nCommand: `{command}`  \nEnvironment: {environment()}\n\n"
             f"{body.strip()}\n<!-- /bench:{name} -->")
    text = BENCHMARKS.read_text("utf-8") if BENCHMARKS.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->",
                         re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else (
        text.rstrip() + "\n\n" + block + "\n")
    BENCHMARKS.parent.mkdir(parents=True, exist_ok=True)
    BENCHMARKS.write_text(text, "utf-8")
    print(block)


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[rank]
