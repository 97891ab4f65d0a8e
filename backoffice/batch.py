"""Batch tests: a file of questions with what is expected (the `faqbot eval` and
shared/eval format, JSONL or CSV: a passage fragment, a document, or answer / fallback /
urgent) runs in the background as a job; the results say pass or fail per line, what
changed since the previous run, and export as CSV. The questions are asked of a bot that
shares the live index but keeps no conversation log and no sessions."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select, update

from backoffice.database import Database, batch_runs
from backoffice.jobs import Job, JobKind, JobQueue
from bot.errors import InputError
from bot.evaluation import evaluate_item, parse_questions


@dataclass(frozen=True)
class BatchRun:
    id: int
    job_id: int
    name: str
    total: int
    passed: int | None
    created_by: str
    created_at: datetime
    results: list[dict] | None  # per line: id, question, expect, kind, passed, why, change


class BatchStore:
    def __init__(self, database: Database) -> None:
        self.engine = database.engine
        self.queue = JobQueue(database)

    def create(self, name: str, text: str, username: str) -> BatchRun:
        """Check the file (InputError naming the bad line) and queue its run."""
        items = parse_questions(text, name)
        job = self.queue.enqueue(username, kind=JobKind.BATCH)
        with self.engine.begin() as conn:
            new_id = conn.execute(insert(batch_runs).values(
                job_id=job.id, name=name[:255], items=json.dumps(items, ensure_ascii=False),
                total=len(items), created_by=username,
                created_at=datetime.now(UTC))).inserted_primary_key[0]
        return self.get(int(new_id))

    def run(self, job: Job, bot) -> None:
        """Answer each question (progress reported on the job) and keep the results,
        with each line's change against the previous run of a file of the same name."""
        with self.engine.connect() as conn:
            row = conn.execute(select(batch_runs).where(batch_runs.c.job_id == job.id)).first()
        if row is None:
            return
        items = json.loads(row.items)
        previous = self._previous(row.name, row.id)
        results = []
        for done, item in enumerate(items, start=1):
            result = asdict(evaluate_item(bot, item))
            result["question"] = " / ".join(item.get("turns") or [item["question"]])
            result["change"] = _change(previous.get(result["id"]), result["passed"])
            results.append(result)
            if done % 10 == 0 or done == len(items):
                self.queue.progress(job.id, "asking", done, len(items))
        with self.engine.begin() as conn:
            conn.execute(update(batch_runs).where(batch_runs.c.id == row.id).values(
                results=json.dumps(results, ensure_ascii=False),
                passed=sum(r["passed"] for r in results)))

    def get(self, run_id: int) -> BatchRun:
        with self.engine.connect() as conn:
            row = conn.execute(select(batch_runs).where(batch_runs.c.id == run_id)).first()
        if row is None:
            raise InputError(f"no batch run #{run_id}")
        return _run(row)

    def recent(self, limit: int = 30) -> list[BatchRun]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(batch_runs).order_by(batch_runs.c.id.desc())
                                .limit(limit))
            return [_run(row, with_results=False) for row in rows]

    def export_csv(self, run_id: int) -> str:
        run = self.get(run_id)
        out = io.StringIO()
        writer = csv.writer(out)
        columns = ["id", "question", "lang", "expect", "kind", "passed", "change", "why"]
        writer.writerow(columns)
        for result in run.results or []:
            writer.writerow([result.get(c, "") for c in columns])
        return out.getvalue()

    def _previous(self, name: str, before_id: int) -> dict[str, bool]:
        with self.engine.connect() as conn:
            row = conn.execute(select(batch_runs.c.results).where(
                batch_runs.c.name == name, batch_runs.c.id < before_id,
                batch_runs.c.results.is_not(None)).order_by(batch_runs.c.id.desc())
                .limit(1)).first()
        if row is None:
            return {}
        return {r["id"]: bool(r["passed"]) for r in json.loads(row.results)}


def _change(before: bool | None, passed: bool) -> str:
    """A line's result against the previous run's."""
    if before is None:
        return "new"
    return "" if before == passed else "now passes" if passed else "now fails"


def _run(row, with_results: bool = True) -> BatchRun:
    results = json.loads(row.results) if with_results and row.results else None
    return BatchRun(row.id, row.job_id, row.name, row.total, row.passed, row.created_by,
                    row.created_at, results)
