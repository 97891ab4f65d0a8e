"""A small trained head that reads the whole message: a linear model over hashed character
n-grams (Chinese), words, word pairs and character 4-grams of words (English, so typos and
word forms share features), and the signs and rules the lexicon found, with one output per
rule and one for "no red flag".

It is trained by bench/train_redflags.py on labelled messages written the way patients
write (bench/data/triage/) and on thousands of ordinary patient questions; the weights
ship in bot/data/redflag_head.npz (only the features seen in training, float16), with the
threshold chosen on the tuning part. Inference is a sparse dot product: well under a
millisecond a message.
"""

from __future__ import annotations

import contextlib
import re
import zlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from bot.redflags.signs import CONTEXT_SIGNS, normalise

BUCKETS = 1 << 20
# The commonest words of each language (wordfreq's lists) say nothing of a red flag, but a
# model learns them as style ("my", "and" in stories, none in textbook questions): they are
# not features on their own. Negations and words the signs turn on stay.
_KEEP = {"not", "no", "don't", "never", "back", "out", "up", "down", "off", "one", "after",
         "before", "still", "new", "can't", "不", "没有", "不是", "上", "下", "后", "一"}


@lru_cache(maxsize=1)
def _common_words() -> frozenset[str]:
    from wordfreq import top_n_list

    return frozenset((set(top_n_list("en", 100, wordlist="small"))
                      | set(top_n_list("zh", 60, wordlist="small"))) - _KEEP)

NONE = "none"
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_WORD = re.compile(r"[a-z][a-z']*")


def features(message: str, signs: frozenset[str] = frozenset(),
             rules: frozenset[str] = frozenset(), asks: bool = False,
             denied: frozenset[str] = frozenset()) -> dict[str, float]:
    """The model's features of a message: name -> value (before hashing)."""
    text = re.sub(r"\d+", "0", normalise(message))
    common = _common_words()
    out: dict[str, float] = {}
    for run in _CJK_RUN.findall(text):
        for n in (1, 2, 3):
            for i in range(len(run) - n + 1):
                gram = run[i:i + n]
                if n > 1 or gram not in common:
                    out["c:" + gram] = 1.0
    words = [w.strip("'") for w in _WORD.findall(text)]
    for i, word in enumerate(words):
        if word not in common:
            out["w:" + word] = 1.0
        if i and not (word in common and words[i - 1] in common):
            out[f"b:{words[i - 1]}_{word}"] = 1.0
        if len(word) >= 4:
            padded = f"<{word}>"
            for j in range(len(padded) - 3):
                out["g:" + padded[j:j + 4]] = 0.5
    for sign in signs:
        out["s:" + sign] = 2.0
    if not signs - CONTEXT_SIGNS:
        out["no symptom"] = 2.0  # the lexicon found no symptom at all
    for rule in rules:
        out["r:" + rule] = 2.0
    for sign in denied:
        out["n:" + sign] = 2.0
    if asks:
        out["asks"] = 2.0
    return out


def bucket(name: str) -> int:
    return zlib.crc32(name.encode("utf-8")) % BUCKETS


def vectorise(named: dict[str, float]) -> dict[int, float]:
    """Hashed and scaled to unit length."""
    out: dict[int, float] = {}
    for name, value in named.items():
        key = bucket(name)
        out[key] = out.get(key, 0.0) + value
    norm = float(np.sqrt(sum(v * v for v in out.values()))) or 1.0
    return {k: v / norm for k, v in out.items()}


@dataclass(frozen=True)
class Prediction:
    urgent: float  # probability of any red flag
    rule: str  # the most likely rule
    words: tuple[str, ...]  # the n-grams of the message that pushed most towards `rule`


class Head:
    def __init__(self, index: np.ndarray, weights: np.ndarray, bias: np.ndarray,
                 classes: list[str], threshold: float, floor: float, asking: float) -> None:
        self.index = index  # sorted bucket ids seen in training
        self.weights = weights  # (len(index), len(classes)), float16 as shipped (8 MB)
        self.bias = bias
        self.classes = classes
        self.none = classes.index(NONE)
        self.threshold = threshold  # the head alone escalates from here
        self.floor = floor  # a lexicon red flag escalates unless the head is below this
        self.asking = asking  # a message asking in general escalates only from here

    @classmethod
    def load(cls, path=None) -> Head:
        opened = (resources.as_file(resources.files("bot") / "data" / "redflag_head.npz")
                  if path is None else contextlib.nullcontext(path))
        with opened as file, np.load(file, allow_pickle=False) as data:
            return cls(data["index"], data["weights"], data["bias"],
                       [str(c) for c in data["classes"]], float(data["threshold"]),
                       float(data["floor"]), float(data["asking"]))

    def predict(self, message: str, signs: frozenset[str] = frozenset(),
                rules: frozenset[str] = frozenset(), asks: bool = False,
                denied: frozenset[str] = frozenset()) -> Prediction:
        named = features(message, signs, rules, asks, denied)
        vector = vectorise(named)
        keys = np.fromiter(vector, dtype=np.int64, count=len(vector))
        values = np.fromiter(vector.values(), dtype=np.float32, count=len(vector))
        rows = np.searchsorted(self.index, keys)
        rows = np.minimum(rows, len(self.index) - 1)
        known = self.index[rows] == keys
        rows, values = rows[known], values[known]
        contributions = self.weights[rows].astype(np.float32) * values[:, None]
        scores = self.bias + contributions.sum(axis=0)
        scores = np.exp(scores - scores.max())
        probs = scores / scores.sum()
        ranked = [i for i in np.argsort(-probs) if i != self.none]
        best = int(ranked[0])
        push = contributions[:, best] - contributions[:, self.none]
        by_bucket = {int(k): float(p) for k, p in zip(keys[known], push, strict=True)}
        return Prediction(urgent=float(1.0 - probs[self.none]), rule=self.classes[best],
                          words=_top_words(message, named, by_bucket))


def _top_words(message: str, named: dict[str, float], push: dict[int, float],
               k: int = 3) -> tuple[str, ...]:
    """The message's own words behind the strongest positive features, in message order."""
    text = normalise(message)
    ranked = sorted(((push.get(bucket(n), 0.0), n) for n in named
                     if n[:2] in ("c:", "w:", "b:")), reverse=True)
    spans: list[tuple[int, int]] = []
    for weight, name in ranked:
        if weight <= 0 or len(spans) >= k:
            break
        needle = name[2:].replace("_", " ")
        if name.startswith("c:") and len(needle) < 2:
            continue
        at = text.find(needle)
        if at < 0:
            continue
        span = (at, at + len(needle))
        if any(s <= span[0] < e or s < span[1] <= e for s, e in spans):
            continue
        spans.append(span)
    return tuple(message[s:e] for s, e in sorted(spans))


@lru_cache(maxsize=1)
def default_head() -> Head | None:
    """The shipped head, or None when it is not there (the lexicon alone then decides)."""
    try:
        return Head.load()
    except (FileNotFoundError, OSError, KeyError):
        return None
