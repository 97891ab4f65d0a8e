"""The answer path's constants (candidate pool, quotes, follow-ups) in one place, and what a
candidate's signals mean. They are read at query time only: changing one never makes an
index stale (an index records only what its build depends on: bot.index.is_stale).

A candidate passage is described by signals that mean the same in both languages and for
any corpus (bot.ranking computes them; bot.decision learns how much each counts):

- section_coverage: share of the question's key (topic) terms, weighted by rarity, that the
  passage's article or Q&A entry contains, in either language (bot.coverage);
- passage_coverage: the share of all its terms, intent words (治疗, 原因) included, that the
  quoted sentences themselves (and their heading) contain;
- missing: the weight of the heaviest key term the article does not contain at all. A
  question about something the corpus only brushes against ("breast cancer chemotherapy
  side effects" near a page on spinal tumours) leaves a heavy term uncovered;
- dense: cosine of the question (or its translation, for a passage in the other
  language) to the passage's chunk, e5-small; sentence: the best cosine to one of the
  quoted sentences; heading_cos, title_cos: to the chunk's heading and its document's title;
- fused: the chunk's hybrid retrieval score (keywords in both languages and vectors, each
  scaled to the query's best, bot.retrieval), and its four parts;
- intent, heading_intent: whether the quote (its heading) tells what the question asks
  (bot.intent);
- previous_doc: a follow-up, and the previous answer quoted this document; page: a page
  paragraph, not a Q&A entry.

The learned ranker and decision (bot.decision, `python bench/calibrate.py`) turn them into an
order and a probability that the first candidate answers; the bot answers when it reaches
the decision's threshold.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scoring:
    margin: float = 0.25  # further quotes only this close to the first (ranker probability)
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
