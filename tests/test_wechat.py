"""The WeChat channel end to end: callbacks signed and encrypted the way WeChat sends them,
through the real FastAPI app and the real bot (seed corpus), in plain and safe mode, for
the Official Account and WeCom endpoints; retries, replays and hostile bodies."""

from __future__ import annotations

import json
import threading
import time

import pytest
from fastapi.testclient import TestClient

from bot.answer import FALLBACK
from bot.safety import DISCLAIMER, GENERAL_DISCLAIMER
from tests.conftest import REDIS_URL, office_of
from web.app import create_app
from web.channels.wechat import text
from web.channels.wechat.crypto import sign
from web.channels.wechat.settings import WeChatAccount, WeChatSettings
from web.channels.wechat.simulate import SimulatedWeChat

MP = WeChatAccount(kind="mp", name="clinic", token="mpToken123",
                   aes_key="abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", app_id="wxclinic0001")
MP_PLAIN = WeChatAccount(kind="mp", name="plain", token="plainToken9", app_id="wxplain00002")
MP_COMPATIBLE = WeChatAccount(kind="mp", name="compat", token="compatToken7",
                              aes_key="ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut",
                              app_id="wxcompat0003", accept_plaintext=True)
WECOM = WeChatAccount(kind="wecom", name="hospital", token="QDG6eK",
                      aes_key="jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
                      app_id="wx5823bf96d3bd56c7", agent_id="1000002")
CDATA_ENTRY = {
    "id": "cdata-1",
    "question": "What does the bracket-arrow marker mean in the records?",
    "answer": "The bracket-arrow marker ]]> closes nothing here; <Content>tags</Content> are "
              "plain text in the records.",
    "title": "Record markers ]]> guide",
}
QUESTION = "确诊脑膜瘤以后要怎么随访"


def _sim(account: WeChatAccount, encrypt: bool = True) -> SimulatedWeChat:
    return SimulatedWeChat(account.kind, account.token, account.app_id, account.aes_key,
                           encrypt=encrypt, agent_id=account.agent_id)


@pytest.fixture(scope="module")
def wechat_bot(own_seed_bot):
    """The seed corpus plus one entry whose text holds `]]>`, with a conversation log."""
    return own_seed_bot("wechat", [CDATA_ENTRY])


def _app(bot, **overrides):
    wechat = {k: overrides.pop(k) for k in list(overrides) if k in WeChatSettings.model_fields}
    settings = bot.settings.model_copy(update={"rate_limit_per_minute": 0, **overrides})
    channel = WeChatSettings(wechat_accounts=[MP, MP_PLAIN, MP_COMPATIBLE, WECOM], **wechat)
    return create_app(settings, bot=bot, office=office_of(bot), channels={"wechat": channel})


@pytest.fixture(scope="module")
def client(wechat_bot):
    with TestClient(_app(wechat_bot)) as c:
        yield c


def _post(client, sim: SimulatedWeChat, message_xml: str, **request_kw):
    params, body = sim.request(message_xml, **request_kw)
    return client.post(sim.path, params=params, content=body,
                       headers={"content-type": "text/xml"})


def _ask(client, sim: SimulatedWeChat, message_xml: str) -> dict[str, str]:
    response = _post(client, sim, message_xml)
    assert response.status_code == 200, response.text
    if sim.encrypt and response.text != "success":
        assert "<Encrypt>" in response.text and "<Content>" not in response.text
    return sim.open_reply(response.content)


def _exchanges(bot, channel: str, account: str, user: str) -> list[dict]:
    return office_of(bot).conversations.session_exchanges(bot.session_for(channel, f"{account}:{user}"))


ENDPOINTS = [
    pytest.param(MP_PLAIN, False, "wechat-mp", id="official-account-plain"),
    pytest.param(MP, True, "wechat-mp", id="official-account-safe-mode"),
    pytest.param(WECOM, True, "wecom", id="wecom"),
]


