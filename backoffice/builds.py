"""Index builds published once and fetched by every replica (FAQBOT_BUILDS=shared).

Whoever builds (the indexing worker) publishes each build to the database it shares with
the servers: the build's folder as a gzipped tar, in parts of 4 MB, and one row naming it,
written in one transaction (a half-published build is never seen). Every server keeps its
own index directory (as on separate hosts) at the newest published build: it fetches the
parts one at a time into a file (bounded memory), checks the digest, unpacks into its
builds/ folder and swaps it in; the bot loads it on its next question or within the poll.
A server that starts late, or was down, catches up at start.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import SQLAlchemyError

from backoffice.database import Database, index_build_parts, index_builds
from backoffice.loop import PollingThread
from bot.errors import IndexStoreError
from bot.index import current_build_id, current_path, install_build

log = logging.getLogger(__name__)

PART_BYTES = 4 * 1024 * 1024
KEEP_PUBLISHED = 3  # older published builds are deleted (a fetching replica is never far behind)
_STALE_DOWNLOAD_SECONDS = 600


@dataclass(frozen=True)
class PublishedBuild:
    build_id: str
    created_at: datetime
    size: int
    sha256: str
    parts: int
    published_by: str


class BuildStore:
    def __init__(self, database: Database) -> None:
        self.engine = database.engine

    def latest(self) -> PublishedBuild | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(*_COLUMNS).order_by(index_builds.c.created_at.desc(),
                                                          index_builds.c.build_id.desc())
                               .limit(1)).first()
        return PublishedBuild(**row._mapping) if row else None

    def publish(self, build_dir: Path, by: str) -> PublishedBuild:
        """Publish a finished build (idempotent: a build published already is left)."""
        build_id = build_dir.name
        with self.engine.connect() as conn:
            row = conn.execute(select(*_COLUMNS).where(
                index_builds.c.build_id == build_id)).first()
        if row is not None:
            return PublishedBuild(**row._mapping)
        manifest = (build_dir / "manifest.json").read_text("utf-8")
        with tempfile.TemporaryFile() as archive:
            with tarfile.open(fileobj=archive, mode="w:gz", compresslevel=1) as tar:
                for path in sorted(build_dir.rglob("*")):
                    tar.add(path, arcname=path.relative_to(build_dir).as_posix(),
                            recursive=False)
            size = archive.tell()
            archive.seek(0)
            digest = hashlib.sha256()
            parts = 0
            with self.engine.begin() as conn:
                while chunk := archive.read(PART_BYTES):
                    digest.update(chunk)
                    conn.execute(insert(index_build_parts).values(build_id=build_id, seq=parts,
                                                                  data=chunk))
                    parts += 1
                published = PublishedBuild(build_id, datetime.now(UTC), size,
                                           digest.hexdigest(), parts, by[:128])
                conn.execute(insert(index_builds).values(**published.__dict__,
                                                         manifest=manifest))
        self._prune()
        log.info("published index build %s (%.1f MB in %d parts)", build_id, size / 1e6, parts)
        return published

    def fetch(self, build: PublishedBuild, index_dir: Path) -> Path:
        """Download `build` into `index_dir` and serve it from there; its folder."""
        builds = index_dir / "builds"
        builds.mkdir(parents=True, exist_ok=True)
        _remove_stale_downloads(builds)
        unpacked = Path(tempfile.mkdtemp(prefix=".fetch-", dir=builds))
        try:
            with tempfile.TemporaryFile(dir=builds) as archive:
                digest = hashlib.sha256()
                for seq in range(build.parts):  # one part in memory at a time
                    with self.engine.connect() as conn:
                        data = conn.execute(select(index_build_parts.c.data).where(
                            index_build_parts.c.build_id == build.build_id,
                            index_build_parts.c.seq == seq)).scalar_one_or_none()
                    if data is None:
                        raise IndexStoreError(f"published build {build.build_id} lacks part "
                                              f"{seq} (deleted while fetching?)")
                    digest.update(data)
                    archive.write(data)
                if digest.hexdigest() != build.sha256 or archive.tell() != build.size:
                    raise IndexStoreError(f"published build {build.build_id} is damaged "
                                          f"(its digest does not match)")
                archive.seek(0)
                with tarfile.open(fileobj=archive, mode="r:gz") as tar:
                    tar.extractall(unpacked, filter="data")
            if not (unpacked / "manifest.json").is_file():
                raise IndexStoreError(f"published build {build.build_id} has no manifest")
            return install_build(index_dir, unpacked, build.build_id)
        except (OSError, tarfile.TarError, SQLAlchemyError) as exc:
            raise IndexStoreError(f"could not fetch build {build.build_id}: {exc}") from exc
        finally:
            shutil.rmtree(unpacked, ignore_errors=True)

    def manifest(self, build_id: str) -> dict:
        with self.engine.connect() as conn:
            text = conn.execute(select(index_builds.c.manifest).where(
                index_builds.c.build_id == build_id)).scalar_one()
        return json.loads(text)

    def _prune(self) -> None:
        with self.engine.begin() as conn:
            old = conn.execute(select(index_builds.c.build_id).order_by(
                index_builds.c.created_at.desc(), index_builds.c.build_id.desc())
                .offset(KEEP_PUBLISHED)).scalars().all()
            for build_id in old:
                conn.execute(delete(index_build_parts).where(
                    index_build_parts.c.build_id == build_id))
                conn.execute(delete(index_builds).where(index_builds.c.build_id == build_id))


_COLUMNS = (index_builds.c.build_id, index_builds.c.created_at, index_builds.c.size,
            index_builds.c.sha256, index_builds.c.parts, index_builds.c.published_by)


def catch_up(store: BuildStore, index_dir: Path, wait: bool = False,
             poll_seconds: float = 2.0, stop: threading.Event | None = None) -> bool:
    """Serve the newest published build in `index_dir` (fetched unless it is there
    already); with `wait`, wait for a first one to be published. Whether one is served."""
    while True:
        latest = store.latest()
        if latest is not None:
            if current_build_id(index_dir) != latest.build_id:
                store.fetch(latest, index_dir)
                log.info("fetched published index build %s", latest.build_id)
            return True
        if not wait or (stop is not None and stop.is_set()):
            return False
        log.info("no index build published yet; waiting for the indexing worker")
        (stop or threading.Event()).wait(poll_seconds)


class BuildFollower:
    """A thread keeping a server's bot on the newest published build."""

    def __init__(self, bot, store: BuildStore, poll_seconds: float = 2.0) -> None:
        self.bot = bot
        self.store = store
        self._loop = PollingThread("build-follower", self.sync_once, poll_seconds,
                                   join_seconds=10)

    def sync_once(self) -> bool:
        """Fetch and load a newer published build if there is one; whether it did."""
        index_dir = self.bot.settings.index_dir
        before = current_build_id(index_dir)
        catch_up(self.store, index_dir)
        if current_build_id(index_dir) == before and self.bot.retriever.index.path == \
                current_path(index_dir).resolve():
            return False
        self.bot.refresh_if_rebuilt(every_seconds=0)
        return True

    def start(self) -> BuildFollower:
        self._loop.start()
        return self

    def stop(self) -> None:
        self._loop.stop()


def publish_served(bot, store: BuildStore, by: str) -> PublishedBuild | None:
    """Publish the build `bot` serves unless it is the newest published already."""
    served = bot.retriever.index.path
    latest = store.latest()
    if latest is not None and latest.build_id == served.name:
        return None
    return store.publish(served, by)


def _remove_stale_downloads(builds: Path) -> None:
    """Unpacked downloads left by a process that died while fetching."""
    now = time.time()
    for leftover in builds.glob(".fetch-*"):
        try:
            if now - leftover.stat().st_mtime > _STALE_DOWNLOAD_SECONDS:
                shutil.rmtree(leftover, ignore_errors=True)
        except OSError:
            pass

