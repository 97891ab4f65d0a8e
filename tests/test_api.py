"""HTTP API over the real Bot, including bad input: clear 4xx, never a 500."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

from tests.conftest import office_of
from web.app import create_app


@pytest.fixture
def client(web_bot, seed_settings):
    settings = seed_settings.model_copy(update={"rate_limit_per_minute": 0})
    with TestClient(create_app(settings, bot=web_bot, office=office_of(web_bot))) as c:
        yield c


def test_chat_returns_a_reply(client):
    response = client.post("/api/chat", json={"message": "确诊脑膜瘤以后要怎么随访"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"reply_id", "session_id", "lang", "kind", "alert", "urgency",
                         "red_flags", "message", "text", "passages", "disclaimer", "suggestions",
                         "why"}
    assert body["alert"] is None and body["urgency"] is None and body["red_flags"] == []
    assert body["message"] and body["message"] in body["text"]
    assert body["kind"] == "answer" and body["lang"] == "zh"
    assert "随访" in body["passages"][0]["text"]
    assert set(body["passages"][0]) == {"text", "doc_id", "title", "url", "date", "page",
                                           "score"}


def test_session_continues_over_http(client):
    first = client.post("/api/chat", json={"message": "腰椎微创手术后腰酸是怎么回事"}).json()
    follow = client.post("/api/chat", json={"message": "要怎么缓解",
                                            "session_id": first["session_id"]}).json()
    assert follow["session_id"] == first["session_id"] and follow["kind"] == "answer"


def test_health(client):
    body = client.get("/api/health").json()
    assert body["status"] == "ok" and body["documents"] == 4 and body["chunks"] > 20


@pytest.mark.parametrize("payload, fragment", [
    ({"message": ""}, "empty"),
    ({"message": "   "}, "empty"),
    ({"message": "腰" * 5000}, "at most 1000 characters"),
    ({"message": 12}, "message"),
    ({"message": ["a"]}, "message"),
    ({}, "message"),
    ({"message": "腰痛", "session_id": "bad id!"}, "session_id"),
])
def test_bad_requests_get_422_with_a_message(client, payload, fragment):
    response = client.post("/api/chat", json=payload)
    assert response.status_code == 422
    assert fragment in response.json()["detail"]


def test_malformed_json_and_wrong_content(client):
    for data in (b"{not json", b"", b"[]", b'"just a string"'):
        response = client.post("/api/chat", content=data,
                               headers={"content-type": "application/json"})
        assert response.status_code == 422, data
        assert response.json()["detail"]


def test_invalid_utf8_is_refused(client):
    response = client.post("/api/chat", content=b'{"message": "\xff\xfe\xfd"}',
                           headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500


def test_huge_body_is_413(client):
    body = json.dumps({"message": "x" * 200_000})
    response = client.post("/api/chat", content=body,
                           headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_server_keeps_serving_after_bad_input(client):
    client.post("/api/chat", content=b"\x00\x01", headers={"content-type": "application/json"})
    assert client.post("/api/chat", json={"message": "你好"}).json()["kind"] == "smalltalk"


def test_openapi_is_published(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/chat" in paths and "/api/health" in paths


def test_urgent_reply_carries_the_alert_separately(client):
    body = client.post("/api/chat", json={"message": "腰痛三天了，今天突然大小便失禁"}).json()
    assert body["kind"] == "urgent"
    assert body["alert"] and body["text"].startswith(body["alert"])


def test_exchanges_are_logged(client, web_bot):
    body = client.post("/api/chat", json={"message": "脑膜瘤是良性的吗"}).json()
    logged = office_of(web_bot).conversations.exchange(body["reply_id"])
    assert logged["question"] == "脑膜瘤是良性的吗" and logged["channel"] == "web"
    assert logged["kind"] == body["kind"] and logged["reply"]["passages"] == body["passages"]


def test_feedback_is_recorded_and_latest_counts(client, web_bot):
    reply_id = client.post("/api/chat", json={"message": "腰痛怎么办"}).json()["reply_id"]
    assert client.post("/api/feedback", json={"reply_id": reply_id, "rating": "up"}
                       ).status_code == 204
    response = client.post("/api/feedback", json={"reply_id": reply_id, "rating": "down",
                                                   "comment": "没有说到我的情况"})
    assert response.status_code == 204
    ratings = office_of(web_bot).conversations.feedback_for(reply_id)
    assert [r.rating for r in ratings] == ["up", "down"]
    assert ratings[-1].comment == "没有说到我的情况"


@pytest.mark.parametrize("payload, status, fragment", [
    ({"reply_id": "0" * 32, "rating": "down"}, 404, "unknown reply_id"),
    ({"reply_id": "abc", "rating": "meh"}, 422, "rating"),
    ({"reply_id": "", "rating": "up"}, 422, "reply_id"),
    ({"reply_id": "a b<script>", "rating": "up"}, 422, "reply_id"),
    ({"reply_id": "abc", "rating": "up", "comment": "x" * 3000}, 422, "comment"),
    ({"rating": "up"}, 422, "reply_id"),
])
def test_bad_feedback_is_refused_clearly(client, payload, status, fragment):
    response = client.post("/api/feedback", json=payload)
    assert response.status_code == status
    assert fragment in response.json()["detail"]


def test_suggestions_in_each_language(client):
    from bot.language import detect_lang

    zh = client.get("/api/suggestions", params={"lang": "zh", "k": 3}).json()
    assert zh["lang"] == "zh" and len(zh["suggestions"]) == 3
    assert all(detect_lang(q) == "zh" for q in zh["suggestions"])
    # The seed corpus's questions are Chinese: an English visitor gets none rather than
    # questions in a language they did not write in.
    en = client.get("/api/suggestions", params={"lang": "en", "k": 2}).json()
    assert en["lang"] == "en" and en["suggestions"] == []
    assert client.get("/api/suggestions", params={"lang": "fr"}).status_code == 422
    assert client.get("/api/suggestions", params={"k": 0}).status_code == 422


def test_openapi_lists_every_endpoint(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/chat", "/api/feedback", "/api/suggestions", "/api/health"} <= set(paths)


def test_chunked_huge_body_is_413(client):
    def chunks():
        for _ in range(100):
            yield b"x" * 10_000

    response = client.post("/api/chat", content=chunks(),
                           headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert client.post("/api/chat", json={"message": "你好"}).status_code == 200


def test_slow_answers_time_out_with_504(web_bot, seed_settings):
    settings = seed_settings.model_copy(update={"request_timeout_seconds": 0.0005})
    with TestClient(create_app(settings, bot=web_bot, office=office_of(web_bot))) as c:
        response = c.post("/api/chat", json={"message": "腰椎间盘突出能自愈吗"})
    assert response.status_code == 504 and "try again" in response.json()["detail"]


def test_rate_limit_per_client_with_retry_after(web_bot, seed_settings):
    settings = seed_settings.model_copy(update={"rate_limit_per_minute": 3,
                                                "trust_proxy_headers": True})
    # From a trusted proxy (loopback by default), the forwarded address is the client.
    with TestClient(create_app(settings, bot=web_bot, office=office_of(web_bot)), client=("127.0.0.1", 50000)) as c:
        first = {"x-forwarded-for": "203.0.113.7"}
        codes = [c.post("/api/chat", json={"message": "你好"}, headers=first).status_code
                 for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = c.post("/api/chat", json={"message": "你好"}, headers=first)
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert "wait" in limited.json()["detail"]
        other = c.post("/api/chat", json={"message": "你好"},
                       headers={"x-forwarded-for": "198.51.100.2"})
        assert other.status_code == 200
        assert c.get("/api/health").status_code == 200  # reads are not limited


def test_rate_limit_in_redis_is_shared_by_workers(web_bot, seed_settings, redis_prefix):
    import time

    import redis

    from tests.conftest import REDIS_URL, office_of
    from web.ratelimit import RedisWindowLimiter

    settings = seed_settings.model_copy(update={"rate_limit_per_minute": 2})
    apps = [create_app(settings, bot=web_bot, office=office_of(web_bot)) for _ in range(2)]
    if time.time() % 60 > 50:  # the three requests must fall in one minute's window
        time.sleep(61 - time.time() % 60)
    for app in apps:  # two workers, one counter
        app.state.rate_limiter = RedisWindowLimiter(REDIS_URL, 2, prefix=redis_prefix)
    with TestClient(apps[0]) as a, TestClient(apps[1]) as b:
        codes = [c.post("/api/chat", json={"message": "你好"}).status_code for c in (a, b, a)]
    keys = [k.decode() for k in redis.Redis.from_url(REDIS_URL).scan_iter(f"{redis_prefix}*")]
    assert keys and not any("testclient" in k for k in keys)  # hashed, not the address
    assert codes == [200, 200, 429]  # the third is refused, whichever worker it reaches


def test_cors_allows_configured_origins_only(web_bot, seed_settings):
    settings = seed_settings.model_copy(update={"allowed_origins": "https://clinic.example"})
    with TestClient(create_app(settings, bot=web_bot, office=office_of(web_bot))) as c:
        preflight = c.options("/api/chat", headers={
            "origin": "https://clinic.example", "access-control-request-method": "POST",
            "access-control-request-headers": "content-type"})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://clinic.example"
        ok = c.post("/api/chat", json={"message": "你好"},
                    headers={"origin": "https://clinic.example"})
        assert ok.headers["access-control-allow-origin"] == "https://clinic.example"
        other = c.post("/api/chat", json={"message": "你好"},
                       headers={"origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_access_log_is_structured_and_holds_no_message(client, caplog):
    marker = "腰痛独特标记XYZ"
    with caplog.at_level(logging.INFO, logger="faqbot.access"):
        client.post("/api/chat?token=secret123", json={"message": marker})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "faqbot.access"]
    assert lines and lines[-1]["path"] == "/api/chat" and lines[-1]["status"] == 200
    assert {"ts", "method", "ms", "client"} <= set(lines[-1])
    everything = "\n".join(r.getMessage() for r in caplog.records)
    assert marker not in everything and "secret123" not in everything
    # The client is a salted hash: not the address, not its plain hash.
    import hashlib

    assert "testclient" not in everything
    assert hashlib.sha256(b"testclient").hexdigest()[:12] not in everything


def test_widget_is_cached_and_compressed(client):
    response = client.get("/widget.js", headers={"accept-encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/javascript")
    assert "max-age" in response.headers["cache-control"] and response.headers["etag"]
    assert response.headers["content-encoding"] == "gzip"
    assert "window.FaqBot" in response.text
    again = client.get("/widget.js", headers={"if-none-match": response.headers["etag"]})
    assert again.status_code == 304 and not again.content


def test_demo_and_embed_pages(client):
    demo = client.get("/")
    assert demo.status_code == 200 and 'src="/widget.js"' in demo.text
    assert "content-security-policy" in demo.headers
    embed = client.get("/embed")
    assert embed.status_code == 200 and "data-position" in embed.text


def test_health_reports_the_session_store(client):
    assert client.get("/api/health").json()["sessions"] == "InMemorySessionStore"
