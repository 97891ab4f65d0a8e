"""Seed dev questions (shared/eval/seed_dev_questions.jsonl): pass rate per expectation and
language, through the same code as `faqbot eval`.

Usage: python bench/seed_eval.py [--no-write]
"""

from __future__ import annotations

import argparse

from common import SHARED, report, seed_bot

from bot.evaluation import evaluate_file

QUESTIONS = SHARED / "eval" / "seed_dev_questions.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    bot = seed_bot()
    results = evaluate_file(bot, QUESTIONS)
    failures = [f"- {r.id} ({r.expect}/{r.lang}): {r.why}" for r in results.results
                if not r.passed]
    body = (f"Seed dev questions ({results.total}), default corpus, default model.\n\n"
            + results.table() + ("\n\nFailures:\n" + "\n".join(failures) if failures else
                                "\n\nAll pass."))
    report("seed-eval", body, args.no_write)


if __name__ == "__main__":
    main()
