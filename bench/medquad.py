"""MedQuAD (16,407 English NIH Q&A pairs) as a Q&A corpus: index build time, embedding
throughput, peak memory; then English retrieval quality with reworded questions.

The build runs in a child process (`faqbot index`) so its peak RSS is measured alone.
Usage: python bench/medquad.py [--reuse-cache] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from common import CACHE, ROOT, SHARED, report
from defusedxml import ElementTree

DATA = SHARED / "datasets" / "medquad"


def convert(out: Path) -> int:
    """MedQuAD XML -> one .jsonl of Q&A entries (question, answer, id, url)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with open(out, "w", encoding="utf-8") as handle:
        for path in sorted(DATA.glob("*/*.xml")):
            root = ElementTree.parse(path).getroot()
            url = root.get("url", "")
            for pair in root.iter("QAPair"):
                question = (pair.findtext("Question") or "").strip()
                answer = (pair.findtext("Answer") or "").strip()
                node = pair.find("Question")
                qid = node.get("qid") if node is not None else None
                if question and answer:
                    # qids repeat across files of a folder: the file name keeps ids unique
                    handle.write(json.dumps({"id": f"{path.parent.name}/{path.stem}/{qid}",
                                             "question": question, "answer": answer,
                                             "url": url, "lang": "en"}) + "\n")
                    count += 1
    return count


def reworded(question: str) -> str:
    """A visitor's wording of a MedQuAD question (MedQuAD's are templated)."""
    q = re.sub(r"\s+\?$", "?", question)
    rules = [(r"^What is \(are\) (.+)\?$", r"Can you explain \1?"),
             (r"^What are the symptoms of (.+)\?$", r"How do I know if I have \1?"),
             (r"^What are the treatments for (.+)\?$", r"How is \1 treated?"),
             (r"^What causes (.+)\?$", r"Why do people get \1?"),
             (r"^How to diagnose (.+)\?$", r"How do doctors find out about \1?"),
             (r"^Who is at risk for (.+)\?.*$", r"Who is likely to get \1?"),
             (r"^How many people are affected by (.+)\?$", r"How common is \1?"),
             (r"^Is (.+) inherited\?$", r"Can \1 run in families?")]
    for pattern, template in rules:
        if re.match(pattern, q, re.I):
            return re.sub(pattern, template, q, flags=re.I)
    return q


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reuse-cache", action="store_true",
                        help="keep cached vectors (default: a cold build, everything embedded)")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    corpus = CACHE / "medquad-corpus"
    index_dir = CACHE / "medquad-index"
    entries = convert(corpus / "medquad.jsonl")
    if not args.reuse_cache:
        shutil.rmtree(index_dir, ignore_errors=True)
    # Its own cache inside the index dir, so a cold build really embeds everything.
    env = dict(os.environ, FAQBOT_CORPUS_DIR=str(corpus), FAQBOT_INDEX_DIR=str(index_dir))
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "faqbot", "index"], env=env, cwd=ROOT, check=True)
    wall = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    manifest = json.loads((index_dir / "current" / "manifest.json").read_text())

    from bot.config import Settings
    from bot.core import Bot
    from bot.ranking import assess

    bot = Bot.load(settings=Settings(corpus_dir=corpus, index_dir=index_dir))
    chunks = bot.retriever.index.chunks
    random.seed(7)
    sample = random.sample(range(len(chunks)), min(args.queries, len(chunks)))
    r1 = r5 = first = 0
    for i in sample:
        gold = chunks[i]

        def same(chunk, gold=gold) -> bool:
            # Same question text under several ids (MedQuAD repeats pairs across sources).
            return (chunk.question == gold.question and chunk.text[:200] == gold.text[:200]
                    or chunk.chunk_id == gold.chunk_id)

        question = reworded(gold.question or "")
        ok = [same(h.chunk) for h in bot.retriever.search(question, k=5)]
        r1 += bool(ok and ok[0])
        r5 += any(ok)
        candidates = assess(bot.retriever, question, "en").candidates
        first += bool(candidates) and same(candidates[0].hit.chunk)
    n = len(sample)
    texts = manifest["vectors"]
    embedded = manifest["embedded_now"]
    seconds = max(manifest["embed_seconds"], 1e-9)
    texts_per_s = embedded / seconds
    chunks_per_s = texts_per_s * manifest["chunks"] / max(texts, 1)
    body = f"""MedQuAD: {entries} Q&A pairs ingested as Q&A entries (question + answer each).

| figure | value |
|---|---|
| documents / chunks / vectors | {manifest['documents']} / {manifest['chunks']} / {texts} |
| vectors embedded in this build (rest from cache) | {embedded} |
| index build, wall time (`faqbot index`, child process) | {wall:.0f} s |
| of which embedding chunk texts | {manifest['embed_seconds']:.0f} s |
| embedding throughput | {chunks_per_s:.0f} chunks/s ({texts_per_s:.0f} texts/s; a Q&A chunk has 2 texts) |
| corpus words (both languages) kept for the lexicon | {manifest['terms']} |
| peak RSS of the build process | {peak_mb:.0f} MB |
| Recall@1 / Recall@5, {n} reworded questions (hybrid retrieval) | {r1 / n:.3f} / {r5 / n:.3f} |
| Recall@1, same questions, the bot's first candidate (answer path) | {first / n:.3f} |
"""
    report("medquad", body, args.no_write)


if __name__ == "__main__":
    main()
