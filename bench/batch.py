"""Batch test wall time (issue 12): 500 questions with expectations, uploaded and run as a
background job through the console's code (BatchStore.create, IndexWorker.run_once), on
the seed corpus, one worker.

Usage: python bench/batch.py [--questions N] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from common import CACHE, ROOT, questions, report

from backoffice.house import open_house
from backoffice.worker import IndexWorker
from bot.config import Settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=500)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    asked = questions(per_language=args.questions)[: args.questions]
    lines = "\n".join(json.dumps({"id": f"q{n}", "question": q, "expect": "fallback"},
                                 ensure_ascii=False) for n, q in enumerate(asked))
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        shutil.copytree(ROOT / "corpus", corpus)
        url = f"sqlite:///{tmp}/log.sqlite"
        house = open_house(Settings(corpus_dir=corpus, index_dir=Path(tmp) / "index",
                                    cache_dir=CACHE, database_url=url))
        store = house.office.batch
        started = time.perf_counter()
        run = store.create("bench.jsonl", lines, "bench")
        job = IndexWorker(house.bot, house.office).run_once()
        wall = time.perf_counter() - started
        done = store.get(run.id)
    assert job is not None and job.status == "done" and done.results is not None
    body = (f"{len(asked)} distinct questions (seed dev, Chinese patient and MedQuAD "
            f"questions in turn) uploaded as JSONL and run as a background job on the seed "
            f"corpus: **{wall:.1f} s** wall from upload to results "
            f"({wall / len(asked) * 1000:.0f} ms a question, one worker; "
            f"{done.passed} of them fell back as the file expected).")
    report("batch", body, args.no_write)


if __name__ == "__main__":
    main()
