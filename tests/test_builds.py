"""Shared builds (FAQBOT_BUILDS=shared): a build is published once to the database and every
server fetches it into its own index directory, a late one catching up at start; a damaged
download is refused and leaves the index served; old builds are pruned."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select, update

from backoffice import builds
from backoffice.builds import BuildFollower, BuildStore, catch_up, publish_served
from backoffice.curation import CuratedStore, CuratedText
from backoffice.database import Database, index_build_parts, index_builds
from backoffice.house import open_house
from backoffice.jobs import JobQueue
from backoffice.worker import IndexWorker
from bot.errors import IndexStoreError
from bot.index import current_build_id
from tests.conftest import office_of

ANSWER = "腱鞘炎多与手腕反复用力有关，应减少劳损并请医生评估。"
QUESTION = "腱鞘炎是怎么引起的"


@pytest.fixture(params=["sqlite", "postgresql"])
def worker_bot(request, own_corpus_bot):
    """The indexing worker's bot: its own corpus and index, the log (and published builds)
    in SQLite or PostgreSQL, builds shared."""
    url = (request.getfixturevalue("fresh_postgres_url") if request.param == "postgresql"
           else None)
    bot = own_corpus_bot(url)
    bot.settings = bot.settings.model_copy(update={"builds": "shared"})
    return bot


def _replica_settings(worker_bot, tmp_path, name: str):
    """A replica on another host: its own (empty) corpus and index directory, the shared
    database, no indexing of its own."""
    corpus = tmp_path / f"{name}-corpus"
    corpus.mkdir()
    return worker_bot.settings.model_copy(update={
        "corpus_dir": corpus, "index_dir": tmp_path / f"{name}-index", "worker": "off"})


def test_a_published_build_is_served_by_a_replica_as_built(worker_bot, tmp_path):
    store = BuildStore(office_of(worker_bot).database)
    published = publish_served(worker_bot, store, "worker")
    assert published is not None and published.build_id == worker_bot.retriever.index.path.name
    assert publish_served(worker_bot, store, "worker") is None  # the newest already

    replica = open_house(_replica_settings(worker_bot, tmp_path, "replica")).bot
    assert current_build_id(replica.settings.index_dir) == published.build_id
    assert replica.retriever.index.path != worker_bot.retriever.index.path  # its own copy
    question = "腰椎间盘突出有什么典型症状"
    assert ([p.text for p in replica.ask(question).passages]
            == [p.text for p in worker_bot.ask(question).passages])


def test_a_replica_started_before_any_build_waits_for_the_first(worker_bot, tmp_path):
    settings = _replica_settings(worker_bot, tmp_path, "early")
    loaded: list = []
    starting = threading.Thread(target=lambda: loaded.append(open_house(settings).bot))
    starting.start()
    time.sleep(1.0)
    assert not loaded and current_build_id(settings.index_dir) is None  # waiting
    publish_served(worker_bot, BuildStore(office_of(worker_bot).database), "worker")
    starting.join(timeout=30)
    assert loaded and loaded[0].ask("脑膜瘤是良性的吗").kind == "answer"


def test_a_new_build_reaches_a_running_replica(worker_bot, tmp_path):
    store = BuildStore(office_of(worker_bot).database)
    publish_served(worker_bot, store, "worker")
    replica = open_house(_replica_settings(worker_bot, tmp_path, "running")).bot
    follower = BuildFollower(replica, store)
    assert follower.sync_once() is False  # nothing new
    assert replica.ask(QUESTION).kind == "fallback"

    CuratedStore(office_of(worker_bot).database, worker_bot.settings.corpus_dir).add(
        CuratedText(question_zh=QUESTION, answer_zh=ANSWER), "editor1")
    job = JobQueue(office_of(worker_bot).database).enqueue("editor1")
    assert IndexWorker(worker_bot, office_of(worker_bot)).run_once().status == "done"
    done = JobQueue(office_of(worker_bot).database).get(job.id)
    assert done.build_id == worker_bot.retriever.index.path.name
    assert store.latest().build_id == done.build_id  # the worker published it

    assert follower.sync_once() is True
    assert replica.retriever.index.path.name == done.build_id
    assert replica.ask(QUESTION).passages[0].text == ANSWER


def test_a_damaged_download_is_refused_and_the_old_build_stays(worker_bot, tmp_path):
    store = BuildStore(office_of(worker_bot).database)
    first = publish_served(worker_bot, store, "worker")
    replica = open_house(_replica_settings(worker_bot, tmp_path, "careful")).bot
    worker_bot.reindex()  # a new build (same corpus), published, then damaged in transit
    second = publish_served(worker_bot, store, "worker")
    assert second.build_id != first.build_id
    with office_of(worker_bot).database.engine.begin() as conn:
        conn.execute(update(index_build_parts).where(
            index_build_parts.c.build_id == second.build_id,
            index_build_parts.c.seq == 0).values(data=b"not the build"))
    with pytest.raises(IndexStoreError, match="damaged"):
        catch_up(store, replica.settings.index_dir)
    assert current_build_id(replica.settings.index_dir) == first.build_id
    assert not list((replica.settings.index_dir / "builds").glob(".fetch-*"))
    assert replica.ask("脑膜瘤是良性的吗").kind == "answer"


def test_old_published_builds_are_pruned(worker_bot, monkeypatch):
    monkeypatch.setattr(builds, "KEEP_PUBLISHED", 2)
    store = BuildStore(office_of(worker_bot).database)
    ids = []
    for _ in range(3):
        worker_bot.reindex()
        ids.append(store.publish(worker_bot.retriever.index.path, "worker").build_id)
    engine = office_of(worker_bot).database.engine
    with engine.connect() as conn:
        kept = conn.execute(select(index_builds.c.build_id)).scalars().all()
        orphans = conn.execute(select(func.count()).select_from(index_build_parts).where(
            index_build_parts.c.build_id.not_in(kept))).scalar_one()
    assert sorted(kept) == sorted(ids[1:]) and orphans == 0
    assert store.latest().build_id == ids[-1]


def test_the_database_as_a_late_replica_finds_it(tmp_path, worker_bot):
    """A replica process started much later against a database that has a build."""
    publish_served(worker_bot, BuildStore(office_of(worker_bot).database), "worker")
    url = worker_bot.settings.database_url
    late = BuildStore(Database(url))  # a new connection, as another process has
    assert catch_up(late, tmp_path / "late-index")
    assert current_build_id(tmp_path / "late-index") == worker_bot.retriever.index.path.name
