"""How sure the bot is that a passage answers the question: every scoring constant, in one
place, and part of the index fingerprint (an index records the scoring it was built for).

A candidate passage is described by a few signals (`FEATURES`), each meaning the same in
both languages:

- section_coverage: share of the question's key (topic) terms, weighted by rarity, that the
  passage's article or Q&A entry contains, in either language (bot.coverage);
- passage_coverage: the share of all its terms, intent words (治疗, 原因) included, that the
  quoted sentences themselves (and their heading) contain;
- missing: the weight of the heaviest key term the article does not contain at all. A
  question about something the corpus only brushes against ("breast cancer chemotherapy
  side effects" near a page on spinal tumours) leaves a heavy term uncovered;
- dense: cosine of the question (or its translation, for a passage in the other
  language) to the passage's chunk, e5-small;
- sentence: the best cosine of the question to one of the quoted sentences;
- fused: the chunk's hybrid retrieval score (keywords in both languages and vectors,
  each scaled to the query's best, bot.retrieval);
- dense_gap: how far the chunk's cosine is below the best candidate's of the same language
  (e5 cosines are comparable within a language, not across: a question scores its own
  language higher).

confidence = logistic(bias + weights · signals): a probability that the passage answers,
fitted by `python bench/calibrate.py` (logistic regression on labelled question-passage
pairs; see docs/benchmarks.md, "Confidence"). The bot answers when the best passage's
confidence reaches `threshold`; passages are ordered by it.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field

FEATURES = ("section_coverage", "passage_coverage", "missing", "dense", "dense_gap",
            "sentence", "fused")


@dataclass(frozen=True)
class Scoring:
    # Fitted by bench/calibrate.py on the tuning split (docs/benchmarks.md, "Confidence").
    weights: dict[str, float] = field(default_factory=lambda: {
        "section_coverage": 4.298, "passage_coverage": 1.58, "missing": -0.908,
        "dense": 7.035, "dense_gap": 54.081, "sentence": 1.928, "fused": 0.625})
    bias: float = -11.508
    threshold: float = 0.59  # answer when the best passage's confidence reaches this
    margin: float = 0.25  # further quotes only this close to the best one
    # Candidate pool: top hits by fused score, best dense hits per corpus language, and
    # the other chunks of the best articles (so the right paragraph can win), capped.
    pool_top: int = 8
    pool_per_language: int = 4
    pool_sections: int = 2
    pool_max: int = 40
    # Quotes: grow around the best sentence with neighbours at least this relevant
    # (relative to the best), or while the quote is shorter than `quote_min_chars`.
    quote_neighbour: float = 0.6
    quote_min_chars: int = 60
    # A sentence's relevance: this share from the question terms it covers, the rest from
    # its closeness to the question (1 for the closest sentence of the chunk, less by
    # `sentence_slope` per unit of cosine below it).
    sentence_terms_share: float = 0.5
    sentence_slope: float = 5.0
    follow_up_focus: float = 2.0  # the latest message's terms count this much more


SCORING = Scoring()


def scoring_fingerprint(scoring: Scoring = SCORING) -> str:
    return hashlib.sha256(json.dumps(asdict(scoring), sort_keys=True).encode()).hexdigest()[:16]


def relevance(features: dict[str, float], scoring: Scoring = SCORING) -> float:
    """The linear score (log-odds) of a candidate."""
    return scoring.bias + sum(scoring.weights[name] * features[name] for name in FEATURES)


def logistic(value: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, value))))


def confidence_of(features: dict[str, float], scoring: Scoring = SCORING) -> float:
    return logistic(relevance(features, scoring))
