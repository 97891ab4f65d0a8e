"""Chinese patient-question retrieval: Recall@1/@5 and MRR@10 for keyword, dense, RRF and the
shipped hybrid, on the 400 dev queries over 7,644 entries (shared/datasets/zh-medical-dialogue).

Usage: python bench/zh_retrieval.py [--limit N] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import time

from common import CACHE, SHARED, corpus_retriever, median, patient_corpus, report

from bot.cleaning import normalize_text
from bot.ranking import assess

DATA = SHARED / "datasets" / "zh-medical-dialogue"
MODES = ("keyword", "dense", "rrf", "hybrid")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    retriever = corpus_retriever(patient_corpus(CACHE / "zh-corpus"), CACHE / "zh-index")
    titles = {c.doc_id: c.title for c in retriever.index.chunks}

    lines = (DATA / "dev_queries.jsonl").read_text("utf-8").splitlines()
    queries = [json.loads(line) for line in lines]
    if args.limit:
        queries = queries[: args.limit]
    ranks: dict[str, list[int | None]] = {mode: [] for mode in (*MODES, "answer")}
    timings: dict[str, list[float]] = {mode: [] for mode in (*MODES, "answer")}
    for q in queries:
        vector = retriever.embed_query(q["query"])
        gold = normalize_text(q["gold_title"])  # titles are stored cleaned
        for mode in MODES:
            started = time.perf_counter()
            hits = retriever.search(q["query"], k=10, mode=mode, query_vector=vector)
            timings[mode].append((time.perf_counter() - started) * 1000)
            found = [i for i, h in enumerate(hits) if titles[h.chunk.doc_id] == gold]
            ranks[mode].append(found[0] if found else None)
        # The answer path: the order in which the bot would quote (bot.ranking.assess,
        # query encodings included in its time).
        started = time.perf_counter()
        candidates = assess(retriever, q["query"], "zh").candidates[:10]
        timings["answer"].append((time.perf_counter() - started) * 1000)
        found = [i for i, c in enumerate(candidates) if titles[c.hit.chunk.doc_id] == gold]
        ranks["answer"].append(found[0] if found else None)

    def metrics(values: list[int | None]) -> str:
        n = len(values)
        r1 = sum(r == 0 for r in values) / n
        r5 = sum(r is not None and r < 5 for r in values) / n
        mrr = sum(1 / (r + 1) for r in values if r is not None) / n
        return f"{r1:.3f} | {r5:.3f} | {mrr:.3f}"

    rows = ["| method | Recall@1 | Recall@5 | MRR@10 | search ms (median, excl. query embedding) |",
            "|---|---|---|---|---|"]
    names = {"keyword": "BM25 only (jieba words + bigrams)", "dense": "dense only (e5-small)",
             "rrf": "naive RRF (k=60)", "hybrid": "**shipped hybrid**",
             "answer": "answer path (candidates in the bot's order; time incl. encodings)"}
    for mode in (*MODES, "answer"):
        rows.append(f"| {names[mode]} | {metrics(ranks[mode])} | {median(timings[mode]):.1f} |")
    hybrid = ranks["hybrid"]
    rows += ["", "Shipped hybrid on the two halves (fusion weights were chosen on the even half):",
             "", "| half | Recall@1 | Recall@5 | MRR@10 |", "|---|---|---|---|",
             f"| even queries (tuning) | {metrics(hybrid[0::2])} |",
             f"| odd queries (held out) | {metrics(hybrid[1::2])} |"]
    n = len(queries)
    body = (f"Chinese patient set: {n} dev queries over {len(retriever.index.chunks)} entries "
            f"(a hit on any entry with the gold title counts; titles compared after the same "
            f"text normalisation the corpus gets).\n\n" + "\n".join(rows))
    report("zh-retrieval", body, args.no_write)


if __name__ == "__main__":
    main()
