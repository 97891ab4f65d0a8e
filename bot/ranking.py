"""From a question to candidate passages, each with its signals and confidence, best first.

1. Terms: the question's key terms (bot.coverage), with their translations into the
   corpus's other language (bot.lexicon). The translated terms are searched as keywords
   too and, as a short text, embedded once more: against chunks of the other language the
   better of the two vectors counts (e5 favours a question's own language).
2. Pool: the best chunks by fused score, the best chunks of each language by dense score,
   and the other chunks of the best articles, so the paragraph that answers can win.
3. Quote: in each candidate, the sentence that best covers the question's terms and is
   closest to it, grown by relevant neighbours (answer.quote_span).
4. Signals and confidence (bot.confidence); candidates sorted by confidence.

At most two query encodings per new question (the question and its translation; for a
follow-up, the question with its context and the latest message instead), each of a
bounded number of tokens, and at most so many terms (bot.limits).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bot import answer
from bot.chunking import quote_units
from bot.confidence import SCORING, Scoring, confidence_of
from bot.coverage import QueryTerm, covered, question_terms, translate
from bot.language import has_cjk
from bot.limits import LIMITS
from bot.models import Lang
from bot.retrieval import Hit, Retriever


@dataclass(frozen=True)
class Candidate:
    hit: Hit
    span: tuple[int, int]  # the quote, as offsets into hit.chunk.text
    features: dict[str, float]
    confidence: float
    covered: tuple[str, ...]  # question terms the quote covers

    @property
    def quote(self) -> str:
        return self.hit.chunk.text[self.span[0]:self.span[1]].strip()


@dataclass(frozen=True)
class Assessment:
    terms: list[QueryTerm]
    weights: np.ndarray  # per term (the latest message of a follow-up counts more)
    translated: str  # the question's terms in the other language
    candidates: list[Candidate]  # best first


def assess(retriever: Retriever, text: str, lang: Lang, focus: str | None = None,
           scoring: Scoring = SCORING, include: list[int] | None = None) -> Assessment:
    """`text`: what is searched (a follow-up with its context); `focus`: a follow-up's
    latest message, which decides which sentence answers; `include`: chunk positions that
    must be among the candidates (an operator's phrasing names one)."""
    index = retriever.index
    terms = index.synonyms.expand(text, translate(question_terms(text), index.lexicon),
                                  index.mentions)
    focus_text = (focus or "").lower()
    weights = np.array([q.term.weight * (scoring.follow_up_focus
                                         if focus and q.term.key in focus_text else 1.0)
                        for q in terms], dtype=np.float32)
    translated = translation_text(terms)
    has_other = retriever.languages != {lang}
    vector = retriever.embed_query(text)
    other_vector = None
    if focus:
        sentence_vector = retriever.embed_query(focus, LIMITS.second_tokens)
    else:
        sentence_vector = vector
        if translated and has_other:
            other_vector = retriever.embed_query(translated, LIMITS.second_tokens)
    hits = retriever.search(text, k=scoring.pool_top, query_vector=vector,
                            per_language=scoring.pool_per_language, include=include,
                            translated=translated,
                            translated_vector=other_vector, sections=scoring.pool_sections,
                            limit=scoring.pool_max)
    total = float(weights.sum()) or 1.0
    topic = np.array([not q.term.intent for q in terms], dtype=bool)
    topic_total = float(weights[topic].sum()) or 1.0
    section_cover: dict[int, np.ndarray] = {}
    candidates = []
    for hit in hits:
        chunk = hit.chunk
        cross = chunk.lang != lang
        sims = retriever.unit_similarities(hit.chunk_position, sentence_vector)
        if cross and other_vector is not None:
            for unit, value in retriever.unit_similarities(hit.chunk_position,
                                                           other_vector).items():
                sims[unit] = max(sims[unit], value)
        units = quote_units(chunk)
        unit_scores = _unit_scores(chunk.text, units, sims, terms, weights, total, hit.dense,
                                   scoring)
        span = answer.quote_span(chunk, units, unit_scores, scoring.quote_neighbour,
                                 scoring.quote_min_chars)
        section = index.section_of[hit.chunk_position]
        if section not in section_cover:
            section_cover[section] = covered(terms, index.section_texts[section])
        in_section = section_cover[section]
        quote = chunk.text[span[0]:span[1]]
        in_quote = covered(terms, f"{chunk.heading_text()}\n{quote}".lower())
        in_span = [sims[i] for i, (a, b) in enumerate(units) if a >= span[0] and b <= span[1]
                   and i in sims]
        features = {
            "section_coverage": float(weights[in_section & topic].sum()) / topic_total,
            "passage_coverage": float(weights[in_quote].sum()) / total,
            "missing": float(max((w for w, ok, t in zip(weights, in_section, topic, strict=True)
                                  if t and not ok), default=0.0)),
            "fused": hit.score,
            "dense": max(hit.dense, 0.0),
            "sentence": max(in_span, default=max(hit.dense, 0.0)),
        }
        candidates.append(Candidate(hit, span, features, 0.0,
                                    tuple(q.term.key for q, ok in zip(terms, in_quote,
                                                                      strict=True) if ok)))
    candidates = _with_dense_gap(candidates, scoring)
    candidates.sort(key=lambda c: (-c.confidence, -c.hit.score))
    return Assessment(terms, weights, translated, candidates)


def _with_dense_gap(candidates: list[Candidate], scoring: Scoring) -> list[Candidate]:
    """Add each candidate's cosine below the best candidate of its own language (e5's
    cosines are comparable within a language, not across), then its confidence."""
    best: dict[str, float] = {}
    for c in candidates:
        best[c.hit.chunk.lang] = max(best.get(c.hit.chunk.lang, 0.0), c.features["dense"])
    out = []
    for c in candidates:
        features = {**c.features, "dense_gap": c.features["dense"] - best[c.hit.chunk.lang]}
        out.append(Candidate(c.hit, c.span, features, confidence_of(features, scoring),
                             c.covered))
    return out


def translation_text(terms: list[QueryTerm]) -> str:
    """The question's terms in the other language, as one short text (the first two
    translations of each term)."""
    words: list[str] = []
    for query_term in terms:
        for translation in query_term.translations[:2]:
            for word in translation:
                if word not in words:
                    words.append(word)
    return ("" if not words else "".join(words) if has_cjk(words[0]) else " ".join(words))


def _unit_scores(text: str, units: list[tuple[int, int]], sims: dict[int, float],
                 terms: list[QueryTerm], weights: np.ndarray, total: float,
                 fallback: float, scoring: Scoring) -> list[float]:
    """How well each sentence answers: the share of question terms it covers and its
    closeness to the question, mixed as `scoring` says."""
    best = max(sims.values(), default=fallback)
    mix = scoring.sentence_terms_share
    scores = []
    for i, (a, b) in enumerate(units):
        share = float(weights[covered(terms, text[a:b].lower())].sum()) / total
        closeness = max(0.0, 1.0 - scoring.sentence_slope * (best - sims.get(i, best)))
        scores.append(mix * share + (1.0 - mix) * closeness)
    return scores
