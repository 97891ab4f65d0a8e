"""Operator console through the real app, on SQLite and on the real PostgreSQL server:
nothing without a session, CSRF on every form, lockout, stored XSS shown as text, filters,
review marks, exports."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from fastapi.testclient import TestClient

from backoffice.conversations import ConversationLog
from backoffice.database import Database
from backoffice.operators import MAX_FAILURES, OperatorStore
from bot.core import Bot
from tests.conftest import console_login, form_csrf, office_of
from web.app import create_app

PASSWORD = "correct horse battery"
XSS_QUESTION = '<script>alert("x")</script><img src=x onerror=alert(1)> 腰痛'


@pytest.fixture(params=["sqlite", "postgresql"])
def console(request, seed_bot, seed_settings, tmp_path):
    url = (f"sqlite:///{tmp_path}/log.sqlite" if request.param == "sqlite"
           else request.getfixturevalue("fresh_postgres_url"))
    log = ConversationLog(Database(url))
    OperatorStore(log.database).create_user("alice", PASSWORD)
    bot = Bot(seed_bot.retriever, seed_settings, recorder=log)
    settings = seed_settings.model_copy(update={"rate_limit_per_minute": 0})
    with TestClient(create_app(settings, bot=bot, office=office_of(bot))) as client:
        for question in ("确诊脑膜瘤以后要怎么随访", "护照丢了怎么补办", XSS_QUESTION,
                         "my phone is 13812345678, what is sciatica?"):
            assert client.post("/api/chat", json={"message": question}).status_code == 200
        yield client


def _login(client, username="alice", password=PASSWORD):
    return console_login(client, username, password)


def test_nothing_answers_without_a_session(console):
    for path in ("/admin", "/admin/conversations", "/admin/conversations/abc"):
        response = console.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/admin/login"
    assert console.get("/admin/export.csv").status_code == 401
    assert console.get("/admin/export.jsonl").status_code == 401
    assert console.post("/admin/exchanges/x/reviewed", data={"csrf_token": "x"}
                        ).status_code == 401
    assert console.post("/admin/logout").status_code == 401
    console.cookies.set("faqbot_admin", "forged-session-token", path="/admin")
    assert console.get("/admin/export.csv").status_code == 401


def test_login_sets_a_strict_http_only_cookie_and_logout_ends_the_session(console):
    response = _login(console)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "faqbot_admin=" in cookie and "HttpOnly" in cookie
    assert "samesite=strict" in cookie.lower() and "Path=/admin" in cookie
    listing = console.get("/admin/conversations")
    assert listing.status_code == 200 and "确诊脑膜瘤以后要怎么随访" in listing.text
    assert "frame-ancestors 'none'" in listing.headers["content-security-policy"]
    stolen = console.cookies.get("faqbot_admin")
    assert console.post("/admin/logout", data={"csrf_token": form_csrf(listing.text)},
                        follow_redirects=False).status_code == 303
    console.cookies.set("faqbot_admin", stolen, path="/admin")  # the old token is dead
    assert console.get("/admin/export.csv").status_code == 401


def test_wrong_password_and_lockout(console):
    wrong = _login(console, password="not the password")
    assert wrong.status_code == 401 and "Wrong username or password" in wrong.text
    assert _login(console, username="nobody").status_code == 401
    for _ in range(MAX_FAILURES - 1):
        _login(console, password="guess")
    assert _login(console).status_code == 401  # locked, even with the right password


def test_login_without_the_csrf_token_is_refused(console):
    console.get("/admin/login")
    response = console.post("/admin/login", data={"username": "alice", "password": PASSWORD},
                            follow_redirects=False)
    assert response.status_code == 403


def test_forms_refuse_a_missing_or_wrong_csrf_token(console):
    _login(console)
    reply_id = json.loads(console.get("/admin/export.jsonl").text.splitlines()[0])["reply_id"]
    for data in ({}, {"csrf_token": "wrong"}):
        response = console.post(f"/admin/exchanges/{reply_id}/reviewed", data=data)
        assert response.status_code == 403
    assert console.post("/admin/logout", data={"csrf_token": "wrong"}).status_code == 403


def test_stored_markup_is_shown_as_text(console):
    _login(console)
    listing = console.get("/admin/conversations").text
    assert "<script>alert" not in listing and "&lt;script&gt;alert(&#34;x&#34;)" in listing
    assert "<img src=x" not in listing
    session = json.loads(next(line for line in console.get("/admin/export.jsonl").text
                              .splitlines() if "script" in line))["session_id"]
    detail = console.get(f"/admin/conversations/{session}").text
    assert "<script>alert" not in detail and "&lt;script&gt;" in detail
    assert re.search(r'class="muted why">Why: (answer confidence|no candidate|red flag|small talk)',
                     detail)  # the path the bot took, for the operator


def test_filters_search_and_sql_like_input(console):
    _login(console)
    fallbacks = console.get("/admin/conversations", params={"kind": "fallback"}).text
    assert "护照丢了怎么补办" in fallbacks and "确诊脑膜瘤以后要怎么随访" not in fallbacks
    found = console.get("/admin/conversations", params={"text": "脑膜瘤"}).text
    assert "确诊脑膜瘤以后要怎么随访" in found and "护照" not in found
    for hostile in ("' OR 1=1 --", "%", "_", "\\", "'); DROP TABLE exchanges; --"):
        response = console.get("/admin/conversations", params={"text": hostile})
        assert response.status_code == 200 and "No exchanges match." in response.text
    junk = console.get("/admin/conversations", params={"since": "yesterday", "page": "-3",
                                                       "kind": "<b>", "lang": "xx"})
    assert junk.status_code == 200 and "确诊脑膜瘤以后要怎么随访" in junk.text
    assert "[phone]" in console.get("/admin/conversations").text  # masked before storage


def test_marking_reviewed_changes_the_filter(console):
    _login(console)
    listing = console.get("/admin/conversations")
    row = json.loads(console.get("/admin/export.jsonl").text.splitlines()[0])
    response = console.post(f"/admin/exchanges/{row['reply_id']}/reviewed",
                            data={"csrf_token": form_csrf(listing.text), "reviewed": "1"},
                            headers={"referer": "https://evil.example/admin/x"},
                            follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/x"  # back on this site, never off it
    reviewed = [json.loads(line) for line in console.get(
        "/admin/export.jsonl", params={"reviewed": "yes"}).text.splitlines()]
    assert [r["reply_id"] for r in reviewed] == [row["reply_id"]]
    assert console.post("/admin/exchanges/nope/reviewed",
                        data={"csrf_token": form_csrf(listing.text)}).status_code == 404


def test_exports_carry_the_filtered_exchanges_with_passages(console):
    _login(console)
    rows = list(csv.DictReader(io.StringIO(console.get("/admin/export.csv").text.lstrip(
        "\ufeff"))))
    assert len(rows) == 4 and {r["kind"] for r in rows} >= {"answer", "fallback"}
    answer = next(r for r in rows if r["question"] == "确诊脑膜瘤以后要怎么随访")
    assert answer["passages"] and float(answer["top_score"]) > 0
    lines = console.get("/admin/export.jsonl", params={"kind": "answer"}).text.splitlines()
    items = [json.loads(line) for line in lines]
    assert items and all(i["kind"] == "answer" and i["passages"] for i in items)
    assert all({"text", "title", "score"} <= set(i["passages"][0]) for i in items)


def test_create_user_validates(console):
    store = OperatorStore(office_of(console.app.state.bot).database)
    from bot.errors import InputError

    with pytest.raises(InputError, match="exists"):
        store.create_user("alice", PASSWORD)
    with pytest.raises(InputError, match="10 characters"):
        store.create_user("bob", "short")
    with pytest.raises(InputError, match="username"):
        store.create_user("bad name!", PASSWORD)


def test_thumbs_down_filter_follows_the_latest_rating(console):
    _login(console)
    rows = [json.loads(line) for line in console.get("/admin/export.jsonl").text.splitlines()]
    first, second = rows[0]["reply_id"], rows[1]["reply_id"]
    for reply_id, rating in ((first, "down"), (second, "down"), (second, "up")):
        assert console.post("/api/feedback", json={"reply_id": reply_id, "rating": rating}
                            ).status_code == 204
    down = [json.loads(line)["reply_id"] for line in console.get(
        "/admin/export.jsonl", params={"thumbs_down": "1"}).text.splitlines()]
    assert down == [first]


def test_the_conversation_view_names_the_red_flag_rule_and_its_words(console):
    message = "腰疼三天了，今天发现小便解不出来，肚子胀"
    reply = console.post("/api/chat", json={"message": message}).json()
    assert reply["kind"] == "urgent"
    _login(console)
    detail = console.get(f"/admin/conversations/{reply['session_id']}").text
    flag = reply["red_flags"][0]
    assert flag["words"] in message
    assert f"Red flag: <code>{flag['rule']}</code> ({flag['level']})" in detail
    assert f"triggered by “{flag['words']}”" in detail
