"""Indexing jobs: rows in the database, run by a worker (a thread in the server, or
`faqbot worker`), one build at a time. A running job beats a heartbeat; one whose worker
died (kill -9, a crash) is picked up again by the next worker after `stale_seconds`, or
marked failed after MAX_ATTEMPTS, and can be retried: never "indexing" forever."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import and_, insert, or_, select, update

from backoffice.audit import AuditLog
from backoffice.database import Database, jobs
from bot.errors import InputError

MAX_ATTEMPTS = 3


class JobKind(StrEnum):
    BUILD = "build"  # export the knowledge base and rebuild the index
    BATCH = "batch"  # run a batch test file


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class Job:
    id: int
    kind: JobKind
    status: JobStatus
    done: int
    total: int
    stage: str
    error: str | None
    attempts: int
    worker: str | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    heartbeat_at: datetime | None
    finished_at: datetime | None
    build_id: str | None = None  # the index build a finished build job made

    def __post_init__(self) -> None:  # rows hold the plain strings
        object.__setattr__(self, "kind", JobKind(self.kind))
        object.__setattr__(self, "status", JobStatus(self.status))

    @property
    def progress(self) -> str:
        if self.status == JobStatus.RUNNING and self.total:
            return f"{self.stage} {self.done} of {self.total}"
        return self.stage or self.status


class JobQueue:
    def __init__(self, database: Database, stale_seconds: float = 60.0) -> None:
        self.engine = database.engine
        self.audit = AuditLog(database)
        self.stale = timedelta(seconds=stale_seconds)

    def enqueue(self, username: str, kind: JobKind = JobKind.BUILD) -> Job:
        """A build of everything joins a build already waiting rather than adding one;
        other kinds (a batch test) are a job each."""
        with self.engine.begin() as conn:
            if kind == JobKind.BUILD:
                waiting = conn.execute(select(jobs).where(
                    jobs.c.kind == kind, jobs.c.status == JobStatus.QUEUED)).first()
                if waiting is not None:
                    return Job(**waiting._mapping)
            new_id = conn.execute(insert(jobs).values(
                kind=kind, status=JobStatus.QUEUED, created_by=username,
                created_at=datetime.now(UTC))).inserted_primary_key[0]
            self.audit.record(username, f"{kind}.queue", f"job #{new_id}", None, conn)
        return self.get(int(new_id))

    def claim(self, worker: str) -> Job | None:
        """The oldest queued job, now running on `worker`; None if there is none or a build
        is running (jobs whose worker stopped beating are taken back first)."""
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            self._recover(conn, now)
            running = conn.execute(select(jobs.c.id).where(
                jobs.c.status == JobStatus.RUNNING)).first()
            if running is not None:
                return None
            oldest = conn.execute(select(jobs.c.id).where(jobs.c.status == JobStatus.QUEUED)
                                  .order_by(jobs.c.id).limit(1)).scalar_one_or_none()
            if oldest is None:
                return None
            taken = conn.execute(update(jobs).where(
                jobs.c.id == oldest, jobs.c.status == JobStatus.QUEUED).values(
                status=JobStatus.RUNNING, worker=worker[:64], started_at=now, heartbeat_at=now,
                attempts=jobs.c.attempts + 1, stage="starting", done=0, total=0,
                error=None)).rowcount
        return self.get(oldest) if taken else None

    def progress(self, job_id: int, stage: str, done: int, total: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(
                stage=stage[:200], done=done, total=total, heartbeat_at=datetime.now(UTC)))

    def finish(self, job_id: int, error: str | None = None,
               build_id: str | None = None) -> None:
        """Done (a build job: having made `build_id`), or failed with `error`; queued builds
        that started before this one began are done too (it built what they would have)."""
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            job = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
            ended = "live" if job is not None and job.kind == JobKind.BUILD else "done"
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(
                status=JobStatus.FAILED if error else JobStatus.DONE, error=error, finished_at=now,
                heartbeat_at=now, stage="failed" if error else ended, build_id=build_id))
            if job is not None and not error and job.started_at is not None \
                    and job.kind == JobKind.BUILD:
                conn.execute(update(jobs).where(
                    jobs.c.status == JobStatus.QUEUED, jobs.c.kind == job.kind,
                    jobs.c.created_at <= job.started_at).values(
                    status="done", finished_at=now, stage=f"built by job #{job_id}",
                    build_id=build_id))

    def retry(self, job_id: int, username: str) -> Job:
        with self.engine.begin() as conn:
            done = conn.execute(update(jobs).where(
                jobs.c.id == job_id, jobs.c.status == JobStatus.FAILED).values(
                status=JobStatus.QUEUED, attempts=0, error=None, stage="")).rowcount
            if not done:
                raise InputError(f"job #{job_id} is not a failed job")
            self.audit.record(username, "index.retry", f"job #{job_id}", None, conn)
        return self.get(job_id)

    def get(self, job_id: int) -> Job:
        with self.engine.connect() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
        if row is None:
            raise InputError(f"no job #{job_id}")
        return Job(**row._mapping)

    def recent(self, limit: int = 20) -> list[Job]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(jobs).order_by(jobs.c.id.desc()).limit(limit))
            return [Job(**row._mapping) for row in rows]

    def active(self) -> Job | None:
        """The running build, else the next queued one."""
        with self.engine.connect() as conn:
            busy = jobs.c.status.in_((JobStatus.RUNNING, JobStatus.QUEUED))
            row = conn.execute(select(jobs).where(busy)
                               .order_by(jobs.c.status.desc(), jobs.c.id).limit(1)).first()
        return Job(**row._mapping) if row else None

    def _recover(self, conn, now: datetime) -> None:
        stale = now - self.stale
        dead = and_(jobs.c.status == JobStatus.RUNNING,
                    or_(jobs.c.heartbeat_at.is_(None), jobs.c.heartbeat_at < stale))
        conn.execute(update(jobs).where(dead, jobs.c.attempts >= MAX_ATTEMPTS).values(
            status=JobStatus.FAILED, finished_at=now, stage="failed",
            error=f"its worker stopped {MAX_ATTEMPTS} times (crashed or killed); retry it"))
        conn.execute(update(jobs).where(dead, jobs.c.attempts < MAX_ATTEMPTS).values(
            status=JobStatus.QUEUED, stage="worker stopped; queued again"))
