"""Red-flag triage, measured (issue 18):

- recall on our labelled messages (bench/data/triage/: written the way patients write,
  zh/en/mixed), by part: `report` (45%, never trained or tuned on: the figure that counts),
  `tune` (15%, the head's threshold was chosen there) and, for reference, `train`;
- the shared dev set (../shared/eval/red_flags_dev.jsonl): urgent escalated, ordinary not;
- the independent check set (bench/data/triage_check/, written apart from the others,
  used for nothing else);
- false urgent on ordinary in-domain messages of the report part (they mention the same
  words without an alarming sign), on the 1,400 ordinary questions (the Chinese patient
  set's 400 dev queries, 400 of its entry titles and 600 MedQuAD questions, at random) and
  on the Chinese patient set's training queries the head was not trained on;
- the time triage takes per message (lexicon + head), median and worst.

Usage: python bench/red_flags.py [--no-write] [--show]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from collections import Counter

from common import (
    ROOT,
    SHARED,
    labelled_triage,
    medquad_questions,
    patient_titles,
    report,
    triage_split,
)

from bot.redflags import triage


def ordinary_questions() -> list[tuple[str, str]]:
    """The 1,400 ordinary questions (never used to train the head)."""
    random.seed(11)
    base = SHARED / "datasets" / "zh-medical-dialogue"
    dev = [json.loads(line)["query"] for line in
           (base / "dev_queries.jsonl").read_text("utf-8").splitlines() if line.strip()]
    titles = patient_titles()
    english = sorted(set(medquad_questions()))
    return ([("zh", q) for q in dev] + [("zh", t) for t in random.sample(titles, 400)]
            + [("en", q) for q in random.sample(english, 600)])


def unseen_patient_queries() -> list[str]:
    """The Chinese patient set's training queries that bench/train_redflags.py left out."""
    from train_redflags import ordinary_pool

    base = SHARED / "datasets" / "zh-medical-dialogue"
    queries = [json.loads(line)["query"] for line in
               (base / "train_queries.jsonl").read_text("utf-8").splitlines() if line.strip()]
    used = set(ordinary_pool(set()))
    return [q for q in queries if q not in used]


