"""Train the red-flag head (bot/redflags/head.py) and choose its threshold.

Data, kept in three parts (bench/common.triage_split, by each message's id):
- train (40%) of our labelled messages (bench/data/triage/*.jsonl: urgent and ordinary
  ones written the way patients write, zh/en/mixed), plus the older labelled red flags
  (bench/data/red_flags.jsonl), plus ordinary patient questions: 3,000 of the Chinese
  patient set's *training* queries, 983 MeQSum consumer messages and 2,000 MedQuAD
  questions (none of them among the ordinary questions bench/red_flags.py reports on);
  patient questions in which the lexicon already finds a red flag are left out rather than
  taught as ordinary;
- tune (15%): the regularisation and the threshold are chosen here: the highest threshold
  at which every urgent tuning message escalates, lowered by a margin;
- report (45%): never used here; bench/red_flags.py reports on it.

Writes bot/data/redflag_head.npz (needs scikit-learn, which sentence-transformers brings;
the server only needs numpy).

Usage: python bench/train_redflags.py [--show]
"""

from __future__ import annotations

import argparse
import json
import random
import re

import numpy as np
from common import ROOT, SHARED, labelled_triage, medquad_questions, triage_split
from red_flags import ordinary_questions
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression

from bot.redflags import lexicon_rules
from bot.redflags.head import BUCKETS, NONE, Head, features, vectorise
from bot.redflags.signs import asks_about, read_signs

OUT = ROOT / "bot" / "data" / "redflag_head.npz"
OLD_RULES = {"bladder_bowel": "urinary_retention", "saddle_numbness": "saddle_numbness",
             "leg_weakness": "progressive_weakness", "major_trauma": "major_trauma",
             "fever": "fever_back_pain", "cancer_history": "cancer_history",
             "weight_loss": "weight_loss"}  # the old night_pain (alone) is no rule now
IN_DOMAIN, GENERAL = 0.04, 0.005  # false urgent budgets on the tuning part (targets 5%, 1%)


def training_only() -> list[dict]:
    """Messages written for training alone (bench/data/triage_train/): ordinary
    counterparts of urgent training messages, short everyday questions."""
    items = []
    for path in sorted((ROOT / "bench" / "data" / "triage_train").glob("*.jsonl")):
        items += [json.loads(line) for line in path.read_text("utf-8").splitlines()
                  if line.strip()]
    return items


def read(message: str) -> tuple[frozenset[str], frozenset[str], bool, frozenset[str]]:
    """What bot.redflags.triage gives the head: signs, lexicon rules, asks, denied signs."""
    signs, denied = read_signs(message)
    return (frozenset(signs), frozenset(r for r, _ in lexicon_rules(signs)), asks_about(message),
            denied)


def decide(p: np.ndarray, lexicon: np.ndarray, asks: np.ndarray, threshold: float,
           floor: float, asking: float) -> np.ndarray:
    """bot.redflags.triage's decision, over arrays (without its check that a back rule
    named by the head alone has the back in the message)."""
    return np.where(asks, p >= asking, (lexicon & (p >= floor)) | (p >= threshold))


def choose(p: np.ndarray, urgent: np.ndarray, lexicon: np.ndarray, asks: np.ndarray,
           general: np.ndarray, general_lexicon: np.ndarray,
           general_asks: np.ndarray) -> tuple[float, float, float]:
    """The threshold (the head alone), the floor (a lexicon rule) and the bar for a message
    that asks in general, that escalate the most urgent tuning messages while false urgent
    stays within budget: IN_DOMAIN of the ordinary tuning messages (which mention the same
    words) and GENERAL of held-back ordinary patient questions; among equals, the highest
    bars."""
    grid = sorted({0.0, 0.5, *np.round(np.geomspace(0.005, 0.99, 60), 4)})
    best = None
    for threshold in grid:
        for floor in (f for f in grid if f <= threshold):
            for asking in (a for a in grid if a >= threshold):
                caught = decide(p, lexicon, asks, threshold, floor, asking)
                false_in = float(caught[~urgent].mean())
                false_general = float(decide(general, general_lexicon, general_asks,
                                             threshold, floor, asking).mean())
                if false_in > IN_DOMAIN or false_general > GENERAL:
                    continue
                score = (float(caught[urgent].mean()), -false_in - false_general, asking,
                         threshold)
                if best is None or score > best[0]:
                    best = (score, threshold, floor, asking)
    return (best[1], best[2], best[3]) if best else (0.5, 0.5, 0.99)


def ordinary_pool(exclude: set[str]) -> list[str]:
    random.seed(5)
    base = SHARED / "datasets" / "zh-medical-dialogue"
    zh = [json.loads(line)["query"] for line in
          (base / "train_queries.jsonl").read_text("utf-8").splitlines() if line.strip()]
    meqsum = [json.loads(line)["question"] for line in
              (SHARED / "datasets" / "consumer-questions-en" / "meqsum.jsonl")
              .read_text("utf-8").splitlines() if line.strip()]
    english = sorted(set(medquad_questions()) - exclude)
    in_domain = [q for q in zh if re.search(r"腰|背|颈椎|脊|坐骨|椎间盘", q)]
    own_rows = [json.loads(line) for line in
                (ROOT / "bench" / "data" / "own_questions.jsonl").read_text("utf-8").splitlines()
                if line.strip()]
    own = [r["question"] for r in own_rows if "question" in r and r["expect"] != "urgent"]
    pool = (random.sample(zh, 3000) + in_domain + meqsum + random.sample(english, 2000)
            + own)
    return [q for q in pool if q not in exclude and not read(q)[1]]


