"""Hybrid retrieval: dense (FAISS) and keyword (BM25) signals fused into one ranking.

Four signals per chunk: BM25 over its heading (a Q&A question, or title + heading), BM25
over its whole text, and cosine similarity to its heading vector and to its full-text
vector. Each is min-max normalised per query over its top candidates and the fused score
is their weighted sum. Unlike reciprocal-rank fusion this keeps how far ahead a leader is;
on the Chinese patient set it beat naive RRF clearly (docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from bot.embedding import Embedder
from bot.index import SearchIndex
from bot.language import has_cjk, keyword_tokens
from bot.limits import LIMITS
from bot.models import Chunk, section_key

Mode = Literal["hybrid", "dense", "keyword", "rrf"]


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    chunk_position: int  # row of the chunk in the index
    score: float  # fused ranking score
    dense: float  # best cosine between the query and the chunk's vectors
    keyword: float  # BM25 score over the whole chunk (0: no shared term)
    # The fused score's four parts, each scaled to the query's best (0-1): keywords in the
    # heading, in the text; cosine to the heading, to the text.
    parts: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class FusionParams:
    """Weights chosen on half of the Chinese patient dev queries and checked on the other
    half (bench/zh_retrieval.py reports both halves)."""

    heading_keyword: float = 1.0
    body_keyword: float = 1.0
    heading_dense: float = 1.0
    body_dense: float = 0.5
    candidates: int = 100
    rrf_k: int = 60


@dataclass
class _Signals:
    heading_keyword: np.ndarray
    body_keyword: np.ndarray
    heading_dense: np.ndarray
    body_dense: np.ndarray

    @property
    def dense(self) -> np.ndarray:
        return np.maximum(self.heading_dense, self.body_dense)


class Retriever:
    def __init__(self, index: SearchIndex, embedder: Embedder,
                 params: FusionParams = FusionParams()) -> None:
        if index.manifest.model_id != embedder.model_id:
            raise ValueError(f"index was built with {index.manifest.model_id}, "
                             f"not {embedder.model_id}: rebuild it")
        self.index = index
        self.embedder = embedder
        self.params = params
        chinese = np.array([c.lang == "zh" for c in index.chunks], dtype=bool)
        self._language_masks = (chinese, ~chinese)
        self.languages = {c.lang for c in index.chunks}
        self._kind_rows: dict[int, np.ndarray] = {}
        self._sections_by_key: dict[str, int] | None = None
        self._clipped: dict[str, str] = {}  # heading or title -> what the model reads of it

    def embed_query(self, query: str, max_tokens: int = LIMITS.query_tokens) -> np.ndarray:
        """The query's vector, of its first `max_tokens` tokens (bot.limits)."""
        return self.embedder.embed_queries([self.embedder.clip_query(query, max_tokens)])[0]

    def search(self, query: str, k: int = 10, mode: Mode = "hybrid",
               query_vector: np.ndarray | None = None, per_language: int = 0,
               include: list[int] | None = None, translated: str = "",
               translated_vector: np.ndarray | None = None, sections: int = 0,
               limit: int = 0) -> list[Hit]:
        """Top `k` chunks by fused score; with `per_language`, followed by the best chunks
        of each corpus language by dense similarity alone, then by the chunks in `include`,
        each listed once; with `sections`, the other chunks of the first `sections` articles
        listed; at most `limit` chunks in all (0: no limit).

        `translated`: the question's terms in the other language (bot.lexicon), searched
        as keywords too, so keywords match across languages; `translated_vector`: its
        vector, which stands for the question against chunks of the other language where
        it scores higher (e5 ranks a question's own language first)."""
        if not query.strip():
            return []
        signals = self._signals(query, mode, query_vector, translated, translated_vector)
        fused, parts = self._fuse(signals, mode)
        dense = signals.dense
        top = pool_candidates(fused, dense if mode != "keyword" else None,
                              self._language_masks, self.index.section_of,
                              self.index.section_members, k, per_language, include or [],
                              sections, limit)
        floor = float(np.min(fused[np.isfinite(fused)])) if np.isfinite(fused).any() else 0.0
        return [Hit(self.index.chunks[i], i, float(fused[i]) if np.isfinite(fused[i]) else floor,
                    float(dense[i]), float(signals.body_keyword[i]),
                    tuple(float(part[i]) for part in parts)) for i in top]

    def _signals(self, query: str, mode: Mode, query_vector: np.ndarray | None,
                 translated: str, translated_vector: np.ndarray | None) -> _Signals:
        """Every chunk's keyword scores (heading, body) and cosines (heading, body)."""
        n = len(self.index.chunks)
        none = np.full(n, -1.0, dtype=np.float32)
        zeros = np.zeros(n, dtype=np.float32)
        signals = _Signals(zeros, zeros, none, none)
        if mode != "keyword":
            vector = self.embed_query(query) if query_vector is None else query_vector
            signals.heading_dense, signals.body_dense = self._dense_scores(vector)
            if translated_vector is not None:
                other = self._language_masks[0] if not has_cjk(query) else self._language_masks[1]
                heading, body = self._dense_scores(translated_vector)
                signals.heading_dense = np.where(other, np.maximum(heading, signals.heading_dense),
                                                 signals.heading_dense)
                signals.body_dense = np.where(other, np.maximum(body, signals.body_dense),
                                              signals.body_dense)
        if mode != "dense":
            clip = LIMITS.keyword_chars
            tokens = keyword_tokens(query[:clip]) + keyword_tokens(translated[:clip])
            if len(tokens) > LIMITS.keyword_tokens:  # a long message: its distinct tokens
                tokens = list(dict.fromkeys(tokens))[:LIMITS.keyword_tokens]
            signals.heading_keyword = _bm25(self.index.heading_keywords, tokens, n)
            signals.body_keyword = _bm25(self.index.keywords, tokens, n)
        return signals

    def unit_similarities(self, position: int, vector: np.ndarray) -> dict[int, float]:
        """Cosine of each sentence (quote unit) of a page chunk to `vector`:
        {unit index in quote_units(chunk): cosine}; empty for Q&A entries."""
        rows = self.index.sentence_ranges.get(position)
        if rows is None:
            return {}
        start, end = rows
        scores = self.index.sentence_vectors[start:end] @ vector
        return {int(u): float(c) for u, c in zip(self.index.sentence_rows[start:end, 1], scores,
                                                  strict=True)}

    def section_positions(self, key: str, limit: int = 24) -> list[int]:
        """The chunk positions of a titled section (bot.models.section_key), at most
        `limit`."""
        if self._sections_by_key is None:
            by_key: dict[str, int] = {}
            for position, chunk in enumerate(self.index.chunks):
                by_key.setdefault(section_key(chunk.doc_id, chunk.title),
                                  self.index.section_of[position])
            self._sections_by_key = by_key
        section = self._sections_by_key.get(key)
        return [] if section is None else self.index.section_members[section][:limit]

    def heading_vector(self, position: int) -> np.ndarray | None:
        """A vector of what the chunk's section is about: a Q&A entry's question, a page's
        section heading (else its title), embedded as a question is, once per heading;
        None for a chunk with neither."""
        chunk = self.index.chunks[position]
        if chunk.kind == "qa":  # its question's vector is in the index already
            row = int(self._rows_of(0)[position])
            if row >= 0:
                return self.index.vectors.reconstruct(row)
        return self._short_text_vector(chunk.heading or chunk.title)

    def title_vector(self, position: int) -> np.ndarray | None:
        """A vector of what the chunk's document is about (its title; a Q&A entry's
        question when it has no title of its own)."""
        chunk = self.index.chunks[position]
        if chunk.kind == "qa" and (not chunk.title or chunk.title == chunk.question):
            return self.heading_vector(position)
        return self._short_text_vector(chunk.title)

    def _short_text_vector(self, text: str) -> np.ndarray | None:
        """A heading or title as a question is embedded (the embedder's memo keeps the
        recent ones: each is encoded once while it keeps coming up). Its clipped form is
        kept: tokenising every candidate's heading and title again cost more than the rest
        of the answer path (headings and titles are the index's own: a bounded set)."""
        if not text:
            return None
        clipped = self._clipped.get(text)
        if clipped is None:
            clipped = self._clipped[text] = self.embedder.clip_query(text, LIMITS.second_tokens)
        return self.embedder.embed_queries([clipped])[0]

    def passage_vector(self, position: int, units: set[int]) -> np.ndarray | None:
        """A vector for a quote: the mean of its sentences' vectors (a page chunk), or the
        chunk's full-text vector (a Q&A entry, quoted from its opening)."""
        rows = self.index.sentence_ranges.get(position)
        if rows is not None:
            start, end = rows
            picked = [r for r in range(start, end) if int(self.index.sentence_rows[r, 1]) in units]
            if picked:
                return self.index.sentence_vectors[picked].mean(axis=0)
        row = int(self._rows_of(1)[position])
        return None if row < 0 else self.index.vectors.reconstruct(row)

    def _rows_of(self, kind: int) -> np.ndarray:
        """Per chunk, its vector row of `kind` (0 heading, 1 full text), -1 if none."""
        rows = self._kind_rows.get(kind)
        if rows is None:
            rows = np.full(len(self.index.chunks), -1, dtype=np.int64)
            picked = np.flatnonzero(self.index.vector_kinds == kind)[::-1]  # first one wins
            rows[self.index.vector_rows[picked]] = picked
            self._kind_rows[kind] = rows
        return rows

    def _dense_scores(self, vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per chunk, the cosine to its heading vector and to its full-text vector (a chunk
        with one vector gets it in both); -1 where the chunk was not among the candidates."""
        n = len(self.index.chunks)
        depth = min(self.index.vectors.ntotal, self.params.candidates * 2)
        scores, ids = self.index.vectors.search(vector.reshape(1, -1).astype(np.float32), depth)
        valid = ids[0] >= 0
        rows, scores = ids[0][valid], scores[0][valid]
        chunk_ids, kinds = self.index.vector_rows[rows], self.index.vector_kinds[rows]
        heading = np.full(n, -1.0, dtype=np.float32)
        body = np.full(n, -1.0, dtype=np.float32)
        np.maximum.at(body, chunk_ids[kinds == 1], scores[kinds == 1])
        np.maximum.at(heading, chunk_ids[kinds == 0], scores[kinds == 0])
        has_heading = np.zeros(n, dtype=bool)
        has_heading[self.index.vector_rows[self.index.vector_kinds == 0]] = True
        heading = np.where(has_heading, heading, body)
        return heading, body

    def _fuse(self, s: _Signals, mode: Mode) -> tuple[np.ndarray, list[np.ndarray]]:
        """The fused score per chunk (-inf: not a candidate) and, for hybrid, its four
        scaled parts per chunk."""
        n = len(s.dense)
        parts = [np.zeros(n, dtype=np.float32) for _ in range(4)]
        if mode == "dense":
            return np.where(s.dense > -1, s.dense, -np.inf), parts
        if mode == "keyword":
            return np.where(s.body_keyword > 0, s.body_keyword, -np.inf), parts
        depth = self.params.candidates
        dense_top = _top(s.dense, depth, above=-1)
        keyword_top = _top(s.body_keyword + s.heading_keyword, depth, above=0)
        fused = np.full(n, -np.inf, dtype=np.float32)
        candidates = np.union1d(dense_top, keyword_top)
        if mode == "rrf":
            fused[candidates] = 0.0
            for ranked in (dense_top, keyword_top):
                fused[ranked] += 1.0 / (self.params.rrf_k + 1 + np.arange(len(ranked)))
            return fused, parts
        p = self.params
        total = np.zeros(len(candidates), dtype=np.float32)
        # (weight, scores, floor in a corpus of fewer than `depth` chunks: keywords none)
        for part, (weight, scores, few_floor) in zip(parts, (
                (p.heading_keyword, s.heading_keyword, 0.0),
                (p.body_keyword, s.body_keyword, 0.0),
                (p.heading_dense, s.heading_dense, None),
                (p.body_dense, s.body_dense, None)), strict=True):
            scaled = _min_max(scores, candidates, depth, few_floor)
            part[candidates] = scaled
            total += weight * scaled
        fused[candidates] = total
        return fused, parts


def pool_candidates(fused: np.ndarray, dense: np.ndarray | None,
                    language_masks: Sequence[np.ndarray], section_of: Sequence[int],
                    section_members: Sequence[Sequence[int]], k: int, per_language: int = 0,
                    include: Sequence[int] = (), sections: int = 0, limit: int = 0
                    ) -> list[int]:
    """Which chunks become candidates, in order: the top `k` by fused score; then the best
    `per_language` of each corpus language by cosine alone (`dense`; None: no cosines);
    then the chunks in `include`; then the other chunks of the first `sections` articles
    listed and of the best article of each language; each once, at most `limit` (0: no
    limit)."""
    top = [int(i) for i in np.argsort(-fused, kind="stable")[:k] if np.isfinite(fused[i])]
    if per_language and dense is not None:
        listed = set(top)
        for mask in language_masks:
            ranked = np.argsort(-np.where(mask, dense, -np.inf))[:per_language]
            top += [int(i) for i in ranked if dense[i] > -1 and int(i) not in listed]
            listed.update(int(i) for i in ranked)
    for position in include:
        if position not in top:
            top.append(position)
    if sections:
        best = list(dict.fromkeys(section_of[i] for i in top))[:sections]
        for mask in language_masks:
            ranked = [i for i in top if mask[i]]
            if ranked and section_of[ranked[0]] not in best:
                best.append(section_of[ranked[0]])
        listed = set(top)
        for section in best:
            top += [m for m in section_members[section] if m not in listed]
    return top[:limit] if limit else top


def _bm25(model, tokens: list[str], n: int) -> np.ndarray:
    if not tokens:
        return np.zeros(n, dtype=np.float32)
    return np.asarray(model.get_scores(tokens), dtype=np.float32)


def _top(scores: np.ndarray, depth: int, above: float) -> np.ndarray:
    order = np.argsort(-scores)[:depth]
    return order[scores[order] > above]


def _min_max(scores: np.ndarray, candidates: np.ndarray, depth: int,
             few_floor: float | None = None) -> np.ndarray:
    """Scale so the best chunk is 1 and the depth-th best is 0 (clipped). A corpus of at
    most `depth` chunks has no depth-th best: there the floor is `few_floor` (no keyword
    match at all; a cosine 0.1 below the best), so one or two chunks are not scaled to
    nothing."""
    ranked = np.sort(scores)[::-1]
    top = float(ranked[0])
    floor = float(ranked[min(depth, len(ranked) - 1)])
    if len(ranked) <= depth:
        floor = min(floor, top - 0.1 if few_floor is None else few_floor)
    if top <= floor:
        return np.zeros(len(candidates), dtype=np.float32)
    return np.clip((scores[candidates] - floor) / (top - floor), 0.0, 1.0)
