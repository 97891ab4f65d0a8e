"""Every kind of reply says only what is true of it, in every channel: the JSON API (the
widget), the WeChat Official Account and the web-hook channel.

- urgent: the alert first, naming the sign; never "our sources don't answer"; quotes only
  if the sources answer too, and the quote disclaimer only then; no suggestions;
- fallback: no claim about quotes; suggestions only in the visitor's language;
- small talk: no claim about quotes;
- answer: quotes, and the disclaimer that says where they come from.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from bot.answer import FALLBACK
from bot.language import detect_lang
from bot.safety import DISCLAIMER, GENERAL_DISCLAIMER
from tests.conftest import office_of
from web.app import create_app
from web.channels import webhook
from web.channels.webhook import signed_headers
from web.channels.wechat.settings import WeChatAccount, WeChatSettings
from web.channels.wechat.simulate import SimulatedWeChat

MP = WeChatAccount(kind="mp", name="plain", token="kindsToken1", app_id="wxkinds00001")
SECRET = "kinds of replies secret"
QUOTES_CLAIM = {"zh": "摘自所列资料来源", "en": "These quotes come from the listed sources"}
CASES = [  # message, language, expected kind
    pytest.param("腰椎间盘突出有什么典型症状", "zh", "answer", id="answer"),
    pytest.param("What's the best laptop for programming?", "en", "fallback", id="fallback"),
    pytest.param("my back has hurt for days and now I can barely pee", "en", "urgent",
                 id="urgent-en"),
    pytest.param("腰疼好几天了，今天发现两条腿都麻了，走路发软", "zh", "urgent", id="urgent-zh"),
    pytest.param("Hello!", "en", "smalltalk", id="smalltalk"),
]


@pytest.fixture(scope="module")
def kinds_bot(own_seed_bot):
    return own_seed_bot("kinds")


@pytest.fixture(scope="module")
def client(kinds_bot):
    settings = kinds_bot.settings.model_copy(update={"rate_limit_per_minute": 0})
    channels = {"wechat": WeChatSettings(wechat_accounts=[MP]),
                "webhook": webhook.Settings(webhook_secret=SECRET)}
    with TestClient(create_app(settings, bot=kinds_bot, office=office_of(kinds_bot), channels=channels)) as c:
        yield c


def _api(client, message: str) -> tuple[dict, str]:
    response = client.post("/api/chat", json={"message": message})
    assert response.status_code == 200, response.text
    body = response.json()
    return body, body["text"]


def _wechat(client, message: str, user: str) -> str:
    sim = SimulatedWeChat(MP.kind, MP.token, MP.app_id, None, encrypt=False)
    params, body = sim.request(sim.text(message, user))
    response = client.post(sim.path, params=params, content=body,
                           headers={"content-type": "text/xml"})
    assert response.status_code == 200, response.text
    return sim.open_reply(response.content)["Content"]


def _webhook(client, message: str, user: str) -> str:
    body = json.dumps({"message_id": f"m-{user}", "user": user, "text": message},
                      ensure_ascii=False).encode()
    response = client.post("/webhook", content=body, headers=signed_headers(SECRET, body))
    assert response.status_code == 200, response.text
    return response.json()["reply"]


@pytest.mark.parametrize("message, lang, kind", CASES)
def test_each_kind_of_reply_is_consistent_in_every_channel(client, message, lang, kind):
    reply, api_text = _api(client, message)
    assert reply["kind"] == kind and reply["lang"] == lang
    user = f"{kind}-{lang}"
    texts = {"api": api_text, "wechat": _wechat(client, message, user),
             "webhook": _webhook(client, message, user)}
    quoted = bool(reply["passages"])
    for channel, text in texts.items():
        where = f"{channel}: {text}"
        if kind == "urgent":
            assert text.startswith("⚠") and text.startswith(reply["alert"][:20]), where
            assert all(flag["name"] in text.split("\n")[0] for flag in reply["red_flags"])
            assert FALLBACK[lang] not in text, where
        if kind in ("fallback", "smalltalk") or (kind == "urgent" and not quoted):
            assert QUOTES_CLAIM[lang] not in text, where
        if kind == "answer" or (kind == "urgent" and quoted):
            assert DISCLAIMER[lang] in text or channel != "api", where
            assert ("「" in text) if lang == "zh" else ("“" in text), where
        if kind == "fallback":
            assert FALLBACK[lang] in text, where
    if kind == "urgent":
        assert reply["urgency"] in ("now", "prompt") and reply["red_flags"]
        assert reply["suggestions"] == []
        assert reply["disclaimer"] == (DISCLAIMER if quoted else GENERAL_DISCLAIMER)[lang]
    if kind in ("fallback", "smalltalk"):
        assert reply["disclaimer"] == GENERAL_DISCLAIMER[lang]
    assert all(detect_lang(s) == lang for s in reply["suggestions"])


def test_the_suggestions_endpoint_gives_only_the_visitors_language(client):
    for lang in ("zh", "en"):
        response = client.get(f"/api/suggestions?lang={lang}")
        assert response.status_code == 200
        assert all(detect_lang(s) == lang for s in response.json()["suggestions"])
