"""Build, persist and load the search index (FAISS vectors + BM25 keywords + chunks).

Layout of `index_dir`:
    current -> builds/<build id>   symlink, swapped atomically when a build finishes
    builds/<build id>/             manifest.json, chunks.jsonl, vectors.faiss, rows.npy, bm25/,
                                   sentences.npy, lexicon.json
    embedding_cache.sqlite         vectors by (model, text hash), shared by all builds
A build writes into builds/.tmp-*, so a crash mid-build leaves `current` untouched. The
manifest names the corpus a build was made from (its absolute path and fingerprint): an
index is served as it is, and rebuilt only from that corpus.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.chunking import chunk_documents, quote_units
from bot.coverage import passage_terms
from bot.embedding import BULK, Embedder, EmbeddingCache
from bot.errors import IndexStoreError
from bot.guidance import GUIDANCE_FILE, Guidance
from bot.ingest import SUFFIXES, load_corpus
from bot.language import has_cjk, keyword_tokens
from bot.lexicon import Lexicon, cedict, char_readings, dictionary_words_in
from bot.models import Chunk
from bot.synonyms import SYNONYMS_FILE, Synonyms, in_text

log = logging.getLogger(__name__)

# Bump when cleaning/chunking/tokenising changes, so existing indexes count as stale.
PIPELINE_VERSION = "12"


@dataclass(frozen=True)
class Manifest:
    model_id: str
    dim: int
    corpus_fingerprint: str
    pipeline_version: str
    vector_index: str
    documents: int
    chunks: int
    vectors: int
    built_at: str
    build_seconds: float
    embedded_now: int  # chunk vectors computed in this build (the rest came from the cache)
    embed_seconds: float  # time spent embedding chunk texts
    terms: int  # corpus words (both languages) known to the lexicon
    warnings: list[str]
    corpus_dir: str = ""  # absolute path of the corpus the build was made from
    # Indexes built before query-time constants left the fingerprint carry it; unread.
    scoring: str = ""


@dataclass
class SearchIndex:
    """A loaded index: what the retriever queries."""

    manifest: Manifest
    chunks: list[Chunk]
    vectors: Any  # faiss.Index
    vector_rows: np.ndarray  # vector row -> chunk position
    vector_kinds: np.ndarray  # vector row -> 0 heading vector, 1 full-text vector
    sentence_vectors: np.ndarray  # unit vectors of the sentences of page chunks
    sentence_rows: np.ndarray  # sentence row -> (chunk position, unit index in quote_units)
    keywords: Any  # bm25s.BM25 over whole chunks
    heading_keywords: Any  # bm25s.BM25 over questions / titles and headings
    lexicon: Lexicon
    path: Path
    guidance: Guidance = dataclasses.field(default_factory=Guidance)
    synonyms: Synonyms = dataclasses.field(default_factory=Synonyms)
    # Derived from the above when loaded:
    section_of: list[int] = dataclasses.field(init=False)  # chunk -> section number
    section_texts: list[str] = dataclasses.field(init=False)  # lower-cased
    section_members: list[list[int]] = dataclasses.field(init=False)  # section -> chunks
    sentence_ranges: dict[int, tuple[int, int]] = dataclasses.field(init=False)  # sentence rows

    def mentions(self, member: str) -> bool:
        """Does the corpus's text hold `member` (a synonym group's word or phrase)?"""
        found = self._mentions.get(member)
        if found is None:
            found = self._mentions[member] = any(in_text(member, t) for t in self.section_texts)
        return found

    def __post_init__(self) -> None:
        self._mentions: dict[str, bool] = {}
        self.section_of = _sections(self.chunks)
        self.section_texts = _section_texts(self.chunks, self.section_of)
        self.section_members = [[] for _ in self.section_texts]
        for position, section in enumerate(self.section_of):
            self.section_members[section].append(position)
        self.sentence_ranges = {}
        for row, (position, _) in enumerate(self.sentence_rows.tolist()):
            start, _end = self.sentence_ranges.get(position, (row, row))
            self.sentence_ranges[position] = (start, row + 1)


def corpus_fingerprint(corpus_dir: Path) -> str:
    digest = hashlib.sha256(PIPELINE_VERSION.encode())
    for path in sorted(p for p in corpus_dir.rglob("*") if p.is_file()):
        if (path.suffix.lower() in SUFFIXES and not path.name.startswith(".")) or (
                path in (corpus_dir / GUIDANCE_FILE, corpus_dir / SYNONYMS_FILE)):
            digest.update(path.relative_to(corpus_dir).as_posix().encode() + b"\0")
            try:
                digest.update(hashlib.sha256(path.read_bytes()).digest())
            except OSError:
                digest.update(b"unreadable")
    return digest.hexdigest()


def current_path(index_dir: Path) -> Path:
    return index_dir / "current"


def read_manifest(index_dir: Path) -> Manifest | None:
    try:
        data = json.loads((current_path(index_dir) / "manifest.json").read_text("utf-8"))
        return Manifest(**data)
    except (OSError, ValueError, TypeError):
        return None


def is_stale(index_dir: Path, corpus_dir: Path, model_id: str, vector_index: str) -> bool:
    manifest = read_manifest(index_dir)
    return (
        manifest is None
        or manifest.model_id != model_id
        or manifest.vector_index != vector_index
        or manifest.pipeline_version != PIPELINE_VERSION
        or manifest.corpus_fingerprint != corpus_fingerprint(corpus_dir)
    )


def built_from(index_dir: Path) -> Path | None:
    """The corpus directory the live build of `index_dir` was made from (None: no build,
    or one from before builds recorded it)."""
    manifest = read_manifest(index_dir)
    return Path(manifest.corpus_dir) if manifest and manifest.corpus_dir else None


@contextmanager
def _build_lock(index_dir: Path):
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".build.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


Progress = Callable[[str, int, int], None]  # (stage, done, total)


def build_index(
    corpus_dir: Path, index_dir: Path, embedder: Embedder, vector_index: str = "flat",
    cache_path: Path | None = None, progress: Progress | None = None,
) -> Manifest:
    """Ingest, chunk, embed and index `corpus_dir`; swap the result in atomically.
    `progress` hears of each stage: reading, embedding (texts done of those to embed, the
    cached ones counted as done), writing."""
    started = time.perf_counter()
    report_progress = progress or (lambda stage, done, total: None)
    with _build_lock(index_dir):
        builds = _clean_builds(index_dir)
        report_progress("reading", 0, 1)
        fingerprint = corpus_fingerprint(corpus_dir)
        corpus = load_corpus(corpus_dir)
        chunks = chunk_documents(corpus.documents)
        if not chunks:
            raise IndexStoreError(f"no indexable content in {corpus_dir}")
        guidance = Guidance.load(corpus_dir / GUIDANCE_FILE)
        plan = _plan_vectors(chunks, guidance)
        embedded = _embed(plan, chunks, embedder,
                          cache_path or index_dir / "embedding_cache.sqlite", report_progress)
        report_progress("writing", 0, 1)
        lexicon = _lexicon(chunks)
        manifest = Manifest(
            model_id=embedder.model_id,
            dim=int(embedded.vectors.shape[1]),
            corpus_fingerprint=fingerprint,
            pipeline_version=PIPELINE_VERSION,
            vector_index=vector_index,
            documents=len(corpus.documents),
            chunks=len(chunks),
            vectors=int(embedded.vectors.shape[0]),
            built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            build_seconds=0.0,
            embedded_now=embedded.computed,
            embed_seconds=round(embedded.seconds, 2),
            terms=len(lexicon.zh_words) + len(lexicon.en_words),
            warnings=corpus.warnings,
            corpus_dir=str(corpus_dir.resolve()),
        )
        final, manifest = _write_build(
            builds, plan, embedded, chunks, lexicon, guidance,
            Synonyms.load(corpus_dir / SYNONYMS_FILE), vector_index,
            lambda: dataclasses.replace(manifest, build_seconds=round(
                time.perf_counter() - started, 2)))
        _swap_current(index_dir, final)
        _remove_old_builds(builds, keep=final)
    log.info("index built: %d chunks, %d vectors (%d embedded now) in %.1fs",
             manifest.chunks, manifest.vectors, manifest.embedded_now, manifest.build_seconds)
    return manifest


@dataclass(frozen=True)
class _VectorPlan:
    """What a build embeds: per text, its chunk (`rows`) and kind (0: the chunk's "heading"
    vector, a Q&A question or an operator's phrasing; 1: its full text); and the sentences
    of page chunks (their quote units), by (chunk, unit)."""

    texts: list[str]
    rows: list[int]
    kinds: list[int]
    sentence_texts: list[str]
    sentence_rows: list[tuple[int, int]]


@dataclass(frozen=True)
class _Embedded:
    vectors: np.ndarray
    sentence_vectors: np.ndarray
    computed: int  # chunk texts embedded now (the rest came from the cache)
    seconds: float  # embedding the chunk texts


def _clean_builds(index_dir: Path) -> Path:
    """The builds folder, without what an interrupted build left."""
    builds = index_dir / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    for leftover in builds.glob(".tmp-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    return builds


def _plan_vectors(chunks: list[Chunk], guidance: Guidance) -> _VectorPlan:
    texts, rows, kinds = [], [], []
    for position, chunk in enumerate(chunks):
        chunk_texts = chunk.embedding_texts()
        for number, text in enumerate(chunk_texts):
            texts.append(text)
            rows.append(position)
            kinds.append(0 if number == 0 and len(chunk_texts) > 1 else 1)
    for phrasing in guidance.phrasings:  # one more "heading" vector of its chunk
        position = chunk_holding(chunks, phrasing.doc_id, phrasing.quote)
        if position is not None:
            texts.append(phrasing.question)
            rows.append(position)
            kinds.append(0)
    sentence_texts, sentence_rows = [], []
    for position, chunk in enumerate(chunks):
        if chunk.kind == "page":  # Q&A entries are quoted from their opening
            for unit, (a, b) in enumerate(quote_units(chunk)):
                sentence_texts.append(chunk.text[a:b])
                sentence_rows.append((position, unit))
    return _VectorPlan(texts, rows, kinds, sentence_texts, sentence_rows)


def _embed(plan: _VectorPlan, chunks: list[Chunk], embedder: Embedder, cache_path: Path,
           report_progress: Progress) -> _Embedded:
    """The plan's vectors, through the embedding cache. Chunk texts first, with as little
    else in memory as possible: this is the build's memory peak (the torch engine plus its
    batches)."""
    cache = EmbeddingCache(cache_path)
    try:
        embed_started = time.perf_counter()
        # Q&A question + answer vectors are the bulk of a large FAQ corpus: fast path.
        bulk = np.array([k == 1 and chunks[r].kind == "qa"
                         for k, r in zip(plan.kinds, plan.rows, strict=True)])
        vectors = np.zeros((len(plan.texts), embedder.dim), dtype=np.float32)
        embedded_now = 0
        total = len(plan.texts) + len(plan.sentence_texts)
        finished = 0

        def embedding(done: int, _: int) -> None:
            report_progress("embedding", finished + done, total)

        for kind, mask in (("passage", ~bulk), (BULK, bulk)):
            if mask.any():
                part, computed = cache.embed(
                    embedder, [t for t, m in zip(plan.texts, mask, strict=True) if m],
                    kind=kind, progress=embedding)
                vectors[mask] = part
                embedded_now += computed
                finished += int(mask.sum())
        embed_seconds = time.perf_counter() - embed_started
        sentence_vectors, _ = cache.embed(embedder, plan.sentence_texts, progress=embedding)
        report_progress("embedding", total, total)
    finally:
        cache.close()
        release = getattr(embedder, "release_batch_engine", None)
        if release is not None:
            release()
    return _Embedded(vectors, np.asarray(sentence_vectors, dtype=np.float32).reshape(
        -1, vectors.shape[1]), embedded_now, embed_seconds)


def _write_build(builds: Path, plan: _VectorPlan, embedded: _Embedded, chunks: list[Chunk],
                 lexicon: Lexicon, guidance: Guidance, synonyms: Synonyms, vector_index: str,
                 final_manifest: Callable[[], Manifest]) -> tuple[Path, Manifest]:
    """Every file of the build in a hidden folder, the manifest last (`final_manifest()`,
    timed then), renamed into place: the new build's folder and its manifest."""
    build_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    tmp = builds / f".tmp-{build_id}"
    tmp.mkdir()
    _write_vectors(tmp, embedded.vectors, np.asarray(plan.rows, dtype=np.int32), vector_index)
    np.save(tmp / "kinds.npy", np.asarray(plan.kinds, dtype=np.int8))
    np.save(tmp / "sentences.npy", embedded.sentence_vectors)
    np.save(tmp / "sentence_rows.npy",
            np.asarray(plan.sentence_rows, dtype=np.int32).reshape(-1, 2))
    _write_keywords(tmp, chunks)
    lexicon.save(tmp / "lexicon.json")
    guidance.save(tmp / "guidance.json")
    (tmp / "synonyms.csv").write_text(synonyms.to_csv(), "utf-8")
    with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as out:
        for chunk in chunks:
            out.write(json.dumps(dataclasses.asdict(chunk), ensure_ascii=False) + "\n")
    manifest = final_manifest()
    (tmp / "manifest.json").write_text(
        json.dumps(dataclasses.asdict(manifest), ensure_ascii=False, indent=2), "utf-8")
    final = builds / build_id
    tmp.rename(final)
    return final, manifest


