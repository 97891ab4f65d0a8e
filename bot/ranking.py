"""From a question to candidate passages, each with its signals and confidence, best first.

0. The question's pinyin-keyboard slips put right to the corpus's words (bot.lexicon).
1. Terms: the question's key terms (bot.coverage), with their translations into the
   corpus's other language (bot.lexicon). The translated terms are searched as keywords
   too and, as a short text, embedded once more: against chunks of the other language the
   better of the two vectors counts (e5 favours a question's own language).
2. Pool: the best chunks by fused score, the best chunks of each language by dense score,
   and the other chunks of the best articles, so the paragraph that answers can win.
3. Quote: in each candidate, the sentence that best covers the question's terms and is
   closest to it, grown by relevant neighbours (answer.quote_span).
4. Signals (bot.confidence describes them), the learned ranker's order and the learned
   decision's probability that the first candidate answers (bot.decision).

At most two query encodings per new question (the question and its translation; for a
follow-up, the question with its context and the latest message), each of a bounded number
of tokens, and at most so many terms (bot.limits); page headings and titles are encoded once
per process, when first met (bot.retrieval.Retriever.heading_vector). In a conversation, a
message that would fall back alone is assessed once more with the question before it
(bot.core.Bot._read).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bot import answer, intent
from bot.chunking import quote_units
from bot.confidence import SCORING, Scoring
from bot.coverage import QueryTerm, covered, question_terms, translate
from bot.decision import AnswerModel, load_model, logistic, question_features, relative
from bot.language import has_cjk, is_word
from bot.limits import LIMITS
from bot.models import Lang, section_key
from bot.retrieval import Hit, Retriever


@dataclass(frozen=True)
class Candidate:
    hit: Hit
    span: tuple[int, int]  # the quote, as offsets into hit.chunk.text
    features: dict[str, float]
    confidence: float  # the ranker's score as a probability (further quotes are near it)
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
    answer: float = 0.0  # the decision: probability that the first candidate answers
    decision_features: dict[str, float] | None = None


def assess(retriever: Retriever, text: str, lang: Lang, focus: str | None = None,
           scoring: Scoring = SCORING, include: list[int] | None = None,
           model: AnswerModel | None = None, previous_docs: tuple[str, ...] = ()
           ) -> Assessment:
    """`text`: what is searched (a follow-up with its context); `focus`: a follow-up's
    latest message, which decides which sentence answers; `include`: chunk positions that
    must be among the candidates (an operator's phrasing names one); `previous_docs`: a
    follow-up's sections quoted before (bot.models.section_key; a follow-up is most often
    about them)."""
    index = retriever.index
    text = index.lexicon.correct(text, is_word)
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
    # A follow-up: the sections talked about are among the candidates, whole.
    include = [*(include or []), *(p for key in previous_docs
                                   for p in retriever.section_positions(key))]
    hits = retriever.search(text, k=scoring.pool_top, query_vector=vector,
                            per_language=scoring.pool_per_language, include=include,
                            translated=translated,
                            translated_vector=other_vector, sections=scoring.pool_sections,
                            limit=scoring.pool_max)
    asks = intent.of_question(sentence_vector)
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
        span_units = {i for i, (a, b) in enumerate(units) if a >= span[0] and b <= span[1]}
        in_span = [sims[i] for i in span_units if i in sims]
        tells = retriever.passage_vector(hit.chunk_position, span_units)
        heading = retriever.heading_vector(hit.chunk_position)
        title = retriever.title_vector(hit.chunk_position)
        features = {
            "section_coverage": float(weights[in_section & topic].sum()) / topic_total,
            "passage_coverage": float(weights[in_quote].sum()) / total,
            "missing": float(max((w for w, ok, t in zip(weights, in_section, topic, strict=True)
                                  if t and not ok), default=0.0)),
            "fused": hit.score,
            "dense": max(hit.dense, 0.0),
            "sentence": max(in_span, default=max(hit.dense, 0.0)),
            "intent": 0.0 if tells is None else intent.agreement(asks,
                                                                 intent.of_passage(tells)),
            "previous_doc": float(section_key(chunk.doc_id, chunk.title) in previous_docs),
            "page": float(chunk.kind != "qa"),
            "heading_intent": 0.0 if heading is None else intent.agreement(
                asks, intent.of_question(heading)),
            "heading_cos": 0.0 if heading is None else float(sentence_vector @ heading),
            "title_cos": 0.0 if title is None else max(
                float(vector @ title), float(other_vector @ title)
                if cross and other_vector is not None else -1.0),
            **dict(zip(("heading_keyword", "body_keyword", "heading_dense", "body_dense"),
                       hit.parts, strict=True)),
        }
        candidates.append(Candidate(hit, span, features, 0.0,
                                    tuple(q.term.key for q, ok in zip(terms, in_quote,
                                                                      strict=True) if ok)))
    return finish(Assessment(terms, weights, translated, candidates), lang,
                  [index.section_of[c.hit.chunk_position] for c in candidates],
                  int(topic.sum()), model or load_model())


def finish(assessment: Assessment, lang: Lang, sections: list[int], topic_terms: int,
           model: AnswerModel) -> Assessment:
    """The candidates' relative signals (bot.decision.relative), the ranker's order and the
    decision (bench/calibrate.py computes the same from the candidates' signals)."""
    candidates = assessment.candidates
    features = relative([c.features for c in candidates], [c.hit.chunk.lang for c in candidates],
                        lang)
    scores = [model.rank_score(f) for f in features]
    order = sorted(range(len(candidates)), key=lambda i: (-scores[i], -candidates[i].hit.score))
    ranked = [Candidate(candidates[i].hit, candidates[i].span, features[i],
                        logistic(scores[i]), candidates[i].covered) for i in order]
    decided = question_features([features[i] for i in order], [scores[i] for i in order],
                                [sections[i] for i in order], lang, topic_terms)
    answer = model.answer_probability(decided) if decided else 0.0
    return Assessment(assessment.terms, assessment.weights, assessment.translated, ranked,
                      answer, decided)


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