# ---------------------------------------------------------------- URL verification
def test_official_account_verification_echoes(client):
    sim = _sim(MP_PLAIN, encrypt=False)
    response = client.get(sim.path, params=sim.verification("8861234567890"))
    assert response.status_code == 200 and response.text == "8861234567890"


def test_wecom_verification_decrypts_echostr(client):
    sim = _sim(WECOM)
    response = client.get(sim.path, params=sim.verification("1616140317555161061"))
    assert response.status_code == 200 and response.text == "1616140317555161061"


@pytest.mark.parametrize("account", [MP, WECOM], ids=["mp", "wecom"])
def test_verification_refusals(client, account):
    sim = _sim(account)
    good = sim.verification("42")
    signature = "signature" if account.kind == "mp" else "msg_signature"
    wrong = {**good, signature: "0" * 40}
    stale = sim.verification("42", timestamp=int(time.time()) - 3600)
    missing = {k: v for k, v in good.items() if k != "nonce"}
    assert client.get(sim.path, params=wrong).status_code == 403
    assert client.get(sim.path, params=stale).status_code == 403
    assert client.get(sim.path, params=missing).status_code == 400


# ---------------------------------------------------------------- messages
@pytest.mark.parametrize("account, encrypt, channel", ENDPOINTS)
def test_text_message_is_answered_with_quotes_and_logged(client, wechat_bot, account,
                                                         encrypt, channel):
    sim = _sim(account, encrypt)
    user = f"user-{channel}-{encrypt}"
    reply = _ask(client, sim, sim.text(QUESTION, user))
    assert reply["ToUserName"] == user and reply["FromUserName"] == sim.account_user
    assert reply["MsgType"] == "text"
    content = reply["Content"]
    assert "随访" in content and "1.「" in content and content.endswith(DISCLAIMER["zh"])
    assert len(content.encode()) <= text.MAX_TEXT_BYTES
    logged = _exchanges(wechat_bot, channel, account.name, user)
    assert [(e["channel"], e["question"], e["kind"]) for e in logged] == [
        (channel, QUESTION, "answer")]


@pytest.mark.parametrize("account, encrypt, channel", ENDPOINTS)
def test_voice_with_recognition_is_answered_as_text(client, wechat_bot, account, encrypt,
                                                     channel):
    sim = _sim(account, encrypt)
    user = f"voice-{channel}-{encrypt}"
    reply = _ask(client, sim, sim.message("voice", user, MediaId="m1", Format="amr",
                                          Recognition=QUESTION + "。"))
    assert "随访" in reply["Content"] and reply["Content"].endswith(DISCLAIMER["zh"])
    assert [e["question"] for e in _exchanges(wechat_bot, channel, account.name, user)] == [
        QUESTION + "。"]


@pytest.mark.parametrize("account, encrypt, channel", ENDPOINTS)
def test_image_and_unrecognised_voice_get_a_polite_text_reply(client, wechat_bot, account,
                                                              encrypt, channel):
    sim = _sim(account, encrypt)
    user = f"media-{channel}-{encrypt}"
    image = _ask(client, sim, sim.message("image", user, PicUrl="http://x/y.jpg", MediaId="1"))
    assert image["Content"] == text.TEXT_ONLY
    voice = _ask(client, sim, sim.message("voice", user, MediaId="m", Format="amr"))
    assert voice["Content"] == text.TEXT_ONLY  # speech recognition switched off
    unclear = _ask(client, sim, sim.message("voice", user, MediaId="m", Recognition=""))
    assert unclear["Content"] == text.VOICE_UNRECOGNISED
    assert _exchanges(wechat_bot, channel, account.name, user) == []


