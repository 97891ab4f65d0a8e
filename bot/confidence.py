"""How sure the bot is that a passage answers the question, and the threshold for answering.

Confidence of a passage = the share of the question's key terms it covers (bot.coverage),
with the dense similarity as a small tie-breaker. The answer threshold was calibrated on
labelled questions, not picked by hand: `python bench/calibrate.py` recomputes it and
docs/benchmarks.md ('Confidence threshold') records the data, the method and the result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bot.coverage import CoverageModel, Term, covered_with_phrases, question_terms
from bot.models import Lang
from bot.retrieval import Hit

# Calibrated by bench/calibrate.py (see docs/benchmarks.md, "Confidence threshold").
CALIBRATED_THRESHOLD: dict[Lang, float] = {"zh": 0.72, "en": 0.62}
# How many of the top hits are assessed for an answer.
ASSESS_TOP = 8
# Further passages are quoted only when nearly as confident as the best one.
MARGIN = 0.1


@dataclass(frozen=True)
class Assessed:
    hit: Hit
    coverage: float  # share of question terms the passage covers, 0..1
    confidence: float


@dataclass(frozen=True)
class Question:
    """A question's key terms, weighted, with vectors and their background bar: computed
    once per question, reused for every candidate passage."""

    terms: list[Term]
    weights: np.ndarray
    vectors: np.ndarray
    background_best: np.ndarray
    follow_up: bool


def prepare(question: str, model: CoverageModel, embed, focus: str | None = None) -> Question:
    """`focus`: the latest message of a follow-up, whose terms count double (the earlier
    question only gives context)."""
    terms = question_terms(question)
    vectors = model.term_vectors(terms, embed)
    focus_text = (focus or "").lower()
    weights = np.array([t.weight * (2.0 if focus and t.key in focus_text else 1.0)
                        for t in terms], dtype=np.float32)
    return Question(terms, weights, vectors, model.background_best(terms, vectors),
                    focus is not None)


def assess(hits: list[Hit], question: Question, model: CoverageModel,
           sentence_best: dict[int, float] | None = None) -> list[Assessed]:
    """Coverage-based confidence for a pool of candidates, best first.

    The pool should hold the top hits by fused score and, per corpus language, the top
    hits by dense similarity (Retriever.search(per_language=...)): keyword scores exist only
    in the question's language and same-language cosines run higher than cross-lingual
    ones, so without them an English question never sees the Chinese passage answering it.
    Order: coverage by the section first, then by the chunk itself, then the semantic
    evidence: chunk cosine plus best sentence cosine (`sentence_best`: chunk position ->
    cosine).
    """
    pooled = list({h.chunk_position: h for h in hits}.values())
    if not question.terms or not pooled:
        return [Assessed(h, 0.0, 0.0) for h in pooled]
    # Semantic evidence, unscaled (scaling over a pool turns 0.003 into a landslide): the
    # chunk's cosine plus its best sentence's (a chunk without sentence vectors counts its
    # own cosine twice).
    sentence_best = sentence_best or {}
    total = float(question.weights.sum()) or 1.0
    out = []
    section_share: dict[int, float] = {}  # the chunks of one section share its coverage

    def share_of(position: int, section: bool) -> float:
        covered = model.covered(position, question.terms, question.vectors,
                                question.background_best, section=section)
        covered = covered_with_phrases(question.terms, covered)
        return float(question.weights[covered].sum()) / total

    for hit in pooled:
        support = max(hit.dense, 0.0) + sentence_best.get(hit.chunk_position,
                                                          max(hit.dense, 0.0))
        key = model.section_of[hit.chunk_position]
        if key not in section_share:
            section_share[key] = share_of(hit.chunk_position, section=True)
        share = section_share[key]
        own_share = share_of(hit.chunk_position, section=False)
        # In a follow-up the chunk's own coverage mostly measures the earlier question's
        # words; which part answers is left to the evidence, judged on the latest words.
        own_key = 0.0 if question.follow_up else -round(own_share, 3)
        out.append((Assessed(hit, share, round(0.9 * share + 0.1 * max(hit.dense, 0.0), 4)),
                    (-round(share, 3), own_key, -support)))
    out.sort(key=lambda pair: pair[1])
    return [assessed for assessed, _ in out]


def thresholds_for(override: float | None = None) -> dict[Lang, float]:
    if override is not None:
        return {"zh": override, "en": override}
    return dict(CALIBRATED_THRESHOLD)
