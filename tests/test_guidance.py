"""The test screen and what operators teach the bot from it: an alternate phrasing makes a
passage the answer to a question it fell back on, a negative example makes the bot fall
back on a question it answered; both live after the build they queue, listed, editable,
removable; reviewers test but do not teach."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import quote

import pytest

from backoffice.guidance_store import GuidanceStore
from backoffice.jobs import JobQueue
from backoffice.worker import IndexWorker
from tests.conftest import CONSOLE_PASSWORD as PASSWORD
from tests.conftest import console_for, console_login, form_csrf, office_of

ROOT = Path(__file__).resolve().parent.parent
UNANSWERED = "久坐办公室以后屁股发麻该做什么运动"
ANSWERED = "腰椎间盘突出症的症状有哪些"


@pytest.fixture
def bot(own_corpus_bot):
    return own_corpus_bot()


def _build(bot) -> None:
    JobQueue(office_of(bot).database).enqueue("ed")
    assert IndexWorker(bot, office_of(bot)).run_once().status == "done"


def test_a_phrasing_and_a_negative_example_change_what_the_bot_does(bot):
    reply, explained = bot.try_out(UNANSWERED)
    assert reply.kind == "fallback" and explained.candidates
    chosen = explained.candidates[2]
    store = GuidanceStore(office_of(bot).database, bot.settings.corpus_dir)
    phrasing = store.add_phrasing(UNANSWERED, chosen.doc_id, chosen.quote, chosen.title, "ed")
    store.add_negative(ANSWERED, "ed")
    assert bot.ask(ANSWERED).kind == "answer"  # nothing changes before the build
    _build(bot)
    taught = bot.ask(UNANSWERED)
    assert taught.kind == "answer" and taught.passages[0].text == chosen.quote
    refused = bot.ask(ANSWERED + "？")  # the same words, other punctuation
    assert refused.kind == "fallback" and "operator" in refused.why
    urgent = bot.ask("腰椎间盘突出，今天突然大小便失禁")  # red flags still escalate
    assert urgent.kind == "urgent"
    store.edit(phrasing, UNANSWERED + "呢", "ed")
    store.remove(next(e.id for e in store.entries() if e.kind == "negative"), "ed")
    _build(bot)
    assert bot.ask(ANSWERED).kind == "answer"
    assert bot.ask(UNANSWERED + "呢").passages[0].text == chosen.quote


def test_try_out_changes_no_session_and_logs_nothing(bot):
    before = len(office_of(bot).conversations.session_exchanges("test:preview"))
    reply, explained = bot.try_out("要怎么缓解", previous="腰椎微创手术后腰酸是怎么回事")
    assert reply.kind == "answer" and explained.searched.startswith("腰椎微创手术后腰酸")
    assert len(office_of(bot).conversations.session_exchanges("test:preview")) == before == 0


@pytest.fixture
def console(bot):
    with console_for(bot, editor1="editor", reviewer1="reviewer") as client:
        yield client


def test_the_test_screen_shows_why_and_teaches_in_one_click(console):
    console_login(console, "editor1", PASSWORD)
    screen = console.get(f"/admin/test?q={quote(UNANSWERED)}")
    assert screen.status_code == 200
    assert "fallback" in screen.text and "threshold" in screen.text
    assert "This passage should answer this question" in screen.text
    urgent = console.get("/admin/test?q=" + quote("腰痛，今天突然大小便失禁"))
    assert "red flag: incontinence (now, by lexicon)" in urgent.text
    assert "triggered by “大小便失禁”" in urgent.text
    token = form_csrf(screen.text)
    html = screen.text
    doc_id = html.split('name="doc_id" value="')[1].split('"')[0]
    quote_text = html.split('name="quote" value="')[1].split('"')[0]
    import html as html_module

    saved = console.post("/admin/guidance/phrasing", data={
        "csrf_token": token, "question": UNANSWERED, "doc_id": html_module.unescape(doc_id),
        "quote": html_module.unescape(quote_text), "title": ""}, follow_redirects=False)
    assert saved.status_code == 303 and "saved=phrasing" in saved.headers["location"]
    deadline = time.monotonic() + 120
    while True:  # the in-process worker builds it
        reply = console.post("/api/chat", json={"message": UNANSWERED}).json()
        if reply["kind"] == "answer":
            break
        assert time.monotonic() < deadline, "the phrasing did not go live"
        time.sleep(0.3)
    assert reply["passages"][0]["text"] == html_module.unescape(quote_text)
    listed = console.get("/admin/guidance").text
    assert UNANSWERED in listed and "phrasing" in listed


def test_reviewers_test_but_do_not_teach(console):
    console_login(console, "reviewer1", PASSWORD)
    screen = console.get(f"/admin/test?q={quote(ANSWERED)}")
    assert screen.status_code == 200 and "answer" in screen.text
    assert "This passage should answer this question" not in screen.text
    token = form_csrf(console.get("/admin/conversations").text)
    assert console.post("/admin/guidance/negative", data={
        "csrf_token": token, "question": ANSWERED}).status_code == 403
    assert console.get("/admin/guidance").status_code == 403