@pytest.mark.parametrize("account, encrypt, channel", ENDPOINTS)
def test_subscribe_gets_a_welcome_and_other_events_get_success(client, account, encrypt,
                                                               channel):
    sim = _sim(account, encrypt)
    welcome = _ask(client, sim, sim.message("event", "newcomer", Event="subscribe"))
    content = welcome["Content"]
    assert content.startswith("您好") and "您可以问我" in content and "• " in content
    for event in ("unsubscribe", "CLICK", "VIEW", "LOCATION", "enter_agent"):
        response = _post(client, sim, sim.message("event", "newcomer", Event=event,
                                                  EventKey="k"))
        assert response.status_code == 200 and response.text == "success"


def test_an_urgent_question_starts_with_the_alert(client):
    sim = _sim(MP)
    content = _ask(client, sim, sim.text("腰痛三天了，今天突然小便解不出来", "urgent-user"))["Content"]
    assert content.startswith("⚠") and "120" in content.splitlines()[0]
    assert "尿不出来" in content.splitlines()[0]  # the sign, named
    # nothing quoted: no "sources don't answer", no claim about quotes
    assert FALLBACK["zh"] not in content and DISCLAIMER["zh"] not in content
    assert content.endswith(GENERAL_DISCLAIMER["zh"])


def test_the_conversation_keeps_its_context_per_user(client, wechat_bot):
    sim = _sim(MP)
    _ask(client, sim, sim.text("腰椎微创手术后腰酸是怎么回事", "follow-user"))
    follow = _ask(client, sim, sim.text("要怎么缓解", "follow-user"))
    kinds = [e["kind"] for e in _exchanges(wechat_bot, "wechat-mp", "clinic", "follow-user")]
    assert kinds == ["answer", "answer"] and "1.「" in follow["Content"]


def test_content_with_cdata_terminators_round_trips(client):
    sim = _sim(MP)
    reply = _ask(client, sim, sim.text("What does the bracket-arrow marker ]]> mean in the "
                                       "records?", "cdata-user"))
    assert "]]>" in reply["Content"] and "<Content>tags</Content>" in reply["Content"]
    assert reply["MsgType"] == "text"


def test_too_long_a_message_gets_a_polite_reply(client):
    sim = _sim(MP)
    reply = _ask(client, sim, sim.text("腰痛" * 600, "long-user"))
    assert reply["Content"] == text.UNREADABLE["zh"]


def test_second_account_is_told_apart_by_its_token(client, wechat_bot):
    sim = _sim(MP_PLAIN, encrypt=False)
    reply = _ask(client, sim, sim.text(QUESTION, "second-account-user"))
    assert "随访" in reply["Content"]
    assert len(_exchanges(wechat_bot, "wechat-mp", "plain", "second-account-user")) == 1
    assert _exchanges(wechat_bot, "wechat-mp", "clinic", "second-account-user") == []


