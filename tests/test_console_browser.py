"""The operator console in a real browser (Debian's Chromium, Playwright) against a live
server: log in, read the dashboard, filter to fallbacks, open the largest unanswered group,
write an answer, then ask the widget and see that answer quoted.

FAQBOT_SCREENSHOT_DIR (`make screenshots`) saves a picture of each view."""

from __future__ import annotations

import httpx
import pytest

from tests.browser import Widget, free_port, shot, start_uvicorn
from tests.conftest import office_of

PASSWORD = "correct horse battery"
UNANSWERED = ["带状疱疹会传染吗", "带状疱疹会传染吗？", "带状疱疹会传染吗", "带状疱疹会不会传染给家人",
              "带状疱疹会传染吗"]
ANSWER = "带状疱疹本身不会像感冒一样通过空气传染，但疱液中的病毒可使没有得过水痘的人感染水痘。"


@pytest.fixture(scope="module")
def console_server(own_seed_bot):
    from backoffice.operators import OperatorStore
    from web.app import create_app

    bot = own_seed_bot("console", rate_limit_per_minute=0)
    OperatorStore(office_of(bot).database).create_user("operator", PASSWORD)
    settings = bot.settings
    port = free_port()
    server = start_uvicorn(create_app(settings, bot=bot, office=office_of(bot)), port)
    url = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=url, timeout=30) as client:  # visitors' questions
        for question in [*UNANSWERED, "确诊脑膜瘤以后要怎么随访", "腰椎间盘突出需要做手术吗",
                         "<b>粗体</b>护照怎么办理"]:
            reply = client.post("/api/chat", json={"message": question}).json()
        client.post("/api/feedback", json={"reply_id": reply["reply_id"], "rating": "down"})
    yield url
    server.should_exit = True


def _log_in(page, url: str) -> None:
    page.goto(url + "/admin")
    assert page.url.endswith("/admin/login")
    shot(page, "12-console-login")
    page.fill("input[name=username]", "operator")
    page.fill("input[name=password]", PASSWORD)
    page.click("form button")
    page.wait_for_url("**/admin/dashboard")


def test_operator_curates_an_unanswered_question_and_the_widget_quotes_it(console_server,
                                                                          page):
    url = console_server
    _log_in(page, url)
    charts = page.locator("svg.chart")
    assert charts.count() == 5 and charts.first.is_visible()
    assert page.locator("svg.chart rect").count() > 3
    shot(page, "13-console-dashboard")

    page.click("text=Conversations 对话")
    page.select_option("select[name=kind]", "fallback")
    page.click("form.filters button")
    page.wait_for_url("**kind=fallback**")
    kinds = page.locator("tbody td.kind-fallback")
    assert kinds.count() >= 5 and page.locator("tbody td.kind-answer").count() == 0
    assert page.locator("text=<b>粗体</b>护照怎么办理").count() == 1  # markup shown as text
    shot(page, "14-console-fallbacks")

    page.click("text=Unanswered 未答")
    largest = page.locator("tr.group").first
    assert largest.locator("strong").inner_text() == str(len(UNANSWERED))
    assert "带状疱疹会传染吗" in largest.inner_text()
    shot(page, "15-console-unanswered")

    largest.locator("text=Write an answer").click()
    assert page.input_value("textarea[name=question_zh]") == "带状疱疹会传染吗"
    page.fill("textarea[name=answer_zh]", ANSWER)
    shot(page, "16-console-curate")
    page.click("text=Save and go live")
    page.wait_for_selector("text=the bot uses it now")
    shot(page, "17-console-curated")

    page.goto(url + "/")
    widget = Widget(page)
    widget.open()
    reply = widget.ask("带状疱疹会传染吗")
    assert reply["kind"] == "answer" and reply["passages"][0]["text"] == ANSWER
    assert widget.last_reply().locator("blockquote p").first.inner_text() == ANSWER
    shot(page, "18-widget-curated-answer")

    page.goto(url + "/admin/unanswered")
    assert "带状疱疹会传染吗" not in page.locator("main").inner_text()  # reviewed now


def test_conversation_detail_shows_passages_with_scores(console_server, page):
    _log_in(page, console_server)
    page.goto(console_server + "/admin/conversations?kind=answer")
    page.locator("tbody a").first.click()
    quote = page.locator(".quote").first
    assert "score" in quote.inner_text()
    shot(page, "19-console-conversation")
    page.locator("text=Mark reviewed").first.click()
    assert page.locator("text=Mark not reviewed").count() >= 1
    question = page.locator(".bubble p strong").first.evaluate(
        "node => node.parentElement.textContent.replace('Q:', '').trim()")
    page.locator("text=Write an answer").first.click()  # curate a single question
    assert page.input_value("textarea[name=question_zh]") == question
