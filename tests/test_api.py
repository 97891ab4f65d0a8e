"""HTTP API over the real Bot, including bad input: clear 4xx, never a 500."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from web.app import create_app


@pytest.fixture(scope="module")
def client(seed_bot, seed_settings):
    with TestClient(create_app(seed_settings, bot=seed_bot)) as c:
        yield c


def test_chat_returns_a_reply(client):
    response = client.post("/api/chat", json={"message": "确诊脑膜瘤以后要怎么随访"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"reply_id", "session_id", "lang", "kind", "text", "passages",
                         "disclaimer", "suggestions"}
    assert body["kind"] == "answer" and body["lang"] == "zh"
    assert "随访" in body["passages"][0]["text"]
    assert set(body["passages"][0]) == {"text", "doc_id", "title", "url", "date", "score"}


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
    ({"message": "腰" * 5000}, "longer than"),
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
