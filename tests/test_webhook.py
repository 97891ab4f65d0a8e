"""The generic web-hook channel (web/channels/webhook.py): a second channel over the same
seam as WeChat, signed requests answered once per message id, each user a conversation,
bad input refused with a reason."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient

from bot.safety import DISCLAIMER
from tests.conftest import office_of
from web.app import create_app
from web.channels import webhook
from web.channels.webhook import signed_headers

SECRET = "a shared secret of some length"


@pytest.fixture(scope="module")
def hook_bot(own_seed_bot):
    return own_seed_bot("webhook")


@pytest.fixture(scope="module")
def client(hook_bot):
    settings = hook_bot.settings.model_copy(update={"rate_limit_per_minute": 0})
    app = create_app(settings, bot=hook_bot, office=office_of(hook_bot),
                     channels={"webhook": webhook.Settings(webhook_secret=SECRET,
                                                           webhook_max_reply_bytes=600)})
    with TestClient(app) as c:
        yield c


def _post(client, message: dict, secret: str = SECRET, timestamp: int | None = None,
          body: bytes | None = None):
    body = body if body is not None else json.dumps(message, ensure_ascii=False).encode()
    return client.post("/webhook", content=body,
                       headers=signed_headers(secret, body, timestamp))


def _logged(bot, user: str) -> list[dict]:
    return office_of(bot).conversations.session_exchanges(bot.session_for("webhook", user))


def test_a_signed_message_is_answered_with_quotes_within_the_limit(client, hook_bot):
    response = _post(client, {"message_id": "m1", "user": "u1",
                              "text": "腰椎间盘突出有什么典型症状"})
    assert response.status_code == 200
    reply = response.json()["reply"]
    assert response.json()["message_id"] == "m1"
    assert "「" in reply and DISCLAIMER["zh"] in reply
    assert len(reply.encode()) <= 600
    assert [e["channel"] for e in _logged(hook_bot, "u1")] == ["webhook"]


def test_a_retry_gets_the_same_reply_and_one_log_entry(client, hook_bot):
    message = {"message_id": "m-retry", "user": "u-retry", "text": "脑膜瘤是良性的吗"}
    first = _post(client, message)
    again = _post(client, message, timestamp=int(time.time()) + 1)  # re-signed, same id
    assert first.status_code == again.status_code == 200
    assert first.json()["reply"] == again.json()["reply"]
    assert len(_logged(hook_bot, "u-retry")) == 1


def test_each_user_is_a_conversation(client, hook_bot):
    _post(client, {"message_id": "f1", "user": "u-follow", "text": "脑膜瘤是什么"})
    _post(client, {"message_id": "f2", "user": "u-follow", "text": "那怎么治疗"})
    assert len(_logged(hook_bot, "u-follow")) == 2
    assert _logged(hook_bot, "u-other") == []


@pytest.mark.parametrize("case", ["bad signature", "no signature", "stale", "replay",
                                  "not json", "missing field", "bad user", "too large"])
def test_bad_requests_are_refused_with_a_reason(client, hook_bot, case):
    good = {"message_id": "x1", "user": "u-bad", "text": "腰痛怎么办"}
    if case == "bad signature":
        response = _post(client, good, secret="another secret of some length")
    elif case == "no signature":
        response = client.post("/webhook", json=good)
    elif case == "stale":
        response = _post(client, good, timestamp=int(time.time()) - 3600)
    elif case == "replay":  # a captured signature carrying another message
        body = json.dumps(good).encode()
        headers = signed_headers(SECRET, body)
        assert client.post("/webhook", content=body, headers=headers).status_code == 200
        forged = json.dumps({**good, "text": "别的问题"}).encode()
        response = client.post("/webhook", content=forged, headers=headers)
    elif case == "not json":
        response = _post(client, {}, body=b"\xff\xfe not json")
    elif case == "missing field":
        response = _post(client, {"message_id": "x2", "user": "u-bad"})
    elif case == "bad user":
        response = _post(client, {**good, "user": "<script>"})
    else:
        response = _post(client, {**good, "text": "痛" * 20000})
    expected = {"bad signature": 403, "no signature": 403, "stale": 403, "replay": 403,
                "not json": 400, "missing field": 400, "bad user": 422, "too large": 413}
    assert response.status_code == expected[case]
    assert response.json()["detail"]


def test_the_channel_is_off_without_a_secret(web_bot, seed_settings):
    with TestClient(create_app(seed_settings, bot=web_bot, office=office_of(web_bot))) as plain:
        assert plain.post("/webhook", json={}).status_code == 404


def test_the_readmes_channel_sketch_works_as_written(tmp_path, hook_bot, monkeypatch):
    """The README's "Adding a channel" module, taken from the README as it is."""
    import importlib
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8")
    code = re.search(r"```python\n(# web/channels/telegram\.py.*?)```", readme, re.S).group(1)
    (tmp_path / "readme_telegram.py").write_text(code, "utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    telegram = importlib.import_module("readme_telegram")
    settings = hook_bot.settings.model_copy(update={"rate_limit_per_minute": 0})
    app = create_app(settings, bot=hook_bot, office=office_of(hook_bot))
    telegram.mount(app, settings, telegram.Settings(telegram_secret_token="tg-secret"))
    update = {"message": {"message_id": 7, "chat": {"id": 42}, "text": "脑膜瘤是良性的吗"}}
    with TestClient(app) as c:
        assert c.post("/telegram", json=update).status_code == 403
        secret = {"X-Telegram-Bot-Api-Secret-Token": "tg-secret"}
        first = c.post("/telegram", json=update, headers=secret)
        again = c.post("/telegram", json=update, headers=secret)  # Telegram's retry
    assert first.status_code == again.status_code == 200
    body = first.json()
    assert body["method"] == "sendMessage" and body["chat_id"] == 42
    assert DISCLAIMER["zh"] in body["text"] and again.json() == body
    assert len(office_of(hook_bot).conversations.session_exchanges(hook_bot.session_for("telegram", "42"))) == 1
