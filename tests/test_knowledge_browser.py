"""The knowledge base in a real browser (Debian's Chromium, Playwright) against a live
server: an editor uploads a PDF and watches it go live, the widget quotes it with its page;
in the test screen the editor attaches an unanswered question to a passage and the widget
answers it; a reviewer cannot upload. FAQBOT_SCREENSHOT_DIR saves each view."""

from __future__ import annotations

import pytest

from tests import documents
from tests.browser import TIMEOUT_MS, Widget, free_port, shot, start_uvicorn
from tests.conftest import office_of
from tests.test_formats import ZH_PAGES

PASSWORD = "correct horse battery"
UNANSWERED = "久坐办公室以后屁股发麻该做什么运动"


@pytest.fixture(scope="module")
def kb_server(own_seed_bot, tmp_path_factory):
    from backoffice.operators import OperatorStore
    from web.app import create_app

    bot = own_seed_bot("knowledge", rate_limit_per_minute=0)
    operators = OperatorStore(office_of(bot).database)
    operators.create_user("editor", PASSWORD, "editor")
    operators.create_user("reviewer", PASSWORD, "reviewer")
    operators.create_user("boss", PASSWORD)
    folder = tmp_path_factory.mktemp("leaflets")
    leaflet = documents.pdf(folder / "piriformis.pdf", "梨状肌综合征患者手册", ZH_PAGES,
                            header="脊柱健康科普手册")
    port = free_port()
    server = start_uvicorn(create_app(bot.settings, bot=bot, office=office_of(bot)), port)
    yield f"http://127.0.0.1:{port}", leaflet
    server.should_exit = True


def _log_in(page, url: str, who: str) -> None:
    page.goto(url + "/admin/login")
    page.fill("input[name=username]", who)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button")
    page.wait_for_url("**/admin/dashboard")


@pytest.mark.xfail(strict=True, reason="known limit (issue 19): the learned decision answers "
                   "the question this test needs unanswered from the uploaded handbook")
def test_an_editor_uploads_a_pdf_and_teaches_the_bot(kb_server, page):
    url, leaflet = kb_server
    _log_in(page, url, "editor")
    page.click("text=Documents 文档")
    page.set_input_files("input[name=files]", str(leaflet))
    shot(page, "20-console-documents-upload")
    page.click("text=Upload and index")
    page.wait_for_selector("text=queued for indexing")
    # The page refreshes itself while a job runs; wait for the document to be live.
    page.wait_for_selector("#documents td.status-live", timeout=TIMEOUT_MS * 4)
    row = page.locator("#documents tbody tr").first
    assert "梨状肌综合征患者手册" in row.inner_text() and "live" in row.inner_text()
    shot(page, "21-console-documents-live")
    row.locator("a").first.click()
    assert "保持三十秒" in page.locator("#kept").inner_text()
    assert "第 1 页" in page.locator("#dropped").inner_text()  # page numbers, dropped
    shot(page, "22-console-document-preview")

    page.goto(url + "/")
    widget = Widget(page)
    widget.open()
    reply = widget.ask("梨状肌怎么拉伸")
    assert reply["passages"][0]["page"] == 2
    footer = widget.last_reply().locator("blockquote footer").first.inner_text()
    assert "第2页" in footer and "梨状肌综合征患者手册" in footer
    shot(page, "23-widget-pdf-quote-with-page")
    fallback = widget.ask(UNANSWERED)
    assert fallback["kind"] == "fallback"

    page.goto(url + "/admin/test")
    page.fill("input[name=q]", UNANSWERED)
    page.click("text=Try it")
    assert "fallback" in page.locator("#path").inner_text()
    shot(page, "24-console-test-screen")
    candidate = page.locator("#candidates tbody tr").nth(1)
    quote = candidate.locator(".quote").inner_text()
    candidate.locator("text=This passage should answer this question").click()
    page.wait_for_selector("text=Saved as an alternate phrasing")
    page.goto(url + "/admin/guidance")
    assert UNANSWERED in page.locator("#guidance").inner_html()
    shot(page, "25-console-phrasings")

    page.goto(url + "/")
    page.evaluate("localStorage.clear()")  # a new visitor: the widget starts closed
    page.reload()
    widget = Widget(page)
    widget.open()
    for _ in range(100):  # the build the phrasing queued goes live within seconds
        taught = widget.ask(UNANSWERED)
        if taught["kind"] == "answer":
            break
        page.wait_for_timeout(500)
    assert taught["kind"] == "answer" and taught["passages"][0]["text"] == quote
    shot(page, "26-widget-taught-answer")

    page.goto(url + "/admin/synonyms")
    page.fill("input[name=members]", "LDH = 腰椎间盘突出 = herniated disc")
    page.click("text=Add")
    page.wait_for_selector("#synonyms input[name=members]")
    group = page.locator("#synonyms input[name=members]").first.input_value()
    assert group == "LDH = 腰椎间盘突出 = herniated disc"
    shot(page, "27-console-synonyms")
    page.goto(url + "/admin/audit")
    assert "guidance.phrasing" in page.locator("main").inner_text()
    shot(page, "28-console-audit")


def test_a_reviewer_cannot_upload(kb_server, page):
    url, _ = kb_server
    _log_in(page, url, "reviewer")
    assert page.locator("text=Documents 文档").count() == 0
    response = page.goto(url + "/admin/documents")
    assert response.status == 403
    page.goto(url + "/admin/test")
    page.fill("input[name=q]", "腰椎间盘突出症的症状有哪些")
    page.click("text=Try it")
    assert page.locator("text=This passage should answer this question").count() == 0


def test_a_batch_test_runs_and_shows_its_results(kb_server, page, tmp_path):
    url, _ = kb_server
    _log_in(page, url, "editor")
    questions = tmp_path / "regression.jsonl"
    questions.write_text(
        '{"id": "q1", "question": "腰椎间盘突出有什么典型症状", "expect": "answer", '
        '"any": ["疼痛多为单侧"]}\n'
        '{"id": "q2", "question": "How do I renew my passport?", "expect": "fallback"}\n',
        "utf-8")
    page.goto(url + "/admin/batch")
    page.set_input_files("input[name=file]", str(questions))
    page.click("text=Run")
    page.wait_for_selector("#runs >> text=done", timeout=TIMEOUT_MS * 2)
    page.locator("#runs a").first.click()
    assert "2 / 2 passed" in page.locator("main").inner_text()
    shot(page, "29-console-batch-results")


def test_the_admin_sees_users_and_settings(kb_server, page):
    url, _ = kb_server
    _log_in(page, url, "boss")
    page.click("text=Users 用户")
    assert "editor" in page.locator("#users").inner_text()
    assert "FAQBOT_CORPUS_DIR" in page.locator("#settings").inner_text()
    shot(page, "30-console-users")
