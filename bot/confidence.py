"""How sure the bot is that a passage answers the question, and the threshold for answering.

Confidence of a passage = the share of the question's key terms it covers (bot.coverage),
with the dense similarity as a small tie-breaker. The answer threshold was calibrated on
labelled questions, not picked by hand: `python bench/calibrate.py` recomputes it and
docs/benchmarks.md ('Confidence threshold') records the data, the method and the result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bot.coverage import CoverageModel, covered_with_phrases, question_terms
from bot.models import Lang
from bot.retrieval import Hit

# Calibrated by bench/calibrate.py (see docs/benchmarks.md, "Confidence threshold").
CALIBRATED_THRESHOLD: dict[Lang, float] = {"zh": 0.6, "en": 0.6}
# How many of the top hits are assessed for an answer.
ASSESS_TOP = 8
# Further passages are quoted only when nearly as confident as the best one.
MARGIN = 0.1


@dataclass(frozen=True)
class Assessed:
    hit: Hit
    coverage: float  # share of question terms the passage covers, 0..1
    confidence: float


def assess(hits: list[Hit], question: str, model: CoverageModel, embed) -> list[Assessed]:
    """Coverage-based confidence for a pool of candidates, best first.

    The pool should hold the top hits by fused score and, per corpus language, the top
    hits by dense similarity (Retriever.search(per_language=...)): keyword scores exist only
    in the question's language and same-language cosines run higher than cross-lingual
    ones, so without them an English question never sees the Chinese passage answering it.
    Order: coverage first; among equal coverage, fused and dense evidence (each scaled
    0..1 over the pool) summed.
    """
    pooled = list({h.chunk_position: h for h in hits}.values())
    terms = question_terms(question)
    if not terms or not pooled:
        return [Assessed(h, 0.0, 0.0) for h in pooled]
    vectors = model.term_vectors(terms, embed)
    background_best = model.background_best(terms, vectors)
    weights = np.array([t.weight for t in terms], dtype=np.float32)
    evidence = _scaled([h.score for h in pooled]) + _scaled([h.dense for h in pooled])
    out = []
    for hit, support in zip(pooled, evidence, strict=True):
        covered = model.covered(hit.chunk_position, terms, vectors, background_best)
        covered = covered_with_phrases(terms, covered)
        share = float(weights[covered].sum() / weights.sum())
        out.append((Assessed(hit, share, round(0.9 * share + 0.1 * max(hit.dense, 0.0), 4)),
                    support))
    out.sort(key=lambda pair: (-round(pair[0].coverage, 3), -pair[1]))
    return [assessed for assessed, _ in out]


def _scaled(values: list[float]) -> np.ndarray:
    array = np.asarray(values, dtype=np.float32)
    span = float(array.max() - array.min()) if len(array) else 0.0
    return (array - array.min()) / span if span > 0 else np.zeros_like(array)


def thresholds_for(override: float | None = None) -> dict[Lang, float]:
    if override is not None:
        return {"zh": override, "en": override}
    return dict(CALIBRATED_THRESHOLD)
