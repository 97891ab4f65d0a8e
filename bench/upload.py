"""Upload to live (issue 12): the time from an editor's upload to the bot quoting the new
document, through the same code as the console (DocumentStore.add: read and checked;
JobQueue; IndexWorker: export, build, swap): a 20-page Chinese PDF, and MedQuAD's 16,407
Q&A pairs as one Excel file, first with none of its texts embedded before, then again with
100 rows added (only the new passages are embedded).

Usage: python bench/upload.py [--no-write]
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, SHARED, report
from medquad import convert

from backoffice.house import House, open_house
from backoffice.worker import IndexWorker
from bot.config import Settings

sys.path.insert(0, str(ROOT))
from tests import documents  # noqa: E402 - the tests' document makers, on purpose

CHARS_PER_PAGE = 900


def leaflet_pages(pages: int) -> list[list[str]]:
    """Real Chinese medical text (the patient set's answers), about a page of A4 each."""
    with open(SHARED / "datasets" / "zh-medical-dialogue" / "entries.csv",
              encoding="utf-8") as handle:
        answers = [row["answer"] for row in csv.DictReader(handle) if len(row["answer"]) > 80]
    out, at = [], 0
    for _ in range(pages):
        page: list[str] = []
        while sum(map(len, page)) < CHARS_PER_PAGE:
            page.append(answers[at][:300])
            at += 1
        out.append(page)
    return out


def upload_to_live(house: House, path: Path, replacing: int | None = None) -> dict:
    bot = house.bot
    store = house.office.documents
    started = time.perf_counter()
    if replacing is None:
        doc = store.add(path.name, path.read_bytes(), "bench")
    else:
        doc = store.replace(replacing, path.name, path.read_bytes(), "bench")
    checked = time.perf_counter() - started
    house.office.jobs.enqueue("bench")
    job = IndexWorker(bot, house.office).run_once()
    total = time.perf_counter() - started
    manifest = bot.retriever.index.manifest
    live = store.get(doc.id)
    assert job is not None and job.status == "done" and live.status == "live", job
    return {"id": doc.id, "checked": checked, "total": total, "passages": live.passages,
            "embedded": manifest.embedded_now, "chunks": manifest.chunks,
            "build": manifest.build_seconds}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        corpus = tmp_path / "corpus"
        shutil.copytree(ROOT / "corpus", corpus)
        url = f"sqlite:///{tmp_path}/log.sqlite"
        settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index",
                            cache_dir=tmp_path / "cache", database_url=url)  # nothing embedded before
        house = open_house(settings)

        pdf = documents.pdf(tmp_path / "leaflet.pdf", "腰背痛患者教育手册",
                            leaflet_pages(args.pages))
        result = upload_to_live(house, pdf)
        rows.append((f"{args.pages}-page Chinese PDF ({pdf.stat().st_size / 1024:.0f} KB)",
                     result))

        pairs = tmp_path / "medquad.jsonl"
        count = convert(pairs)
        entries = [json.loads(line) for line in pairs.read_text("utf-8").splitlines()]
        table = [["question", "answer", "url"]] + [[e["question"], e["answer"], e["url"]]
                                                  for e in entries[:-100]]
        workbook = documents.xlsx(tmp_path / "medquad.xlsx", {"QA": table})
        result = upload_to_live(house, workbook)
        rows.append((f"MedQuAD as Excel, {len(table) - 1:,} Q&A rows "
                     f"({workbook.stat().st_size / 1e6:.1f} MB), none embedded before",
                     result))
        table += [[e["question"], e["answer"], e["url"]] for e in entries[-100:]]
        larger = documents.xlsx(tmp_path / "medquad.xlsx", {"QA": table})
        result = upload_to_live(house, larger, replacing=result["id"])
        rows.append((f"... replaced by the same file with 100 rows more ({count:,} rows)",
                     result))
        del house
    lines = ["| upload | checked on upload, s | upload to live, s | passages | texts "
             "embedded by the build | build, s |", "|---|---:|---:|---:|---:|---:|"]
    for name, r in rows:
        lines.append(f"| {name} | {r['checked']:.1f} | {r['total']:.1f} | {r['passages']:,} | "
                     f"{r['embedded']:,} | {r['build']:.1f} |")
    body = ("Through the console's code path (`DocumentStore.add` reads and checks the "
            "file; a build job; `IndexWorker.run_once` exports, builds and swaps), on the "
            "seed corpus with an empty embedding cache, one worker, this machine's 2 cores."
            "\n\n" + "\n".join(lines) + "\n\nThe replacement holds the first file's rows "
            "again: their texts come from the embedding cache, so the build embeds only "
            "the 100 new pairs' texts (the rest of the build time is reading, chunking, "
            "BM25 and writing the whole index).")
    report("upload", body, args.no_write)


if __name__ == "__main__":
    main()
