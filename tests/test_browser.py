"""The widget in a real browser: Debian's Chromium driven by Playwright, against a live
server on loopback serving the seed corpus (plus one entry full of markup, for XSS).

Set FAQBOT_SCREENSHOT_DIR (`make screenshots` sets docs/screenshots) to save a picture of
each state.
"""

from __future__ import annotations

import json
import threading
from functools import partial
from http.server import ThreadingHTTPServer

import pytest

from tests.browser import TIMEOUT_MS, QuietHandler, Widget, free_port, shot, start_uvicorn
from tests.conftest import office_of

XSS_ENTRY = {
    "id": "xss-1",
    "question": "What is the zebra-stripe rendering protocol?",
    "answer": "The zebra-stripe rendering protocol is shown as text: "
              "<img src=x onerror=\"window.__xss=1\"> and <script>window.__xss=2</script> "
              "must appear literally.",
    "title": "Zebra-stripe <b onmouseover=\"window.__xss=3\">protocol</b>",
}


@pytest.fixture(scope="module")
def live(own_seed_bot, tmp_path_factory):
    """A bot server (seed corpus + the XSS entry) and a site on another origin."""
    from web.app import create_app

    bot_port, site_port = free_port(), free_port()
    site_origin = f"http://localhost:{site_port}"
    bot = own_seed_bot("browser", [XSS_ENTRY], rate_limit_per_minute=0,
                       allowed_origins=site_origin)
    settings = bot.settings
    app = create_app(settings, bot=bot, office=office_of(bot))
    server = start_uvicorn(app, bot_port)

    site = tmp_path_factory.mktemp("other-site")
    (site / "index.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>Clinic</title></head><body>"
        "<h1>Another clinic's site</h1>"
        f"<script src='http://127.0.0.1:{bot_port}/widget.js' async data-lang='en' "
        "data-title='Clinic helper' data-position='left'></script></body></html>",
        encoding="utf-8")
    site_server = ThreadingHTTPServer(("127.0.0.1", site_port),
                                      partial(QuietHandler, directory=str(site)))
    threading.Thread(target=site_server.serve_forever, daemon=True).start()
    yield {"url": f"http://127.0.0.1:{bot_port}", "site": site_origin, "app": app, "bot": bot}
    server.should_exit = True
    site_server.shutdown()


def open_demo(live, page) -> Widget:
    """The demo site with the chat panel open."""
    page.goto(live["url"] + "/")
    widget = Widget(page)
    widget.open()
    return widget


def test_chinese_question_gets_quotes_with_source_link_and_disclaimer(live, page):
    page.goto(live["url"] + "/")
    widget = Widget(page)
    shot(page, "01-demo-page")
    widget.open()
    chips = widget.root.locator(".welcome .chip")
    chips.first.wait_for()
    shot(page, "02-welcome")
    reply = widget.ask("脑膜瘤是良性的还是恶性的？")
    assert reply["kind"] == "answer"
    bubble = widget.last_reply()
    quotes = bubble.locator("blockquote")
    assert quotes.count() == len(reply["passages"]) >= 1
    assert quotes.first.locator("p").inner_text() == reply["passages"][0]["text"]
    link = quotes.first.locator("footer a")
    assert link.get_attribute("href") == reply["passages"][0]["url"]
    assert link.inner_text() == reply["passages"][0]["title"]
    assert reply["passages"][0]["date"] in quotes.first.locator("footer").inner_text()
    assert bubble.locator(".disclaimer").inner_text() == reply["disclaimer"]
    assert widget.root.locator("form button").inner_text() == "发送"
    shot(page, "03-chinese-answer")


def test_english_question_switches_the_widget_to_english(live, page):
    widget = open_demo(live, page)
    reply = widget.ask("What are the symptoms of lumbar disc herniation?")
    assert reply["lang"] == "en" and reply["kind"] == "answer"
    bubble = widget.last_reply()
    assert bubble.locator("blockquote").count() >= 1
    assert bubble.locator(".lead").inner_text() == reply["message"]
    assert bubble.locator(".disclaimer").inner_text() == reply["disclaimer"]
    assert widget.root.locator("form button").inner_text() == "Send"
    shot(page, "04-english-answer")


def test_out_of_corpus_question_falls_back(live, page):
    widget = open_demo(live, page)
    reply = widget.ask("How do I renew my passport at the embassy?")
    assert reply["kind"] == "fallback"
    bubble = widget.last_reply()
    assert "fallback" in bubble.get_attribute("class")
    assert bubble.locator("blockquote").count() == 0
    assert "doctor" in bubble.locator(".lead").inner_text()
    assert bubble.locator(".disclaimer").is_visible()
    shot(page, "05-fallback")