def current_build_id(index_dir: Path) -> str | None:
    """The id of the build `index_dir` serves (its folder's name), if there is one."""
    try:
        return current_path(index_dir).resolve(strict=True).name
    except OSError:
        return None


def install_build(index_dir: Path, unpacked: Path, build_id: str) -> Path:
    """Make `unpacked` (a whole build, e.g. fetched from another machine) build `build_id`
    of `index_dir` and serve it: moved into builds/, then swapped in atomically."""
    if not build_id or "/" in build_id or build_id.startswith("."):
        raise IndexStoreError(f"not a build id: {build_id!r}")
    with _build_lock(index_dir):
        builds = index_dir / "builds"
        builds.mkdir(parents=True, exist_ok=True)
        final = builds / build_id
        if final.exists():
            shutil.rmtree(unpacked, ignore_errors=True)
        else:
            unpacked.rename(final)
        _swap_current(index_dir, final)
        _remove_old_builds(builds, keep=final)
    return final


def _write_vectors(path: Path, vectors: np.ndarray, rows: np.ndarray, kind: str) -> None:
    import faiss

    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(vectors.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 64
    else:
        index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    faiss.write_index(index, str(path / "vectors.faiss"))
    np.save(path / "rows.npy", rows)


def _write_keywords(path: Path, chunks: list[Chunk]) -> None:
    import bm25s

    for name, field in (("bm25", Chunk.keyword_text), ("bm25_headings", Chunk.heading_text)):
        corpus_tokens = [keyword_tokens(field(chunk)) or ["∅"] for chunk in chunks]
        retriever = bm25s.BM25(k1=1.2, b=0.75)
        retriever.index(corpus_tokens, show_progress=False)
        retriever.save(str(path / name), show_progress=False)


def _sections(chunks: list[Chunk]) -> list[int]:
    """Section number of each chunk; a section is one titled part of a document."""
    numbers: dict[tuple[str, str], int] = {}
    return [numbers.setdefault((c.doc_id, c.title), len(numbers)) for c in chunks]


def _lexicon(chunks: list[Chunk]) -> Lexicon:
    """CC-CEDICT pruned to the corpus's words (bot.lexicon)."""
    zh_words: set[str] = set()
    en_words: set[str] = set()
    dictionary = cedict()
    for chunk in chunks:
        text = chunk.keyword_text()
        for word in passage_terms(text):
            (zh_words if has_cjk(word) else en_words).add(word)
        zh_words |= dictionary_words_in(text, dictionary)
    return Lexicon.for_corpus(zh_words, en_words, dictionary, char_readings())


def _section_texts(chunks: list[Chunk], section_of: list[int]) -> list[str]:
    """Each section's text (lower-cased): its chunks' texts joined."""
    parts: list[list[str]] = [[] for _ in range(max(section_of, default=-1) + 1)]
    for chunk, section in zip(chunks, section_of, strict=True):
        parts[section].append(chunk.keyword_text())
    return ["\n".join(texts).lower() for texts in parts]


def _swap_current(index_dir: Path, target: Path) -> None:
    link = current_path(index_dir)
    tmp_link = index_dir / f".current-{uuid.uuid4().hex[:8]}"
    os.symlink(os.path.relpath(target, index_dir), tmp_link)
    os.replace(tmp_link, link)  # atomic: readers see the old or the new build, never neither


def _remove_old_builds(builds: Path, keep: Path) -> None:
    """Keep the new build and the one before it (a bot still serving it may have it open)."""
    done = sorted((p for p in builds.iterdir() if p.is_dir() and not p.name.startswith(".")),
                  key=lambda p: p.name)
    for old in done[:-2]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)