# ---------------------------------------------------------------- retries
def test_retries_of_one_message_are_answered_once_with_the_same_reply(client, wechat_bot):
    sim = _sim(MP)
    message = sim.text("腰椎间盘突出症的症状有哪些", "retry-user", msg_id="7301")
    results: list[dict] = []

    def send():
        results.append(_ask(client, sim, message))

    threads = [threading.Thread(target=send) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    send()  # and one more after the answer is known
    assert len({r["Content"] for r in results}) == 1 and "1.「" in results[0]["Content"]
    assert len(_exchanges(wechat_bot, "wechat-mp", "clinic", "retry-user")) == 1


def test_event_retries_are_deduplicated_by_sender_and_time(client):
    sim = _sim(WECOM)
    event = sim.message("event", "event-user", Event="subscribe", create_time=1_700_000_000)
    first, second = _ask(client, sim, event), _ask(client, sim, event)
    assert first["Content"] == second["Content"] and first["Content"].startswith("您好")


def test_an_answer_not_ready_in_time_gets_success_and_is_still_logged(wechat_bot):
    with TestClient(_app(wechat_bot, wechat_reply_budget_seconds=0.001)) as slow:
        sim = _sim(MP)
        # Worded as no other test asks it: its vectors are computed, not remembered.
        message = sim.text("确诊了脑膜瘤，以后要怎么随访？", "impatient-user", msg_id="7302")
        assert _post(slow, sim, message).text == "success"
        deadline = time.monotonic() + 30
        while not _exchanges(wechat_bot, "wechat-mp", "clinic", "impatient-user"):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        # WeChat would not retry after "success"; if it did, it would get the answer.
        assert "随访" in _ask(slow, sim, message)["Content"]


def test_retries_reaching_another_worker_are_deduplicated_through_redis(wechat_bot):
    sim = _sim(WECOM)
    message = sim.text("脑膜瘤有哪些症状", "two-workers-user")
    with (TestClient(_app(wechat_bot, redis_url=REDIS_URL)) as one,
          TestClient(_app(wechat_bot, redis_url=REDIS_URL)) as two):
        first = _ask(one, sim, message)
        second = _ask(two, sim, message)
    assert first["Content"] == second["Content"] and first["Content"].endswith(DISCLAIMER["zh"])
    assert len(_exchanges(wechat_bot, "wecom", "hospital", "two-workers-user")) == 1


# ---------------------------------------------------------------- forgeries
def _forged(sim: SimulatedWeChat, user: str) -> bytes:
    return sim.text("腰椎间盘突出症的症状有哪些", user).encode()


@pytest.mark.parametrize("encrypt_type", ["raw", None], ids=["raw", "no-encrypt-type"])
def test_an_account_with_an_aes_key_refuses_plaintext(client, wechat_bot, encrypt_type):
    """A genuine safe-mode callback's query string (its `signature` covers only token,
    timestamp and nonce) with a forged plaintext body and someone else's openid."""
    sim = _sim(MP)
    params, _ = sim.request(sim.text(QUESTION, "real-user"))
    params.pop("msg_signature")
    params.pop("encrypt_type")
    if encrypt_type:
        params["encrypt_type"] = encrypt_type
    response = client.post(sim.path, params=params, content=_forged(sim, "spoofed-openid"))
    assert response.status_code == 403 and "encrypted" in response.text
    assert _exchanges(wechat_bot, "wechat-mp", "clinic", "spoofed-openid") == []


def test_compatible_mode_takes_plaintext_only_when_turned_on(client, wechat_bot):
    for encrypt in (False, True):
        sim = _sim(MP_COMPATIBLE, encrypt)
        assert "随访" in _ask(client, sim, sim.text(QUESTION, f"compat-{encrypt}"))["Content"]
        assert len(_exchanges(wechat_bot, "wechat-mp", "compat", f"compat-{encrypt}")) == 1


def test_a_verification_url_reused_as_a_post_is_refused(client, wechat_bot):
    sim = _sim(MP_PLAIN, encrypt=False)
    params = sim.verification("5566778899")
    assert client.get(sim.path, params=params).text == "5566778899"
    reused = {k: v for k, v in params.items() if k != "echostr"}
    response = client.post(sim.path, params=reused, content=_forged(sim, "forged-user"))
    assert response.status_code == 403 and "used already" in response.text
    assert _exchanges(wechat_bot, "wechat-mp", "plain", "forged-user") == []



def _content(xml: str) -> str:
    """A reply without its envelope's CreateTime (the second it was sent)."""
    import re

    return re.sub(r"<CreateTime>\d+</CreateTime>", "", xml)


def test_a_signed_url_is_accepted_once_whatever_the_body(client, wechat_bot):
    sim = _sim(MP_PLAIN, encrypt=False)
    params, body = sim.request(sim.text(QUESTION, "genuine-user", msg_id="9901"))
    first = client.post(sim.path, params=params, content=body)
    assert first.status_code == 200 and "随访" in first.text
    # Within the 300 s window, with a new body and MsgId: refused, nothing logged.
    forged = sim.text("腰椎间盘突出症的症状有哪些", "forged-user-2", msg_id="9902").encode()
    response = client.post(sim.path, params=params, content=forged)
    assert response.status_code == 403 and "used already" in response.text
    assert _exchanges(wechat_bot, "wechat-mp", "plain", "forged-user-2") == []
    # The same request again byte for byte (WeChat's retry) gets the same answer, once.
    again = client.post(sim.path, params=params, content=body)
    assert again.status_code == 200 and _content(again.text) == _content(first.text)
    assert len(_exchanges(wechat_bot, "wechat-mp", "plain", "genuine-user")) == 1


def test_a_signed_url_used_on_one_worker_is_refused_on_another(wechat_bot):
    sim = _sim(MP_PLAIN, encrypt=False)
    params, body = sim.request(sim.text(QUESTION, "worker-user"))
    with (TestClient(_app(wechat_bot, redis_url=REDIS_URL)) as one,
          TestClient(_app(wechat_bot, redis_url=REDIS_URL)) as two):
        assert one.post(sim.path, params=params, content=body).status_code == 200
        forged = two.post(sim.path, params=params, content=_forged(sim, "worker-forger"))
    assert forged.status_code == 403
    assert _exchanges(wechat_bot, "wechat-mp", "plain", "worker-forger") == []


def test_a_web_visitor_cannot_join_a_wechat_conversation(client, wechat_bot):
    sim = _sim(MP)
    _ask(client, sim, sim.text("腰椎微创手术后腰酸是怎么回事", "private-user"))
    session = wechat_bot.session_for("wechat-mp", "clinic:private-user")
    for guess in (session, "wechat-mp:clinic:private-user"):
        reply = client.post("/api/chat", json={"message": "要怎么缓解", "session_id": guess})
        assert reply.status_code == 200
        assert reply.json()["session_id"] != guess
        assert reply.json()["session_id"].startswith("web:")
    # The WeChat user's conversation was neither read nor written from the web.
    assert [t.question for t in wechat_bot.sessions.recent(session)] == [
        "腰椎微创手术后腰酸是怎么回事"]
    assert [e["channel"] for e in office_of(wechat_bot).conversations.session_exchanges(session)] == [
        "wechat-mp"]
    follow = _ask(client, sim, sim.text("要怎么缓解", "private-user"))["Content"]
    assert "1.「" in follow  # and on WeChat it still continues


# ---------------------------------------------------------------- refusals
def test_stale_timestamp_and_wrong_signature_are_refused(client):
    for account, encrypt in ((MP_PLAIN, False), (MP, True), (WECOM, True)):
        sim = _sim(account, encrypt)
        stale = _post(client, sim, sim.text("腰痛"), timestamp=int(time.time()) - 301)
        assert stale.status_code == 403 and "timestamp" in stale.text
        params, body = sim.request(sim.text("腰痛"))
        key = "msg_signature" if encrypt else "signature"
        params[key] = "f" * 40
        wrong = client.post(sim.path, params=params, content=body)
        assert wrong.status_code == 403 and "Traceback" not in wrong.text


def test_a_message_for_another_appid_or_corpid_is_refused(client):
    for account in (MP, WECOM):
        other = account.model_copy(update={"app_id": "wxsomebodyelse"})
        response = _post(client, _sim(other), _sim(other).text("腰痛"))
        assert response.status_code == 403 and "AppID/CorpID" in response.text


def test_a_wecom_message_for_another_agent_is_refused(client):
    sim = _sim(WECOM.model_copy(update={"agent_id": "999"}))
    assert _post(client, sim, sim.text("腰痛")).status_code == 403


BILLION_LAUGHS = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "ha"><!ENTITY b '
                  '"&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
                  "<xml><ToUserName>gh</ToUserName><FromUserName>u</FromUserName>"
                  "<MsgType>text</MsgType><Content>&c;</Content><MsgId>1</MsgId></xml>")
