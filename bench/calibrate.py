"""Calibrate the answer threshold (bot/confidence.py) on labelled questions.

Positives: the seed dev questions the corpus answers. Negatives: the seed dev questions it
does not answer, plus real patient questions from the two datasets about other conditions
(zh-medical-dialogue titles, MedQuAD questions), sampled at random; they are almost all out
of the seed corpus, so they stand for the near-domain questions a visitor asks. The
threshold maximises balanced accuracy (mean of answer rate on positives and fallback rate
on negatives) per language; ties go to the higher, safer threshold.

Usage: python bench/calibrate.py [--negatives N] [--no-write]
"""

from __future__ import annotations

import argparse
import csv
import json
import random

import numpy as np
from common import SHARED, report, seed_bot

from bot import confidence
from bot.core import Bot


def best_confidence(bot: Bot, turns: list[str]) -> float:
    """The confidence `ask` would act on for the last turn (earlier turns give context)."""
    session = None
    for turn in turns[:-1]:
        session = bot.ask(turn, session).session_id
    assessed = bot.assess(turns[-1], session)
    return assessed[0].confidence if assessed else 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--negatives", type=int, default=150)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    bot = seed_bot()
    samples: dict[str, list[tuple[float, bool]]] = {"zh": [], "en": []}
    lines = (SHARED / "eval" / "seed_dev_questions.jsonl").read_text("utf-8").splitlines()
    for line in lines:
        item = json.loads(line)
        if item["expect"] == "urgent":
            continue
        turns = item.get("turns") or [item["question"]]
        samples[item["lang"]].append((best_confidence(bot, turns), item["expect"] == "answer"))
    random.seed(3)
    with open(SHARED / "datasets" / "zh-medical-dialogue" / "entries.csv", encoding="utf-8") as f:
        titles = sorted({row["title"] for row in csv.DictReader(f)})
    for title in random.sample(titles, args.negatives):
        samples["zh"].append((best_confidence(bot, [title]), False))
    english = []
    for path in sorted((SHARED / "datasets" / "medquad").glob("*/*.xml")):
        text = path.read_text("utf-8", errors="replace")
        english += [q.split(">", 1)[1] for q in text.split("<Question")[1:] if ">" in q]
    for question in random.sample(english, args.negatives):
        question = question.split("</Question>")[0].strip()
        samples["en"].append((best_confidence(bot, [question]), False))

    rows = ["| lang | positives | negatives | threshold | answer rate on positives | "
            "fallback rate on negatives | balanced accuracy |", "|---|---|---|---|---|---|---|"]
    chosen = {}
    for lang, values in samples.items():
        scores = np.array([s for s, _ in values])
        labels = np.array([y for _, y in values])
        best = None
        for t in np.round(np.arange(0.30, 0.96, 0.01), 2):
            tpr = float((scores[labels] >= t).mean())
            tnr = float((scores[~labels] < t).mean())
            key = ((tpr + tnr) / 2, t)
            if best is None or key >= best[0]:
                best = (key, t, tpr, tnr)
        (balanced, _), t, tpr, tnr = best
        chosen[lang] = t
        rows.append(f"| {lang} | {labels.sum()} | {(~labels).sum()} | {t:.2f} | {tpr:.2f} | "
                    f"{tnr:.2f} | {balanced:.3f} |")
    body = ("Confidence = 0.9 × (share of the question's key terms covered by the passage's "
            "section) + 0.1 × cosine. Threshold chosen per language by maximum balanced "
            "accuracy (ties to the higher threshold) on the labelled questions below.\n\n"
            + "\n".join(rows) + f"\n\nShipped in `bot/confidence.py`: "
            f"`CALIBRATED_THRESHOLD = {json.dumps(chosen)}` (currently "
            f"{json.dumps(confidence.CALIBRATED_THRESHOLD)}).")
    report("calibration", body, args.no_write)


if __name__ == "__main__":
    main()
