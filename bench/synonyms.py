"""Do synonym groups help, and not hurt (issue 12)? The same questions with and without an
operator's list of groups (bench/data/synonyms.csv: everyday domain synonyms a clinic would
enter, written from general knowledge, not from the test questions): the seed dev
questions and our own held-out ones through `Bot.ask`, and the Chinese patient set's
Recall@1 in the bot's order (bot.ranking.assess).

Usage: python bench/synonyms.py [--limit N] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from common import CACHE, ROOT, SHARED, patient_corpus, report

from bot.cleaning import normalize_text
from bot.config import Settings
from bot.core import Bot
from bot.evaluation import evaluate_item, load_questions
from bot.ranking import assess
from bot.synonyms import SYNONYMS_FILE

GROUPS = ROOT / "bench" / "data" / "synonyms.csv"
QUESTIONS = SHARED / "eval" / "seed_dev_questions.jsonl"
HOLDOUT = ROOT / "bench" / "data" / "holdout_questions.jsonl"
ZH = SHARED / "datasets" / "zh-medical-dialogue"


def bot_over(corpus_files: Path, name: str, with_synonyms: bool) -> Bot:
    corpus = CACHE / f"synonyms-{name}-{'on' if with_synonyms else 'off'}"
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.copytree(corpus_files, corpus)
    if with_synonyms:
        shutil.copyfile(GROUPS, corpus / SYNONYMS_FILE)
    return Bot.load(settings=Settings(corpus_dir=corpus, index_dir=corpus.with_suffix(".idx"),
                                      cache_dir=CACHE))


def seed_rates(bot: Bot) -> tuple[int, int, int, int]:
    dev = [evaluate_item(bot, item) for item in load_questions(QUESTIONS)]
    own = [evaluate_item(bot, item) for item in load_questions(HOLDOUT)]
    return sum(r.passed for r in dev), len(dev), sum(r.passed for r in own), len(own)


def zh_recall(bot: Bot, limit: int) -> tuple[float, int]:
    titles = {c.doc_id: c.title for c in bot.retriever.index.chunks}
    queries = [json.loads(line) for line in
               (ZH / "dev_queries.jsonl").read_text("utf-8").splitlines()]
    queries = queries[:limit] if limit else queries
    hits = 0
    for q in queries:
        gold = normalize_text(q["gold_title"])
        first = assess(bot.retriever, q["query"], "zh").candidates[:1]
        hits += bool(first) and titles[first[0].hit.chunk.doc_id] == gold
    return hits / len(queries), len(queries)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    zh_files = patient_corpus(CACHE / "synonyms-zh-files")
    rows = []
    for on in (False, True):
        dev, dev_n, own, own_n = seed_rates(bot_over(ROOT / "corpus", "seed", on))
        recall, n = zh_recall(bot_over(zh_files, "zh", on), args.limit)
        rows.append(f"| {'with' if on else 'without'} the groups | {dev}/{dev_n} | "
                    f"{own}/{own_n} | {recall:.3f} |")
    groups = len(GROUPS.read_text("utf-8").splitlines())
    body = (f"{groups} synonym groups (`bench/data/synonyms.csv`), the same questions "
            f"with and without them. Chinese patient set: {n} dev queries, Recall@1 of "
            f"the first candidate in the bot's order.\n\n"
            "| | seed dev passed | own held-out passed | zh patient set R@1 |\n"
            "|---|---|---|---|\n" + "\n".join(rows))
    report("synonyms", body, args.no_write)


if __name__ == "__main__":
    main()