def test_red_flag_shows_the_urgent_banner_first(live, page):
    widget = open_demo(live, page)
    reply = widget.ask("腰痛好几天了，今天突然大小便失禁，腿也没力气")
    assert reply["kind"] == "urgent"
    banner = widget.last_reply().locator(".urgent-banner")
    assert banner.is_visible() and banner.get_attribute("role") == "alert"
    assert banner.inner_text() == reply["alert"]
    first_child = widget.last_reply().evaluate(
        "el => [...el.children].find(c => !c.classList.contains('sr')).className")
    assert first_child == "urgent-banner"
    shot(page, "06-urgent")


def test_thumbs_down_is_recorded(live, page):
    widget = open_demo(live, page)
    reply = widget.ask("腰椎间盘突出需要做手术吗")
    down = widget.last_reply().locator(".rate button[data-rating=down]")
    with page.expect_response(lambda r: r.url.endswith("/api/feedback")) as response:
        down.click()
    assert response.value.status == 204
    widget.last_reply().locator(".rate button[data-rating=down][aria-pressed=true]").wait_for()
    ratings = office_of(live["bot"]).conversations.feedback_for(reply["reply_id"])
    assert [r.rating for r in ratings] == ["down"]
    shot(page, "07-feedback")


def test_suggestion_chip_asks_its_question(live, page):
    widget = open_demo(live, page)
    chip = widget.root.locator(".welcome .chip").first
    question = chip.inner_text()
    with page.expect_response(lambda r: r.url.endswith("/api/chat")) as response:
        chip.click()
    assert json.loads(response.value.request.post_data)["message"] == question
    widget.last_reply().wait_for()
    assert widget.root.locator(".msg.user").last.inner_text().endswith(question)
    assert response.value.json()["kind"] in ("answer", "urgent")


def test_keyboard_only(live, page):
    page.goto(live["url"] + "/")
    widget = Widget(page)
    for _ in range(20):  # Tab through the page until the chat button has focus
        page.keyboard.press("Tab")
        if widget.active().startswith("button.launcher"):
            break
    assert widget.active().startswith("button.launcher")
    page.keyboard.press("Enter")
    widget.root.locator(".panel").wait_for(state="visible")
    assert widget.active().startswith("textarea")
    page.keyboard.type("腰痛")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("怎么办")
    assert widget.root.locator("textarea").input_value() == "腰痛\n怎么办"
    with page.expect_response(lambda r: r.url.endswith("/api/chat")):
        page.keyboard.press("Enter")
    widget.last_reply().wait_for()
    assert widget.root.locator("textarea").input_value() == ""
    inside = page.evaluate("""() => {
        const root = document.querySelector('faqbot-widget').shadowRoot;
        return root.querySelector('.panel').contains(root.activeElement); }""")
    assert inside
    for _ in range(40):  # focus stays inside the open panel, both ways
        page.keyboard.press("Tab")
        assert page.evaluate("""() => {
            const root = document.querySelector('faqbot-widget').shadowRoot;
            return root.querySelector('.panel').contains(root.activeElement); }""")
    for _ in range(5):
        page.keyboard.press("Shift+Tab")
        assert not widget.active().startswith("button.launcher")
    shot(page, "08-keyboard")
    page.keyboard.press("Escape")
    widget.root.locator(".panel").wait_for(state="hidden")
    assert widget.active().startswith("button.launcher")
    assert widget.root.locator(".launcher").get_attribute("aria-expanded") == "false"


def test_markup_from_server_and_visitor_is_shown_as_text(live, page):
    widget = open_demo(live, page)
    typed = '<img src=x onerror="window.__xss=5">'
    widget.ask(typed)
    assert widget.root.locator(".msg.user").last.inner_text().endswith(typed)
    reply = widget.ask("What is the zebra-stripe rendering protocol?")
    assert reply["kind"] == "answer" and "<img" in reply["passages"][0]["text"]
    quote = widget.last_reply().locator("blockquote").first
    assert "<img src=x onerror=" in quote.inner_text()
    assert "<script>window.__xss=2</script>" in quote.inner_text()
    assert "<b onmouseover=" in quote.locator("footer").inner_text()
    assert widget.root.locator("img").count() == 0 and widget.root.locator("b").count() == 0
    quote.locator("footer").hover()
    assert page.evaluate("window.__xss") is None
    shot(page, "09-xss-as-text")


