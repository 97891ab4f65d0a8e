"""The knowledge base kept in the database: documents uploaded (console and CLI code
alike), built by a worker one job at a time with progress, live without restart, deleted
with their passages; hostile files refused one by one; roles; the audit trail; a worker
killed with -9 mid-build, the old index served throughout, the job completed after."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backoffice.audit import AuditLog
from backoffice.documents import DocumentStore
from backoffice.jobs import JobQueue
from backoffice.operators import OperatorStore
from backoffice.worker import IndexWorker
from bot.errors import InputError
from bot.index import current_path
from tests import documents
from tests.conftest import CONSOLE_PASSWORD as PASSWORD
from tests.conftest import console_for, console_login, form_csrf, office_of
from tests.test_formats import EN_PAGES, ZH_PAGES

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("uploads")
    return {
        "zh": documents.pdf(folder / "梨状肌手册.pdf", "梨状肌综合征患者手册", ZH_PAGES),
        "en": documents.pdf(folder / "coccyx.pdf", "Tailbone pain leaflet", EN_PAGES,
                            lang="en"),
        "qa": documents.xlsx(folder / "belt.xlsx", {"FAQ": [
            ["question", "answer"],
            ["What is a lumbar support belt for?",
             "A lumbar support belt limits bending during heavy lifting."]]}),
        "locked": documents.pdf(folder / "locked.pdf", "Secret", EN_PAGES, lang="en",
                                password="pw"),
        "scan": documents.image_only_pdf(folder / "scan.pdf"),
        "bomb": documents.zip_bomb(folder / "bomb.docx"),
    }


@pytest.fixture(params=["sqlite", "postgresql"])
def kb_bot(request, own_corpus_bot):
    """A bot over its own copy of the seed corpus, its log (and jobs) in SQLite or
    PostgreSQL."""
    return own_corpus_bot(request.getfixturevalue("fresh_postgres_url")
                          if request.param == "postgresql" else None)


def test_upload_build_live_and_delete(kb_bot, files):
    store = DocumentStore(office_of(kb_bot).database, kb_bot.settings.corpus_dir)
    queue = JobQueue(office_of(kb_bot).database)
    before = kb_bot.ask("梨状肌怎么拉伸")
    assert not any(p.doc_id.startswith("uploads/") for p in before.passages)
    leaflet = store.add(files["zh"].name, files["zh"].read_bytes(), "ed")
    store.add(files["qa"].name, files["qa"].read_bytes(), "ed")
    for bad, reason in (("locked", "encrypted"), ("scan", "image-only"), ("bomb", "zip bomb")):
        with pytest.raises(InputError, match=reason):
            store.add(files[bad].name, files[bad].read_bytes(), "ed")
    assert [d.status for d in store.list()] == ["queued", "queued"]
    job = queue.enqueue("ed")
    assert queue.enqueue("ed").id == job.id  # one build waits, not one per upload
    finished = IndexWorker(kb_bot, office_of(kb_bot)).run_once()
    assert finished.status == "done" and finished.stage == "live"
    assert {d.status for d in store.list()} == {"live"}
    assert store.get(leaflet.id).passages > 0
    reply = kb_bot.ask("梨状肌怎么拉伸")  # live without restart
    assert reply.passages[0].doc_id.startswith("uploads/") and reply.passages[0].page == 2
    belt = kb_bot.ask("What is a lumbar support belt for?")
    assert "limits bending" in belt.passages[0].text
    store.remove(leaflet.id, "ed")
    queue.enqueue("ed")
    IndexWorker(kb_bot, office_of(kb_bot)).run_once()
    assert not any(c.doc_id.startswith(leaflet.doc_prefix)
                   for c in kb_bot.retriever.index.chunks)
    actions = [r["action"] for r in AuditLog(office_of(kb_bot).database).recent()]
    assert actions.count("document.add") == 2 and "document.remove" in actions


def test_a_failed_build_keeps_the_index_and_can_be_retried(kb_bot, files):
    store = DocumentStore(office_of(kb_bot).database, kb_bot.settings.corpus_dir)
    queue = JobQueue(office_of(kb_bot).database)
    store.add(files["en"].name, files["en"].read_bytes(), "ed")
    serving = kb_bot.retriever.index.path
    job = queue.enqueue("ed")
    # The builds folder cannot be written (a file stands in its place): the build fails.
    builds = kb_bot.settings.index_dir / "builds"
    moved = builds.with_name("builds-away")
    builds.rename(moved)
    builds.write_text("not a folder")
    try:
        failed = IndexWorker(kb_bot, office_of(kb_bot)).run_once()
    finally:
        builds.unlink()
        moved.rename(builds)
    assert failed.status == "failed" and "previous index" in failed.error
    assert kb_bot.retriever.index.path == serving
    assert store.list()[0].status == "failed"
    queue.retry(job.id, "ed")
    assert IndexWorker(kb_bot, office_of(kb_bot)).run_once().status == "done"
    assert store.list()[0].status == "live"


# ---------------------------------------------------------------- console
@pytest.fixture
def console(kb_bot):
    with console_for(kb_bot, editor1="editor", reviewer1="reviewer") as client:
        yield client


def _upload(client, paths: list[Path]):
    token = form_csrf(client.get("/admin/documents").text)
    return client.post("/admin/documents", data={"csrf_token": token},
                       files=[("files", (p.name, p.read_bytes())) for p in paths])


def test_an_editor_uploads_and_watches_the_document_go_live(console, files):
    assert console_login(console, "editor1", PASSWORD).status_code == 303
    response = _upload(console, [files["zh"], files["locked"], files["qa"]])
    assert response.status_code == 200
    assert "locked.pdf" in response.text and "encrypted" in response.text
    assert "queued for indexing" in response.text
    deadline = time.monotonic() + 120
    while "status-queued" in (page := console.get("/admin/documents").text) or \
            "status-indexing" in page:
        assert time.monotonic() < deadline, "the in-process worker did not finish"
        time.sleep(0.3)
    assert page.count("status-live") == 2 and "locked.pdf" not in page
    reply = console.post("/api/chat", json={"message": "梨状肌怎么拉伸"}).json()
    assert reply["passages"][0]["page"] == 2
    detail = console.get("/admin/documents/1")
    assert detail.status_code == 200 and "保持三十秒" in detail.text
    assert "第 1 页" in detail.text  # shown among what cleaning dropped
    token = form_csrf(console.get("/admin/documents").text)
    gone = console.post("/admin/documents/1/delete", data={"csrf_token": token},
                        follow_redirects=False)
    assert gone.status_code == 303
    assert console.post("/admin/documents/99/delete", data={"csrf_token": token}
                        ).status_code == 404
    assert console.post("/admin/jobs/1/retry", data={"csrf_token": token}
                        ).status_code == 409  # it did not fail
    audit = console.get("/admin/audit").text
    assert "document.add" in audit and "document.remove" in audit and "editor1" in audit


def test_roles_decide_what_an_operator_may_do(console, files):
    console_login(console, "reviewer1", PASSWORD)
    assert console.get("/admin/documents").status_code == 403
    assert console.get("/admin/curated").status_code == 403
    assert console.get("/admin/conversations").status_code == 200
    token = form_csrf(console.get("/admin/conversations").text)
    forged = console.post("/admin/documents", data={"csrf_token": token},
                          files=[("files", (files["en"].name, files["en"].read_bytes()))])
    assert forged.status_code == 403
    console.cookies.clear()
    console_login(console, "editor1", PASSWORD)
    assert console.get("/admin/conversations").status_code == 403
    assert console.get("/admin/documents").status_code == 200


def test_the_cli_adds_lists_and_removes_with_the_same_code(kb_bot, files, tmp_path):
    env = dict(os.environ, FAQBOT_CORPUS_DIR=str(kb_bot.settings.corpus_dir),
               FAQBOT_INDEX_DIR=str(kb_bot.settings.index_dir),
               FAQBOT_DATABASE_URL=kb_bot.settings.database_url,
               FAQBOT_CACHE_DIR=str(kb_bot.settings.embedding_cache_path().parent))
    added = _faqbot(env, "docs", "add", str(files["en"]), str(files["scan"]), "--user", "ops")
    assert added.returncode == 2  # one refused
    assert "refused" in added.stderr and "image-only" in added.stderr
    assert "queued" in added.stdout
    listed = _faqbot(env, "docs", "list")
    assert "coccyx.pdf" in listed.stdout and "queued" in listed.stdout
    removed = _faqbot(env, "docs", "remove", "1", "--user", "ops")
    assert removed.returncode == 0 and "removed #1" in removed.stdout
    assert DocumentStore(office_of(kb_bot).database, kb_bot.settings.corpus_dir).list() == []


def _faqbot(env: dict[str, str], *args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "faqbot", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600, **kw)


# ---------------------------------------------------------------- crash
def test_a_worker_killed_mid_build_leaves_the_old_index_and_the_job_completes(
        own_corpus_bot, tmp_path):
    bot = own_corpus_bot()
    settings = bot.settings
    corpus, url = settings.corpus_dir, settings.database_url
    serving = current_path(settings.index_dir).resolve()
    # Enough new text that the build is still embedding when it is killed.
    many = tmp_path / "many.jsonl"
    many.write_text("".join(
        f'{{"question": "Question {n} about exercise {n}?", "answer": "Exercise {n}: '
        f'{"stretch the hamstrings and rest " * 12}{n}."}}\n' for n in range(800)), "utf-8")
    DocumentStore(office_of(bot).database, corpus).add(many.name, many.read_bytes(), "ed")
    job = JobQueue(office_of(bot).database).enqueue("ed")
    env = dict(os.environ, FAQBOT_CORPUS_DIR=str(corpus),
               FAQBOT_INDEX_DIR=str(settings.index_dir), FAQBOT_DATABASE_URL=url,
               FAQBOT_CACHE_DIR=str(tmp_path / "own-cache"), FAQBOT_JOB_STALE_SECONDS="2")
    worker = subprocess.Popen([sys.executable, "-m", "faqbot", "worker"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    queue = JobQueue(office_of(bot).database)
    deadline = time.monotonic() + 300
    while queue.get(job.id).stage != "embedding":
        assert time.monotonic() < deadline and worker.poll() is None
        time.sleep(0.2)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    killed = queue.get(job.id)
    assert killed.status == "running"  # as the dead worker left it
    assert current_path(settings.index_dir).resolve() == serving  # the old index, whole
    assert bot.ask("腰椎间盘突出症的症状有哪些").kind == "answer"
    time.sleep(2.5)  # its heartbeat is now stale
    again = _faqbot(env, "worker", "--once")
    assert again.returncode == 0, again.stderr[-2000:]
    finished = queue.get(job.id)
    assert finished.status == "done" and finished.attempts == 2
    assert current_path(settings.index_dir).resolve() != serving


def test_admins_manage_users_and_roles(console, kb_bot):
    OperatorStore(office_of(kb_bot).database).create_user("boss", PASSWORD)  # admin by default
    console_login(console, "editor1", PASSWORD)
    assert console.get("/admin/users").status_code == 403
    console.cookies.clear()
    console_login(console, "boss", PASSWORD)
    screen = console.get("/admin/users")
    assert screen.status_code == 200 and "FAQBOT_CORPUS_DIR" in screen.text
    assert kb_bot.settings.database_url not in screen.text  # secrets are not shown
    token = form_csrf(screen.text)
    made = console.post("/admin/users", data={"csrf_token": token, "username": "newbie",
                                              "password": PASSWORD, "role": "reviewer"},
                        follow_redirects=False)
    assert made.status_code == 303
    weak = console.post("/admin/users", data={"csrf_token": token, "username": "weak",
                                              "password": "short", "role": "editor"})
    assert weak.status_code == 422 and "10 characters" in weak.text
    promoted = console.post("/admin/users/newbie/role", data={"csrf_token": token,
                                                             "role": "editor"},
                            follow_redirects=False)
    assert promoted.status_code == 303
    roles = {u["username"]: u["role"] for u in OperatorStore(office_of(kb_bot).database).users()}
    assert roles["newbie"] == "editor"
    assert console.post("/admin/users/boss/role", data={"csrf_token": token,
                                                       "role": "reviewer"}).status_code == 409
    assert "user.role" in console.get("/admin/audit").text


def test_the_workers_polling_loop_outlives_a_failing_step_and_stops():
    """backoffice.loop.PollingThread: a step that raises is logged and the loop goes on;
    a step that did work runs again at once; stop() ends the thread."""
    import threading

    from backoffice.loop import PollingThread, heartbeat

    calls: list[int] = []
    ran_again = threading.Event()

    def step() -> bool:
        calls.append(len(calls))
        if len(calls) == 1:
            raise RuntimeError("a database blip")
        if len(calls) >= 4:
            ran_again.set()
        return len(calls) < 4  # work on the 2nd and 3rd call: no wait before the next

    loop = PollingThread("test-loop", step, poll_seconds=0.05, join_seconds=5).start()
    assert ran_again.wait(5)
    loop.stop()
    assert not loop._thread.is_alive() and len(calls) >= 4
    beats: list[int] = []
    with heartbeat(0.02, lambda: beats.append(1)):
        threading.Event().wait(0.2)
    after = len(beats)
    threading.Event().wait(0.1)
    assert after >= 3 and len(beats) == after  # none once the block has ended
