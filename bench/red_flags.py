"""Red-flag recall on our labelled set (bench/data/red_flags.jsonl: messages written the way
patients write, both languages, each with the rule it should fire) and false urgent rate on
ordinary questions (the Chinese patient set's 400 dev queries and 400 entry titles, and 600
MedQuAD questions, sampled at random). Reports both halves of the labelled set
(bench/common.split_of): the rules were written against the 'tune' half.

Usage: python bench/red_flags.py [--no-write] [--show]
"""

from __future__ import annotations

import argparse
import json
import random

from common import ROOT, SHARED, medquad_questions, patient_titles, report, split_of

from bot.safety import red_flags


def ordinary_questions() -> list[tuple[str, str]]:
    random.seed(11)
    base = SHARED / "datasets" / "zh-medical-dialogue"
    dev = [json.loads(line)["query"] for line in
           (base / "dev_queries.jsonl").read_text("utf-8").splitlines() if line.strip()]
    titles = patient_titles()
    english = sorted(set(medquad_questions()))
    return ([("zh", q) for q in dev] + [("zh", t) for t in random.sample(titles, 400)]
            + [("en", q) for q in random.sample(english, 600)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--show", action="store_true", help="print misses and false alarms")
    args = parser.parse_args()
    labelled = [json.loads(line) for line in
                (ROOT / "bench" / "data" / "red_flags.jsonl").read_text("utf-8").splitlines()]
    rows = ["| set | lang | messages | escalated | right rule among them | recall |",
            "|---|---|---|---|---|---|"]
    misses = []
    for part in ("tune", "report"):
        for lang in ("zh", "en"):
            items = [i for i in labelled if i["lang"] == lang and split_of(i["id"]) == part]
            flagged = [(i, [f.rule for f in red_flags(i["message"])]) for i in items]
            hit = sum(bool(rules) for _, rules in flagged)
            right = sum(i["rule"] in rules for i, rules in flagged)
            misses += [f"- {i['id']} ({i['rule']}): {i['message']}" for i, r in flagged if not r]
            rows.append(f"| {part} | {lang} | {len(items)} | {hit} | {right} | "
                        f"{hit / max(len(items), 1):.1%} |")
    total = len(labelled)
    escalated = sum(bool(red_flags(i["message"])) for i in labelled)
    ordinary = ordinary_questions()
    alarms = [(lang, q, [f"{f.rule} ({f.sign})" for f in red_flags(q)]) for lang, q in ordinary]
    alarms = [a for a in alarms if a[2]]
    lines = ["| set | questions | escalated | false urgent rate |", "|---|---|---|---|"]
    for lang in ("zh", "en"):
        n = sum(1 for lg, _ in ordinary if lg == lang)
        k = sum(1 for lg, *_ in alarms if lg == lang)
        lines.append(f"| ordinary {lang} | {n} | {k} | {k / n:.2%} |")
    lines.append(f"| **ordinary, all** | {len(ordinary)} | {len(alarms)} | "
                 f"{len(alarms) / len(ordinary):.2%} |")
    body = (f"Labelled red flags: {total} messages (bench/data/red_flags.jsonl), escalated "
            f"{escalated} ({escalated / total:.1%}).\n\n" + "\n".join(rows)
            + "\n\nOrdinary questions (false alarms):\n\n" + "\n".join(lines)
            + ("\n\nMissed:\n" + "\n".join(misses) if misses else "\n\nNone missed.")
            + ("\n\nEscalated ordinary questions:\n" + "\n".join(
                f"- [{lg}] {q[:90]} → {', '.join(r)}" for lg, q, r in alarms) if alarms else ""))
    if args.show:
        print(body)
    report("red-flags", body, args.no_write)


if __name__ == "__main__":
    main()