def load_index(index_dir: Path) -> SearchIndex:
    import bm25s
    import faiss

    path = current_path(index_dir).resolve()
    manifest = read_manifest(index_dir)
    if manifest is None:
        raise IndexStoreError(f"no built index in {index_dir} (run `faqbot index`)")
    try:
        with open(path / "chunks.jsonl", encoding="utf-8") as handle:
            chunks = [_chunk(json.loads(line)) for line in handle]
        vectors = faiss.read_index(str(path / "vectors.faiss"))
        rows = np.load(path / "rows.npy")
        kinds = np.load(path / "kinds.npy")
        sentences = np.load(path / "sentences.npy")
        sentence_rows = np.load(path / "sentence_rows.npy")
        keywords = bm25s.BM25.load(str(path / "bm25"), show_progress=False)
        heading_keywords = bm25s.BM25.load(str(path / "bm25_headings"), show_progress=False)
        lexicon = Lexicon.load(path / "lexicon.json")
        guidance = Guidance.load(path / "guidance.json")
        synonyms = Synonyms.load(path / "synonyms.csv")
    except (OSError, ValueError, TypeError, RuntimeError) as exc:
        raise IndexStoreError(f"index in {path} is unreadable: {exc}") from exc
    if vectors.ntotal != len(rows) or len(chunks) != manifest.chunks:
        raise IndexStoreError(f"index in {path} is inconsistent; rebuild it")
    return SearchIndex(manifest, chunks, vectors, rows, kinds, sentences, sentence_rows,
                       keywords, heading_keywords, lexicon, path, guidance, synonyms)


def chunk_holding(chunks: list[Chunk], doc_id: str, quote: str) -> int | None:
    """The position of the chunk of `doc_id` holding `quote` (a passage as once quoted),
    if one still does."""
    return next((i for i, c in enumerate(chunks) if c.doc_id == doc_id and quote in c.text),
                None)


def _chunk(fields: dict) -> Chunk:
    fields["pages"] = tuple(tuple(p) for p in fields.get("pages", ()))
    return Chunk(**fields)
