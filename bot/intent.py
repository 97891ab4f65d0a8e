"""What a question asks (its cause, symptoms, tests, treatment, outlook, ...) and what a
passage tells, as probabilities over the same intents, so the paragraph that answers the
kind of question asked can come first.

Two small linear heads over the e5 vectors the bot computes anyway (no extra model call):
one reads a question's vector, one a passage's. Both were learned from MedQuAD, whose
16k questions carry a question type and whose answers answer that type
(`python bench/train_intent.py`, weights in bot/data/intent_head.npz, figures in
docs/benchmarks.md, "intent"). e5 is multilingual, so the heads read Chinese too; that
transfer is checked on Chinese questions labelled by hand.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

INTENTS = ("definition", "cause", "symptoms", "diagnosis", "treatment", "prognosis",
           "prevention", "risk")
HEAD_PATH = Path(__file__).parent / "data" / "intent_head.npz"


@lru_cache(maxsize=2)
def _head(path: Path = HEAD_PATH) -> dict[str, np.ndarray] | None:
    if not path.exists():
        return None
    with np.load(path) as data:
        return {k: data[k].astype(np.float32) for k in data.files}


def _softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=-1, keepdims=True)


def of_question(vector: np.ndarray) -> np.ndarray:
    """Probabilities over INTENTS for a question's e5 vector (uniform without a head)."""
    head = _head()
    if head is None or vector.shape[-1] != head["question_w"].shape[1]:
        return np.full(len(INTENTS), 1.0 / len(INTENTS), dtype=np.float32)
    return _softmax(vector @ head["question_w"].T + head["question_b"])


def of_passage(vector: np.ndarray) -> np.ndarray:
    """Probabilities over INTENTS for a passage's e5 vector: the mean of the passage head's
    and the question head's reading of it (uniform without a head). The passage head alone
    learned MedQuAD's answer styles; the question head, which also learned from our
    patient-style questions, reads what a sentence is about. On passages written as health
    pages write them the mean was right for 0.925 in both languages, the question head for
    0.938 (zh) / 0.900 (en), the passage head for 0.787 / 0.863 (docs/benchmarks.md,
    "intent")."""
    head = _head()
    if head is None or vector.shape[-1] != head["passage_w"].shape[1]:
        return np.full(len(INTENTS), 1.0 / len(INTENTS), dtype=np.float32)
    return 0.5 * (_softmax(vector @ head["passage_w"].T + head["passage_b"])
                  + of_question(vector))


def agreement(question: np.ndarray, passage: np.ndarray) -> float:
    """The probability that the passage tells what the question asks (same intent)."""
    return float(question @ passage)
