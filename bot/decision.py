"""Which candidate passage comes first, and whether the bot answers at all: two small linear
models learned from thousands of real patients' questions (`python bench/calibrate.py`).

- **The ranker** scores each candidate from its signals (bot.ranking: coverage, cosines,
  the fused retrieval score) and from how it stands among the other candidates (is it the
  closest passage of its language, the first by retrieval, in the other language). Fitted
  listwise: per question, the answering candidate should take the probability mass.
- **The decision** is the probability that the first candidate answers the question, from
  that candidate's signals, how far ahead of the best passage of another article it is,
  how much of the question the corpus knows at all, and the question's language (and
  whether the passage is in the other one): patients' words are often not the pages'
  words, so coverage alone cannot carry it. Fitted on questions with and without their
  answer in the index, each weight kept to the sign its signal means (more coverage never
  lowers the probability); the bot answers when it reaches `threshold`.

Nothing here names a word: every input is a number that means the same for any corpus an
operator uploads. The weights are data (bot/data/answer_model.json, written by the
training script with its figures in docs/benchmarks.md); changing them never makes an
index stale.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# Signals of one candidate (bot.ranking computes most; `relative` those that depend on the
# other candidates). A page's paragraphs and a Q&A entry are told apart differently (a
# page's heading is a topic, an entry's is the question itself), so the signals that
# differ most between them count once more for page chunks ("page_…").
_PAGE_SPECIFIC = ("intent", "heading_intent", "heading_cos", "title_gap", "title_lead",
                  "section_coverage", "passage_coverage", "dense_gap", "sentence", "fused",
                  "dense_first", "cross", "previous_doc", "body_keyword", "heading_keyword")
RANK_FEATURES = ("section_coverage", "passage_coverage", "missing", "dense", "dense_gap",
                 "sentence", "fused", "dense_first", "fused_first", "fused_rank", "cross",
                 "cross_dense", "intent", "previous_doc", "heading_keyword", "body_keyword",
                 "heading_dense", "body_dense", "heading_intent", "heading_cos",
                 "title_gap", "title_lead", "previous_intent", "page",
                 *(f"page_{n}" for n in _PAGE_SPECIFIC))
# Signals of the question, given its ranked candidates.
DECIDE_FEATURES = ("score", "lead", "section_coverage", "passage_coverage", "missing",
                   "dense", "dense_gap", "sentence", "fused", "known", "agree", "terms",
                   "zh", "cross", "zh_score", "cross_score", "intent", "page", "heading_cos")

MODEL_PATH = Path(__file__).parent / "data" / "answer_model.json"


@dataclass(frozen=True)
class AnswerModel:
    rank_weights: dict[str, float]
    decide_weights: dict[str, float]
    decide_bias: float
    threshold: float  # answer when the decision's probability reaches this

    def rank_score(self, features: dict[str, float]) -> float:
        return sum(w * features.get(name, 0.0) for name, w in self.rank_weights.items())

    def answer_probability(self, features: dict[str, float]) -> float:
        return logistic(self.decide_bias + sum(w * features.get(name, 0.0)
                                               for name, w in self.decide_weights.items()))

    def to_json(self) -> str:
        return json.dumps({"rank_weights": self.rank_weights,
                           "decide_weights": self.decide_weights,
                           "decide_bias": self.decide_bias, "threshold": self.threshold},
                          indent=1, sort_keys=True) + "\n"


@lru_cache(maxsize=4)
def load_model(path: Path = MODEL_PATH) -> AnswerModel:
    data = json.loads(path.read_text("utf-8"))
    return AnswerModel(data["rank_weights"], data["decide_weights"], data["decide_bias"],
                       data["threshold"])


def logistic(value: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, value))))


def relative(features: Sequence[dict[str, float]], langs: Sequence[str],
             query_lang: str) -> list[dict[str, float]]:
    """Each candidate's signals with those that depend on the others: its cosine (and its
    title's) below the best of its own language (e5's cosines are comparable within a
    language, not across), whether it is that best, whether it is the first by the
    retrieval's fused score, and its rank by it."""
    best: dict[str, float] = {}
    for f, lang in zip(features, langs, strict=True):
        best[lang] = max(best.get(lang, -1.0), f["dense"])
    best_title: dict[str, float] = {}
    for f, lang in zip(features, langs, strict=True):
        best_title[lang] = max(best_title.get(lang, -1.0), f.get("title_cos", 0.0))
    order = sorted(range(len(features)), key=lambda i: -features[i]["fused"])
    rank = {i: r for r, i in enumerate(order)}
    out = []
    for i, (f, lang) in enumerate(zip(features, langs, strict=True)):
        cross = float(lang != query_lang)
        row = {**f, "dense_gap": f["dense"] - best[lang],
               "title_gap": f.get("title_cos", 0.0) - best_title[lang],
               "title_lead": f.get("title_cos", 0.0) - max(best_title.values()),
               "dense_first": float(f["dense"] >= best[lang]),
               "fused_first": float(rank[i] == 0), "fused_rank": 1.0 / (1.0 + rank[i]),
               "cross": cross, "cross_dense": cross * f["dense"]}
        # a follow-up: the paragraph of the section talked about that tells what is asked now
        row["previous_intent"] = row.get("previous_doc", 0.0) * max(
            row.get("intent", 0.0), row.get("heading_intent", 0.0))
        page = row.get("page", 0.0)
        row.update({f"page_{n}": page * row.get(n, 0.0) for n in _PAGE_SPECIFIC})
        out.append(row)
    return out


def question_features(ranked: Sequence[dict[str, float]], scores: Sequence[float],
                      sections: Sequence[int], query_lang: str,
                      topic_terms: int) -> dict[str, float]:
    """The decision's inputs for candidates already in ranked order (best first)."""
    if not ranked:
        return {}
    top = ranked[0]
    other = [s for s, sec in zip(scores, sections, strict=True) if sec != sections[0]]
    lead = scores[0] - max(other) if other else 3.0
    zh = float(query_lang == "zh")
    cross = top["cross"]
    score = scores[0]
    page = top.get("page", 0.0)
    return {"score": score, "lead": min(lead, 3.0), "page": page,
            **{k: top[k] for k in ("section_coverage", "passage_coverage", "missing",
                                   "dense", "dense_gap", "sentence", "fused", "intent",
                                   "heading_cos")},
            "known": max(f["section_coverage"] for f in ranked),
            "agree": top["dense_first"] * top["fused_first"],
            "terms": math.log1p(topic_terms), "zh": zh, "cross": cross,
            "zh_score": zh * score, "cross_score": cross * score}