def matrix(messages: list[str]) -> csr_matrix:
    rows, cols, vals = [], [], []
    for i, message in enumerate(messages):
        for key, value in vectorise(features(message, *read(message))).items():
            rows.append(i)
            cols.append(key)
            vals.append(value)
    return csr_matrix((vals, (rows, cols)), shape=(len(messages), BUCKETS), dtype=np.float32)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--show", action="store_true", help="print the tuning misses")
    args = parser.parse_args()
    labelled = labelled_triage()
    train = [i for i in labelled if triage_split(i["id"]) == "train"] + training_only()
    tune = [i for i in labelled if triage_split(i["id"]) == "tune"]
    old = [json.loads(line) for line in
           (ROOT / "bench" / "data" / "red_flags.jsonl").read_text("utf-8").splitlines()]
    exclude = {q for _, q in ordinary_questions()}
    texts = [i["message"] for i in train] + [o["message"] for o in old if o["rule"] in OLD_RULES]
    labels = [i["rule"] if i["expect"] == "urgent" else NONE for i in train]
    labels += [OLD_RULES[o["rule"]] for o in old if o["rule"] in OLD_RULES]
    pool = ordinary_pool(exclude)
    held_back = pool[::7]  # the threshold's budget for ordinary questions
    pool = [q for i, q in enumerate(pool) if i % 7]
    texts += pool
    labels += [NONE] * len(pool)
    weights = np.array([1.0 if label == NONE else 4.0 for label in labels])
    x = matrix(texts)
    used = np.unique(x.indices)
    x = x[:, used]
    tune_x = matrix([i["message"] for i in tune])[:, used]
    tune_urgent = np.array([i["expect"] == "urgent" for i in tune])
    reads = [read(i["message"]) for i in tune]
    general_reads = [read(q) for q in held_back]
    general_x = matrix(held_back)[:, used]
    general_lexicon = np.array([bool(r[1]) for r in general_reads])
    general_asks = np.array([r[2] for r in general_reads])
    lexicon_hit = np.array([bool(r[1]) for r in reads])
    asks = np.array([r[2] for r in reads])
    print(f"train: {len(texts)} messages ({sum(lab != NONE for lab in labels)} urgent), "
          f"{len(used)} features; tune: {len(tune)} ({int(tune_urgent.sum())} urgent)")
    best = None
    for c in (4.0, 16.0, 64.0):
        model = LogisticRegression(C=c, max_iter=3000)
        model.fit(x, labels, sample_weight=weights)
        none = list(model.classes_).index(NONE)
        p = 1.0 - model.predict_proba(tune_x)[:, none]
        general = 1.0 - model.predict_proba(general_x)[:, none]
        threshold, floor, asking = choose(p, tune_urgent, lexicon_hit, asks, general,
                                          general_lexicon, general_asks)
        caught = decide(p, lexicon_hit, asks, threshold, floor, asking)
        false = int((caught & ~tune_urgent).sum())
        recall = float(caught[tune_urgent].mean())
        print(f"C={c}: threshold {threshold:.3f}, floor {floor:.3f}, asking {asking:.3f}, "
              f"tune recall {recall:.1%}, "
              f"false urgent {false}/{int((~tune_urgent).sum())}")
        score = (recall, -false)
        if best is None or score > best[0]:
            best = (score, c, model, threshold, floor, asking)
    _, c, model, threshold, floor, asking = best
    classes = [str(k) for k in model.classes_]
    coef = model.coef_.T.astype(np.float16)
    np.savez_compressed(OUT, index=used.astype(np.int64), weights=coef,
                        bias=model.intercept_.astype(np.float32), classes=np.array(classes),
                        threshold=np.float32(threshold), floor=np.float32(floor),
                        asking=np.float32(asking))
    head = Head.load(OUT)
    print(f"chose C={c}, threshold {threshold:.3f}, floor {floor:.3f}, asking {asking:.3f}; "
          f"wrote {OUT.relative_to(ROOT)} "
          f"({OUT.stat().st_size / 1e6:.1f} MB, {len(classes)} classes)")
    if args.show:
        for item in tune:
            pred = head.predict(item["message"], *read(item["message"]))
            _, rules, asked, _ = read(item["message"])
            hit = decide(np.array([pred.urgent]), np.array([bool(rules)]), np.array([asked]),
                         threshold, floor, asking)[0]
            if hit != (item["expect"] == "urgent"):
                print(f"- {item['id']} {item['expect']} p={pred.urgent:.3f}: {item['message']}")


if __name__ == "__main__":
    main()