def upper_bound(misses: int, n: int) -> float:
    """The upper end of the 95% (Clopper-Pearson) interval of a miss rate."""
    if n == 0:
        return float("nan")
    if misses == 0:
        return 1 - 0.025 ** (1 / n)
    lo, hi = misses / n, 1.0
    for _ in range(60):  # the rate whose chance of <= misses misses is 2.5%
        mid = (lo + hi) / 2
        tail = sum(math.comb(n, k) * mid ** k * (1 - mid) ** (n - k) for k in range(misses + 1))
        lo, hi = (mid, hi) if tail > 0.025 else (lo, mid)
    return hi


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--show", action="store_true", help="print misses and false alarms")
    args = parser.parse_args()
    labelled = labelled_triage()
    results = {item["id"]: triage(item["message"]) for item in labelled}
    lines = ["| part | lang | urgent | escalated | recall | miss rate, upper 95% | ordinary "
             "(in-domain) | false urgent |", "|---|---|---|---|---|---|---|---|"]
    misses, alarms = [], []
    for part in ("report", "tune", "train"):
        for lang in ("zh", "en", "mixed", "all"):
            items = [i for i in labelled if triage_split(i["id"]) == part
                     and (lang == "all" or i["lang"] == lang)]
            urgent = [i for i in items if i["expect"] == "urgent"]
            ordinary = [i for i in items if i["expect"] == "ordinary"]
            hit = sum(bool(results[i["id"]].flags) for i in urgent)
            false = sum(bool(results[i["id"]].flags) for i in ordinary)
            name = f"**{part}**" if lang == "all" else part
            lines.append(f"| {name} | {lang} | {len(urgent)} | {hit} | {hit / len(urgent):.1%} | "
                         f"{upper_bound(len(urgent) - hit, len(urgent)):.2%} | {len(ordinary)} | "
                         f"{false} ({false / max(len(ordinary), 1):.1%}) |")
            if part == "report" and lang == "all":
                misses = [i for i in urgent if not results[i["id"]].flags]
                alarms = [i for i in ordinary if results[i["id"]].flags]
    by = Counter(f.by for r in results.values() for f in r.flags[:1])
    right = sum(any(f.rule == i["rule"] for f in results[i["id"]].flags) for i in labelled
                if i["expect"] == "urgent" and triage_split(i["id"]) == "report"
                and results[i["id"]].flags)
    report_urgent = sum(1 for i in labelled if i["expect"] == "urgent"
                        and triage_split(i["id"]) == "report") - len(misses)
    body = [f"Labelled messages: {len(labelled)} (bench/data/triage/, reviewed: REVIEW.md there). "
            f"Escalations by the lexicon {by['lexicon']}, by the head alone {by['head']}; "
            f"the expected rule among the flags of {right} of {report_urgent} escalated report "
            "messages.", "", *lines, ""]
    dev = [json.loads(line) for line in
           (SHARED / "eval" / "red_flags_dev.jsonl").read_text("utf-8").splitlines() if line]
    body += [_set_line("shared dev set (red_flags_dev.jsonl)", dev)]
    check_path = ROOT / "bench" / "data" / "triage_check" / "independent.jsonl"
    if check_path.exists():
        check = [json.loads(line) for line in check_path.read_text("utf-8").splitlines() if line]
        body += [_set_line("independent check set (bench/data/triage_check/)", check)]
    body += ["", "| ordinary questions | n | false urgent | rate |", "|---|---|---|---|"]
    ordinary = ordinary_questions()
    unseen = unseen_patient_queries()
    general_alarms = []
    for name, questions in (("1,400: Chinese patient dev queries", [q for lg, q in ordinary[:400]]),
                            ("1,400: patient entry titles", [q for _, q in ordinary[400:800]]),
                            ("1,400: MedQuAD questions", [q for _, q in ordinary[800:]]),
                            ("Chinese patient training queries not trained on", unseen)):
        flagged = [(q, triage(q).flags) for q in questions]
        flagged = [(q, f) for q, f in flagged if f]
        general_alarms += flagged
        body.append(f"| {name} | {len(questions)} | {len(flagged)} | "
                    f"{len(flagged) / len(questions):.2%} |")
    all_general = len(ordinary) + len(unseen)
    body.append(f"| **all** | {all_general} | {len(general_alarms)} | "
                f"{len(general_alarms) / all_general:.2%} |")
    timings = []
    for item in labelled[:400]:
        started = time.perf_counter()
        triage(item["message"] + " ")  # a new text: no cache
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    body += ["", f"Triage time per message (400 labelled messages): median "
             f"{timings[len(timings) // 2]:.2f} ms, worst {timings[-1]:.2f} ms."]
    body += ["", "Report part, missed:"] + [
        f"- {i['id']} ({i['rule']}): {i['message']}" for i in misses] or ["- none"]
    body += ["", "Report part, ordinary escalated:"] + [
        f"- {i['id']}: {i['message']} → {_flags(results[i['id']])}" for i in alarms] or ["- none"]
    body += ["", "Ordinary questions escalated:"] + [
        f"- {q[:100]} → {', '.join(f'{x.rule} ({x.sign})' for x in f)}"
        for q, f in general_alarms] or ["- none"]
    text = "\n".join(body)
    if args.show:
        print(text)
    report("red-flags", text, args.no_write)


def _flags(result) -> str:
    return ", ".join(f"{f.rule} ({f.sign}, by {f.by})" for f in result.flags)


def _set_line(name: str, items: list[dict]) -> str:
    urgent = [i for i in items if i["expect"] == "urgent"]
    ordinary = [i for i in items if i["expect"] != "urgent"]
    results = {i["id"]: triage(i["message"]) for i in items}
    hit = [i for i in urgent if results[i["id"]].flags]
    false = [i for i in ordinary if results[i["id"]].flags]
    missed = "; ".join(f"{i['id']}" for i in urgent if not results[i["id"]].flags)
    alarmed = "; ".join(f"{i['id']} → {_flags(results[i['id']])}" for i in false)
    return (f"- {name}: urgent {len(hit)}/{len(urgent)} escalated, ordinary {len(false)}/"
            f"{len(ordinary)} escalated." + (f" Missed: {missed}." if missed else "")
            + (f" Escalated ordinary: {alarmed}." if alarmed else ""))


if __name__ == "__main__":
    main()
