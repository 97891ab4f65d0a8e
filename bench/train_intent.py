"""Train the intent heads (bot/intent.py) on MedQuAD and check them on questions in
patients' words, Chinese included.

MedQuAD's question types, mapped to the bot's intents: information -> definition; causes,
inheritance, genetic changes -> cause; symptoms; exams and tests -> diagnosis; treatment;
outlook, complications, stages -> prognosis; prevention; susceptibility, frequency -> risk
(research, considerations and support groups are left out). The question head reads e5
query vectors of MedQuAD's questions (each also as a visitor rewords it, bench/medquad.py);
the passage head reads e5 passage vectors of the answers' openings and of their first two
sentences alone (the question left out; CancerGov's outlook answers are left out of it:
they open "Certain factors affect prognosis and treatment options" and taught the head to
read treatment passages as prognosis).
Both are multinomial logistic regressions; C is chosen on a fifth of MedQuAD's documents
held out by focus (the condition), and the figures are reported there and on
bench/data/intent/check.jsonl (questions written in patients' words, Chinese and English,
never used for fitting).

Usage: python bench/train_intent.py [--per-class N] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import zlib
from collections import Counter

import numpy as np
from common import CACHE, ROOT, SHARED, report
from defusedxml import ElementTree
from medquad import reworded
from sklearn.linear_model import LogisticRegression

from bot.embedding import E5SmallEmbedder, EmbeddingCache
from bot.intent import HEAD_PATH, INTENTS

MAPPING = {"information": "definition", "causes": "cause", "inheritance": "cause",
           "genetic changes": "cause", "symptoms": "symptoms", "exams and tests": "diagnosis",
           "treatment": "treatment", "outlook": "prognosis", "complications": "prognosis",
           "stages": "prognosis", "prevention": "prevention", "susceptibility": "risk",
           "frequency": "risk"}
ANSWER_CHARS = 400


def medquad_pairs() -> list[dict]:
    out, seen = [], set()
    for path in sorted((SHARED / "datasets" / "medquad").glob("*/*.xml")):
        root = ElementTree.parse(path).getroot()
        focus = (root.findtext("Focus") or path.stem).strip()
        for pair in root.iter("QAPair"):
            q, a = pair.find("Question"), pair.find("Answer")
            if q is None or a is None or not (q.text and a.text):
                continue
            label = MAPPING.get(q.get("qtype", ""))
            question = " ".join(q.text.split())
            if label is None or question in seen:
                continue
            seen.add(question)
            answer = " ".join(a.text.split())
            if answer.lower().startswith("key points"):
                answer = answer[10:].lstrip(" -")
            out.append({"question": question, "answer": answer[:ANSWER_CHARS],
                        "intent": label, "focus": focus, "source": path.parent.name})
    return out


def read(path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def held_out(focus: str) -> bool:
    return zlib.crc32(focus.encode()) % 5 == 0


def balanced(rows: list[dict], per_class: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for label in INTENTS:
        mine = [r for r in rows if r["intent"] == label]
        out += rng.sample(mine, min(per_class, len(mine)))
    return out


def fit(x: np.ndarray, y: np.ndarray, c: float) -> LogisticRegression:
    return LogisticRegression(C=c, max_iter=3000, class_weight="balanced").fit(x, y)


def accuracy(model, x, y) -> float:
    return float((model.predict(x) == y).mean()) if len(y) else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-class", type=int, default=500)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    rows = medquad_pairs()
    train = balanced([r for r in rows if not held_out(r["focus"])], args.per_class, 1)
    test = balanced([r for r in rows if held_out(r["focus"])], args.per_class // 4, 2)
    embedder = E5SmallEmbedder()
    cache = EmbeddingCache(CACHE / "embedding_cache.sqlite")

    def queries(texts: list[str]) -> np.ndarray:
        return cache.embed(embedder, texts, kind="query")[0]

    def questions(part: list[dict]) -> tuple[np.ndarray, np.ndarray]:
        texts = [r["question"] for r in part] + [reworded(r["question"]) for r in part]
        labels = [r["intent"] for r in part] * 2
        return queries(texts), np.array(labels)

    def answers(part: list[dict]) -> tuple[np.ndarray, np.ndarray]:
        """Each answer's opening, and its first two sentences alone (the bot reads the
        intent of a quote of a few sentences)."""
        part = [r for r in part if not (r["source"] == "1_CancerGov_QA"
                                        and r["intent"] == "prognosis")]
        texts = [r["answer"] for r in part]
        labels = [r["intent"] for r in part]
        for r in part:
            sentences = [s for s in re.split(r"(?<=[.!?])\s+", r["answer"]) if len(s) >= 30]
            if len(sentences) >= 2:
                texts.append(" ".join(sentences[:2]))
                labels.append(r["intent"])
        return cache.embed(embedder, texts)[0], np.array(labels)

    print(f"MedQuAD: {len(rows)} pairs; training {len(train)}, held out {len(test)}",
          flush=True)
    xq, yq = questions(train)
    own = read(ROOT / "bench" / "data" / "intent" / "train.jsonl")
    if own:  # our own patient-style questions, for training only
        xq = np.vstack([xq, queries([r["question"] for r in own])])
        yq = np.r_[yq, [r["intent"] for r in own]]
    tq, tyq = questions(test)
    xp, yp = answers(train)
    tp, typ = answers(test)
    check = read(ROOT / "bench" / "data" / "intent" / "check.jsonl")
    check_x = queries([c["question"] for c in check]) if check else None

    best_q = max((accuracy(fit(xq, yq, c), tq, tyq), c) for c in (1.0, 3.0, 10.0, 30.0))
    best_p = max((accuracy(fit(xp, yp, c), tp, typ), c) for c in (1.0, 3.0, 10.0, 30.0))
    question_head, passage_head = fit(xq, yq, best_q[1]), fit(xp, yp, best_p[1])
    order = [list(question_head.classes_).index(i) for i in INTENTS]
    porder = [list(passage_head.classes_).index(i) for i in INTENTS]
    if not args.no_write:
        np.savez_compressed(
            HEAD_PATH, question_w=question_head.coef_[order].astype(np.float16),
            question_b=question_head.intercept_[order].astype(np.float16),
            passage_w=passage_head.coef_[porder].astype(np.float16),
            passage_b=passage_head.intercept_[porder].astype(np.float16))
    lines = [f"MedQuAD pairs with a mapped type: {len(rows)} "
             f"({dict(Counter(r['intent'] for r in rows))}); training {len(train)} documents' "
             f"pairs (at most {args.per_class} per intent), held out by focus: {len(test)}.",
             "", "| head | C (chosen on the held-out focus) | accuracy, MedQuAD held out |",
             "|---|---|---|",
             f"| question (MedQuAD questions and their rewordings) | {best_q[1]} | "
             f"{best_q[0]:.3f} |",
             f"| passage (answer openings, {ANSWER_CHARS} chars) | {best_p[1]} | "
             f"{best_p[0]:.3f} |"]
    # How each reading of a passage vector does on the held-out answers (bot.intent.of_passage
    # uses the mean of the two heads' probabilities).
    p_prob = passage_head.predict_proba(tp)[:, porder]
    q_prob = question_head.predict_proba(tp)[:, order]
    names = np.array(INTENTS)
    lines += ["", "Reading held-out MedQuAD answers (passage vectors):", "",
              "| reading | accuracy |", "|---|---|",
              f"| passage head | {float((names[p_prob.argmax(1)] == typ).mean()):.3f} |",
              f"| question head | {float((names[q_prob.argmax(1)] == typ).mean()):.3f} |",
              f"| mean of both (shipped) | "
              f"{float((names[(p_prob + q_prob).argmax(1)] == typ).mean()):.3f} |"]
    passages = read(ROOT / "bench" / "data" / "intent" / "passages.jsonl")
    if passages:
        vectors = cache.embed(embedder, [r["passage"] for r in passages])[0]
        truth = np.array([r["intent"] for r in passages])
        readings = {"passage head": passage_head.predict_proba(vectors)[:, porder],
                    "question head": question_head.predict_proba(vectors)[:, order]}
        readings["mean of both (shipped)"] = sum(readings.values())
        lines += ["", "Reading passages written as health pages write them "
                  "(bench/data/intent/passages.jsonl, 160, never fitted on):", "",
                  "| reading | zh | en |", "|---|---|---|"]
        for name, prob in readings.items():
            right = names[prob.argmax(1)] == truth
            cells = [f"{float(right[[r['lang'] == lang for r in passages]].mean()):.3f}"
                     for lang in ("zh", "en")]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if check:
        predicted = question_head.predict(check_x)
        lines += ["", "Question head on questions in patients' words "
                  "(bench/data/intent/check.jsonl, never fitted on; chance 0.125):", "",
                  "| lang | questions | accuracy |", "|---|---|---|"]
        for lang in ("zh", "en"):
            mask = np.array([c["lang"] == lang for c in check])
            truth = np.array([c["intent"] for c in check])
            lines.append(f"| {lang} | {int(mask.sum())} | "
                         f"{float((predicted[mask] == truth[mask]).mean()):.3f} |")
    report("intent", "\n".join(lines), args.no_write)


if __name__ == "__main__":
    main()