def test_narrow_mobile_viewport_is_usable(live, browser):
    context = browser.new_context(viewport={"width": 375, "height": 740}, locale="en-US",
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(live["url"] + "/")
        widget = Widget(page)
        widget.root.locator(".launcher").tap()
        panel = widget.root.locator(".panel")
        panel.wait_for(state="visible")
        box = panel.bounding_box()
        assert box["x"] == 0 and box["width"] == 375 and box["height"] == 740
        assert widget.root.locator("form button").inner_text() == "Send"  # browser language
        reply = widget.ask("腰椎间盘突出有什么症状？")
        assert reply["kind"] == "answer"
        quote = widget.last_reply().locator("blockquote").first
        quote_box = quote.bounding_box()
        assert quote_box["x"] >= 0 and quote_box["x"] + quote_box["width"] <= 375
        assert widget.root.locator("textarea").is_visible()
        assert widget.root.locator(".close").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        shot(page, "10-mobile")
    finally:
        context.close()


def test_widget_works_from_another_origin(live, page):
    page.goto(live["site"] + "/index.html")
    widget = Widget(page)
    assert widget.root.locator(".root").evaluate("el => getComputedStyle(el).left") == "20px"
    widget.open()
    assert widget.root.locator("h2").inner_text() == "Clinic helper"
    assert widget.root.locator("form button").inner_text() == "Send"  # data-lang="en"
    reply = widget.ask("Can a meningioma be prevented?")
    assert reply["kind"] == "answer"
    assert widget.last_reply().locator("blockquote").count() >= 1
    globals_added = page.evaluate("""() => {
        const f = document.createElement('iframe'); document.body.appendChild(f);
        const base = new Set(Object.getOwnPropertyNames(f.contentWindow));
        return Object.getOwnPropertyNames(window)
            .filter(k => !base.has(k) && !/^[0-9]+$/.test(k)); }""")
    assert globals_added == ["FaqBot"]


def test_session_survives_reload_and_new_conversation_resets(live, page):
    widget = open_demo(live, page)
    first = widget.ask("腰椎微创手术后腰酸是怎么回事")
    page.reload()
    widget = Widget(page)
    widget.open()
    assert widget.root.locator(".msg.user").count() == 1  # the transcript came back
    follow = widget.ask("要怎么缓解")
    assert follow["session_id"] == first["session_id"] and follow["kind"] == "answer"
    widget.root.locator("header .new").click()
    assert widget.root.locator(".msg.user").count() == 0
    fresh = widget.ask("你好")
    assert fresh["session_id"] != first["session_id"]


def test_network_failure_keeps_the_message_and_offers_retry(live, page):
    widget = open_demo(live, page)
    page.route("**/api/chat", lambda route: route.abort("connectionrefused"))
    widget.root.locator("textarea").fill("腰痛要做哪些检查")
    widget.root.locator("textarea").press("Enter")
    error = widget.root.locator(".msg.error")
    error.wait_for()
    assert "failed" in widget.root.locator(".msg.user").last.get_attribute("class")
    assert "腰痛要做哪些检查" in widget.root.locator(".msg.user").last.inner_text()
    shot(page, "11-network-error")
    page.unroute("**/api/chat")
    with page.expect_response(lambda r: r.url.endswith("/api/chat")) as response:
        error.locator("button.retry").click()
    assert json.loads(response.value.request.post_data)["message"] == "腰痛要做哪些检查"
    widget.last_reply().wait_for()
    assert widget.root.locator(".msg.error").count() == 0


def test_rate_limited_visitor_is_told_to_wait(live, page):
    from web.ratelimit import TokenBucketLimiter

    app = live["app"]
    widget = open_demo(live, page)
    original, app.state.rate_limiter = app.state.rate_limiter, TokenBucketLimiter(1)
    try:
        widget.ask("你好")
        widget.root.locator("textarea").fill("腰痛怎么办")
        with page.expect_response(lambda r: r.url.endswith("/api/chat")) as response:
            widget.root.locator("textarea").press("Enter")
        assert response.value.status == 429
        error = widget.root.locator(".msg.error")
        error.wait_for()
        assert response.value.headers["retry-after"] in error.inner_text()
        assert error.locator("button.retry").is_disabled()
    finally:
        app.state.rate_limiter = original