XXE = ('<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><ToUserName>gh'
       "</ToUserName><FromUserName>u</FromUserName><MsgType>text</MsgType>"
       "<Content>&x;</Content><MsgId>2</MsgId></xml>")


@pytest.mark.parametrize("account, encrypt, channel", ENDPOINTS)
@pytest.mark.parametrize("body", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe"])
def test_doctype_and_entities_are_refused_outside_and_inside_the_encryption(
        client, account, encrypt, channel, body):
    sim = _sim(account, encrypt)
    response = _post(client, sim, body)  # encrypted, the DTD arrives inside the payload
    assert response.status_code == 400 and "DTD" in response.text
    if encrypt:  # and as the envelope itself
        params, _ = sim.request("<xml/>")
        response = client.post(sim.path, params=params, content=body.encode())
        assert response.status_code == 400


@pytest.mark.parametrize("account", [MP, WECOM], ids=["mp", "wecom"])
def test_broken_encrypted_bodies_get_400(client, account):
    sim = _sim(account)
    params, _ = sim.request("<xml/>")
    ts, nonce = params["timestamp"], params["nonce"]
    for encrypt in ("%%%not-base64%%%", "QUJD", "A" * 64):
        signed = {**params, "msg_signature": sign(account.token, ts, nonce, encrypt)}
        body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()
        response = client.post(sim.path, params=signed, content=body)
        assert response.status_code == 400, encrypt
    missing = client.post(sim.path, params=params, content=b"<xml><ToUserName>x</ToUserName></xml>")
    assert missing.status_code == 400 and "Encrypt" in missing.text
    for junk in (b"", b"\x00\x01binary\xff", b"{\"json\": true}", b"<xml><unclosed></xml>"):
        assert client.post(sim.path, params=params, content=junk).status_code == 400


def test_an_oversized_body_is_refused_before_parsing(client):
    sim = _sim(MP_PLAIN, encrypt=False)
    params, _ = sim.request("<xml/>")
    huge = b"<xml><Content>" + b"a" * 20_000 + b"</Content></xml>"
    assert client.post(sim.path, params=params, content=huge).status_code == 413

    def chunks():
        for _ in range(40):
            yield b"a" * 1000

    assert client.post(sim.path, params=params, content=chunks()).status_code == 413


def test_malformed_sender_and_unknown_encrypt_type_get_400(client):
    sim = _sim(MP_PLAIN, encrypt=False)
    response = _post(client, sim, sim.text("腰痛", user="bad user<>"))
    assert response.status_code == 400
    params, body = sim.request(sim.text("腰痛"))
    assert client.post(sim.path, params={**params, "encrypt_type": "rot13"},
                       content=body).status_code == 400


def test_the_channel_is_off_unless_configured(web_bot, seed_settings):
    with TestClient(create_app(seed_settings, bot=web_bot, office=office_of(web_bot))) as plain:
        assert plain.get("/wechat/mp").status_code == 404
        assert plain.post("/wechat/work", content=b"<xml/>").status_code == 404


def test_accounts_from_flat_environment_variables(monkeypatch):
    monkeypatch.setenv("FAQBOT_WECHAT_MP_TOKEN", "tok123")
    monkeypatch.setenv("FAQBOT_WECHAT_MP_APP_ID", "wx123")
    monkeypatch.setenv("FAQBOT_WECOM_TOKEN", "tok456")
    monkeypatch.setenv("FAQBOT_WECOM_AES_KEY", WECOM.aes_key)
    monkeypatch.setenv("FAQBOT_WECOM_CORP_ID", "ww123")
    monkeypatch.setenv("FAQBOT_WECHAT_ACCOUNTS", json.dumps([MP.model_dump()]))
    accounts = WeChatSettings().account_list()
    assert [(a.kind, a.name, a.app_id) for a in accounts] == [
        ("mp", "default", "wx123"), ("wecom", "default", "ww123"), ("mp", "clinic",
                                                                     "wxclinic0001")]
    monkeypatch.setenv("FAQBOT_WECOM_AES_KEY", "short")
    with pytest.raises(ValueError, match="EncodingAESKey"):
        WeChatSettings().account_list()
