"""Fit the confidence model (bot/confidence.py) on labelled question-passage pairs.

Questions: our own labelled set (bench/data/own_questions.jsonl) and the half of the seed
dev questions that bench/common.split_of puts in 'tune'; the other half is only reported
(bench/seed_eval.py). Out-of-corpus negatives: real patient questions from the two
datasets (zh-medical-dialogue titles, MedQuAD questions), sampled at random; almost all are
about conditions the seed corpus does not cover.

Every candidate passage the bot considers for a question is a sample: positive when its
quote contains one of the question's expected strings (else, when none does, when its
chunk does), negative otherwise; every candidate of a fallback question is negative.
The ranking weights are fitted listwise (softmax over a question's candidates, L2); the
best candidate's score is then calibrated into a probability over questions (answerable or
not: logistic, balanced classes); the threshold is the confidence that maximises balanced
accuracy over questions (answer rate on the answerable, fallback rate on the rest), ties to
the higher one.

Usage: python bench/calibrate.py [--negatives N] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import random

import numpy as np
from common import ROOT, SHARED, medquad_questions, patient_titles, report, seed_bot, split_of

from bot.confidence import FEATURES, SCORING, logistic


def labelled_questions() -> list[dict]:
    items = [json.loads(line) for line in
             (ROOT / "bench" / "data" / "own_questions.jsonl").read_text("utf-8").splitlines()
             if line.strip()]
    for line in (SHARED / "eval" / "seed_dev_questions.jsonl").read_text("utf-8").splitlines():
        item = json.loads(line)
        if split_of(item["id"]) == "tune":
            items.append(item)
    return [i for i in items if i["expect"] != "urgent"]


def dataset_negatives(count: int) -> list[dict]:
    random.seed(3)
    titles, english = patient_titles(), medquad_questions()
    return ([{"id": f"zh-neg{i}", "lang": "zh", "question": t, "expect": "fallback"}
             for i, t in enumerate(random.sample(titles, count))]
            + [{"id": f"en-neg{i}", "lang": "en", "question": q, "expect": "fallback"}
               for i, q in enumerate(random.sample(english, count))])


def samples(bot, item: dict) -> tuple[np.ndarray, np.ndarray, bool]:
    """Signals of every candidate for the item's last turn, their labels, and whether the
    question is answerable."""
    turns = item.get("turns") or [item["question"]]
    session = None
    for turn in turns[:-1]:
        session = bot.ask(turn, session).session_id
    explained = bot.explain(turns[-1], session, limit=1000)
    wanted = item.get("any") or []
    cands = explained.candidates
    x = np.array([[c.signals[f] for f in FEATURES] for c in cands], dtype=np.float64)
    y = np.array([any(w in c.quote for w in wanted) for c in cands], dtype=bool)
    if wanted and not y.any():
        chunks = {c.chunk_id: c for c in cands}
        texts = {ch.chunk_id: ch.text for ch in bot.retriever.index.chunks if ch.chunk_id in chunks}
        y = np.array([any(w in texts[c.chunk_id] for w in wanted) for c in cands], dtype=bool)
    return x.reshape(-1, len(FEATURES)), y, item["expect"] == "answer"


def fit_ranking(groups: list[tuple[np.ndarray, np.ndarray]], l2: float = 0.05,
                steps: int = 4000) -> np.ndarray:
    """Listwise (softmax) ranking weights: per answerable question, raise the probability
    mass of its answering candidates among all its candidates. Signals are standardised for
    the descent; the weights returned apply to the raw signals."""
    allx = np.vstack([x for x, _ in groups])
    mean, std = allx.mean(axis=0), allx.std(axis=0) + 1e-9
    zs = [((x - mean) / std, y) for x, y in groups]
    w = np.zeros(allx.shape[1])
    for _ in range(steps):
        grad = l2 * w
        for z, y in zs:
            s = z @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            q = np.where(y, p, 0.0)
            q /= q.sum()
            grad += z.T @ (p - q) / len(zs)
        w -= 0.5 * grad
    return w / std


# Besides the ranking score, the answerability calibration sees these signals of the best
# candidate directly: how much of the question the answering article leaves out says more
# about whether the corpus answers at all than about which of its paragraphs answers.
ANSWERABILITY = ("missing", "section_coverage")


def fit_calibration(x: np.ndarray, labels: np.ndarray, l2: float = 0.01,
                    steps: int = 5000) -> tuple[np.ndarray, float]:
    """confidence = logistic(x @ a + b), fitted on questions (balanced classes, L2)."""
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mean) / std
    a, b = np.zeros(x.shape[1]), 0.0
    weight = np.where(labels, (~labels).sum() / max(labels.sum(), 1), 1.0)
    weight /= weight.mean()
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(z @ a + b)))
        g = weight * (p - labels)
        a -= 0.5 * ((z.T @ g) / len(z) + l2 * a)
        b -= 0.5 * g.mean()
    return a / std, float(b - (a / std) @ mean)


def best_signals(xs: np.ndarray, ranking: np.ndarray, extra: list[int]) -> np.ndarray:
    """The best-ranked candidate's ranking score and its answerability signals."""
    if not len(xs):
        return np.r_[-1e3, np.zeros(len(extra))]
    best = xs[int(np.argmax(xs @ ranking))]
    return np.r_[best @ ranking, best[extra]]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--negatives", type=int, default=100)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    bot = seed_bot()
    items = labelled_questions() + dataset_negatives(args.negatives)
    data = [(item, *samples(bot, item)) for item in items]
    groups = [(xs, ys) for _, xs, ys, answerable in data if answerable and ys.any()]
    ranking = fit_ranking(groups)
    extra = [FEATURES.index(f) for f in ANSWERABILITY]
    tops = np.array([best_signals(xs, ranking, extra) for _, xs, _, _ in data])
    labels = np.array([answerable for *_, answerable in data])
    coef, bias = fit_calibration(tops, labels)
    weights = ranking * coef[0]
    weights[extra] += coef[1:]
    scores = np.array([logistic(bias + float(t @ coef)) for t in tops])
    best = None
    for t in np.round(np.arange(0.05, 0.96, 0.01), 2):
        tpr = float((scores[labels] >= t).mean())
        tnr = float((scores[~labels] < t).mean())
        key = ((tpr + tnr) / 2, t)
        if best is None or key >= best[0]:
            best = (key, t, tpr, tnr)
    (balanced, _), threshold, tpr, tnr = best
    first_right = sum(bool(ys[np.argmax(xs @ ranking)]) for xs, ys in groups)
    best_conf = [(item["lang"], s, a) for (item, *_), s, a in zip(data, scores, labels,
                                                                  strict=True)]
    rows = ["| lang | answerable | not answerable | answer rate on answerable | "
            "fallback rate on the rest |", "|---|---|---|---|---|"]
    for lang in ("zh", "en"):
        mask = np.array([lg == lang for lg, _, _ in best_conf])
        pos, neg = labels & mask, ~labels & mask
        rows.append(f"| {lang} | {pos.sum()} | {neg.sum()} | "
                    f"{(scores[pos] >= threshold).mean():.2f} | "
                    f"{(scores[neg] < threshold).mean():.2f} |")
    fitted = {f: round(float(w), 3) for f, w in zip(FEATURES, weights, strict=True)}
    body = (f"Ranking weights: listwise logistic (softmax) over the candidates of the "
            f"{len(groups)} answerable questions whose pool holds an answering passage (the "
            f"first candidate answers for {first_right} of them); confidence: logistic "
            f"calibration of the best candidate's score and its "
            f"{', '.join(ANSWERABILITY)} over all {len(items)} questions: "
            f"{int(labels.sum())} answerable (own set + "
            f"the 'tune' half of the dev set), the rest not (own near-domain questions, dev "
            f"'tune' fallbacks, {args.negatives} + {args.negatives} dataset questions).\n\n"
            f"Weights: `{json.dumps(fitted)}`, bias `{bias:.3f}`; threshold {threshold:.2f} "
            f"(balanced accuracy {balanced:.3f} over questions).\n\n" + "\n".join(rows)
            + f"\n\nShipped in `bot/confidence.py`: weights `{json.dumps(SCORING.weights)}`, "
              f"bias `{SCORING.bias}`, threshold `{SCORING.threshold}`.")
    report("calibration", body, args.no_write)


if __name__ == "__main__":
    main()
