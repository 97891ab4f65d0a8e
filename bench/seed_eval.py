"""Seed dev questions (shared/eval/seed_dev_questions.jsonl): pass rate per expectation and
language, through the same code as `faqbot eval`.

Usage: python bench/seed_eval.py [--no-write]
"""

from __future__ import annotations

import argparse
import shutil

from common import CACHE, ROOT, SHARED, write_section

from bot.config import Settings
from bot.core import Bot
from bot.evaluation import evaluate_file

QUESTIONS = SHARED / "eval" / "seed_dev_questions.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    corpus = CACHE / "seed-corpus"
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.copytree(ROOT / "corpus", corpus)
    bot = Bot.load(settings=Settings(corpus_dir=corpus, index_dir=CACHE / "seed-index",
                                     cache_dir=CACHE))
    report = evaluate_file(bot, QUESTIONS)
    failures = [f"- {r.id} ({r.expect}/{r.lang}): {r.why}" for r in report.results if not r.passed]
    body = (f"Seed dev questions ({report.total}), default corpus, default model.\n\n"
            + report.table() + ("\n\nFailures:\n" + "\n".join(failures) if failures else
                                "\n\nAll pass."))
    if args.no_write:
        print(body)
    else:
        write_section("seed-eval", body)


if __name__ == "__main__":
    main()
