"""Shared helpers for bench scripts: paths, environment line, writing docs/benchmarks.md."""

from __future__ import annotations

import csv
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from xml.etree import ElementTree

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


def split_of(question_id: str) -> str:
    """'tune' or 'report': a fixed half of the labelled questions is never tuned on."""
    import zlib

    return "tune" if zlib.crc32(question_id.encode()) % 2 == 0 else "report"


def triage_split(message_id: str) -> str:
    """'train' (40%), 'tune' (15%) or 'report' (45%) for a labelled red-flag message: the
    head is trained on the first, its threshold chosen on the second, and the third is only
    reported (bench/red_flags.py)."""
    import zlib

    bucket = zlib.crc32(message_id.encode()) % 20
    return "report" if bucket < 9 else "tune" if bucket < 12 else "train"


def labelled_triage() -> list[dict]:
    """Our labelled red-flag messages (bench/data/triage/*.jsonl), in file order."""
    items = []
    for path in sorted((ROOT / "bench" / "data" / "triage").glob("*.jsonl")):
        items += [json.loads(line) for line in path.read_text("utf-8").splitlines()
                  if line.strip()]
    return items


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


def patient_titles() -> list[str]:
    """The distinct question titles of the Chinese patient set, sorted."""
    path = SHARED / "datasets" / "zh-medical-dialogue" / "entries.csv"
    with open(path, encoding="utf-8") as handle:
        return sorted({row["title"] for row in csv.DictReader(handle)})


def patient_corpus(folder: Path) -> Path:
    """`folder` as a corpus of the Chinese patient set (its entries.csv), made once."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SHARED / "datasets" / "zh-medical-dialogue" / "entries.csv",
                    folder / "entries.csv")
    return folder


def corpus_retriever(corpus: Path, index_dir: Path):
    """A Retriever over `corpus` with the default model, its index in `index_dir` built
    first when missing or stale (vectors from the shared cache in bench/.cache)."""
    from bot.embedding import E5SmallEmbedder
    from bot.index import build_index, is_stale, load_index
    from bot.retrieval import Retriever

    embedder = E5SmallEmbedder()
    if is_stale(index_dir, corpus, embedder.model_id, "flat"):
        manifest = build_index(corpus, index_dir, embedder,
                               cache_path=CACHE / "embedding_cache.sqlite")
        print(f"built {index_dir.name}: {manifest.chunks} chunks in {manifest.build_seconds}s")
    return Retriever(load_index(index_dir), embedder)


def medquad_questions(at_least: int | None = None) -> list[str]:
    """MedQuAD's questions in file order; files stop being read once `at_least` are in."""
    out: list[str] = []
    for path in sorted((SHARED / "datasets" / "medquad").glob("*/*.xml")):
        out += [q.text.strip() for q in ElementTree.parse(path).getroot().iter("Question")
                if q.text and q.text.strip()]
        if at_least is not None and len(out) >= at_least:
            break
    return out


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
    zh += patient_titles()
    en = medquad_questions(at_least=per_language * 3)
    rng = random.Random(7)
    out += rng.sample(sorted(set(zh)), per_language) + rng.sample(sorted(set(en)), per_language)
    rng.shuffle(out)
    return out


@contextmanager
def seed_server(port: int, workers: int = 1, env: dict[str, str] | None = None
                ) -> Iterator[subprocess.Popen]:
    """`faqbot serve` in its own process over the seed corpus (index built first, outside
    any measurement), rate limit off; stopped on exit."""
    settings = seed_bot().settings
    full_env = dict(os.environ, FAQBOT_CORPUS_DIR=str(settings.corpus_dir),
                    FAQBOT_INDEX_DIR=str(settings.index_dir), FAQBOT_CACHE_DIR=str(CACHE),
                    FAQBOT_RATE_LIMIT_PER_MINUTE="0", OMP_NUM_THREADS="1", **(env or {}))
    server = subprocess.Popen(
        [sys.executable, "-m", "faqbot", "serve", "--port", str(port), "--workers",
         str(workers)], env=full_env, cwd=ROOT, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        wait_ready(port, server, workers)
        yield server
    finally:
        server.terminate()
        server.wait(timeout=30)


def wait_ready(port: int, server: subprocess.Popen, workers: int = 1) -> None:
    """Until every worker process serves the index: scrapes of /metrics (on fresh
    connections, which the kernel hands to either worker) have named `workers` processes
    (`faqbot_worker_info`), each with its index loaded (`faqbot_index_info`)."""
    deadline = time.monotonic() + 300
    loaded: set[str] = set()
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("server exited")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1) as r:
                text = r.read().decode()
            worker = re.search(r'faqbot_worker_info\{pid="(\d+)"\}', text)
            if worker and re.search(r"^faqbot_index_info\{", text, re.M):
                loaded.add(worker.group(1))
            if len(loaded) >= workers:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("server did not start")


def server_processes(pid: int) -> list[int]:
    """The process and its children (a server's workers)."""
    pids = [pid]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            pids.append(int(stat.parent.name))
    return pids


def rss_mb(pid: int) -> float:
    """Resident memory of the server: the process and its children (workers)."""
    total = 0
    for p in server_processes(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def cpu_seconds() -> float:
    started = time.perf_counter()
    sum(range(10**8))
    return time.perf_counter() - started
