"""WeChat protocol pieces on their own: Tencent's known-answer vectors, hostile XML, CDATA,
and fitting a reply into one text message."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from bot.models import Passage, Reply
from bot.safety import DISCLAIMER
from web.channels.wechat import messages, text
from web.channels.wechat.crypto import (
    CallbackError,
    MessageCipher,
    ReceiverMismatch,
    sign,
    signature_matches,
)

# Tencent's published callback samples (a copy of ../shared/wechat/known_answer_vectors.json,
# so the tests run without the shared folder).
VECTORS = json.loads((Path(__file__).parent / "data" / "wechat_known_answer_vectors.json")
                     .read_text(encoding="utf-8"))


# ---------------------------------------------------------------- known answers
def test_plain_signature_known_answer():
    v = VECTORS["plain_signature"]
    assert sign(v["token"], v["timestamp"], v["nonce"]) == v["signature"]
    assert signature_matches(v["signature"].upper(), v["token"], v["timestamp"], v["nonce"])
    assert not signature_matches(v["signature"][:-1] + "0", v["token"], v["timestamp"],
                                 v["nonce"])


def test_official_account_encrypt_with_fixed_random_known_answer():
    v = VECTORS["oa_encrypt_fixed_random"]
    cipher = MessageCipher(v["encoding_aes_key"], v["appid"])
    assert cipher.encrypt(v["plaintext"], v["random16"].encode()) == v["ciphertext_b64"]
    assert cipher.decrypt(v["ciphertext_b64"]) == v["plaintext"]


@pytest.mark.parametrize("name, receive_id", [("oa_decrypt_sample", "appid"),
                                              ("wecom_post", "corpid")])
def test_encrypted_message_known_answers(name, receive_id):
    v = VECTORS[name]
    assert signature_matches(v["msg_signature"], v["token"], v["timestamp"], v["nonce"],
                             v["encrypt"])
    message = messages.parse(MessageCipher(v["encoding_aes_key"], v[receive_id])
                             .decrypt(v["encrypt"]).encode())
    assert {k: message[k] for k in v["expect"]} == v["expect"]


def test_wecom_url_verification_known_answer():
    v = VECTORS["wecom_verify_url"]
    assert signature_matches(v["msg_signature"], v["token"], v["timestamp"], v["nonce"],
                             v["echostr"])
    cipher = MessageCipher(v["encoding_aes_key"], v["corpid"])
    assert cipher.decrypt(v["echostr"]) == v["expect_echostr_plain"]


# ---------------------------------------------------------------- refusals
@pytest.fixture
def cipher():
    v = VECTORS["oa_encrypt_fixed_random"]
    return MessageCipher(v["encoding_aes_key"], v["appid"])


def test_decrypt_refuses_another_receiver(cipher):
    other = MessageCipher(VECTORS["oa_encrypt_fixed_random"]["encoding_aes_key"], "wxother")
    with pytest.raises(ReceiverMismatch):
        cipher.decrypt(other.encrypt("<xml/>"))


@pytest.mark.parametrize("ciphertext", [
    "", "not base64 at all!", "YWJj", base64.b64encode(b"x" * 31).decode(),
    base64.b64encode(b"\x00" * 64).decode(),
])
def test_decrypt_refuses_garbage(cipher, ciphertext):
    with pytest.raises(CallbackError):
        cipher.decrypt(ciphertext)


def test_decrypt_refuses_a_tampered_message(cipher):
    sealed = bytearray(base64.b64decode(cipher.encrypt("<xml><Content>hi</Content></xml>")))
    sealed[-20] ^= 0x55  # damages the last block: padding or receive id no longer check out
    with pytest.raises(CallbackError):
        cipher.decrypt(base64.b64encode(bytes(sealed)).decode())


def test_a_bad_encoding_aes_key_is_refused_at_start():
    with pytest.raises(ValueError):
        MessageCipher("too-short", "wx1")


def test_signature_check_survives_non_ascii_input():
    assert not signature_matches("签名" * 20, "token", "1", "2")


# ---------------------------------------------------------------- XML
@pytest.mark.parametrize("body", [
    b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
    b"<xml><Content>&b;</Content></xml>",
    b'<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><Content>&xxe;</Content>'
    b"</xml>",
    b'<!DOCTYPE xml SYSTEM "http://example.com/x.dtd"><xml/>',
    b"<xml><Content>unclosed</xml>",
    b"<html><Content>x</Content></html>",
    b"\x00\xff\xfe garbage",
    b"   ",
])
def test_hostile_or_malformed_xml_is_refused(body):
    with pytest.raises(CallbackError):
        messages.parse(body)


def test_cdata_cannot_be_broken_out_of():
    content = "a]]><Injected>1</Injected><![CDATA[b ]]> end\x01"
    parsed = messages.parse(messages.text_reply("user", "gh_x", content, now=1).encode())
    assert parsed["Content"] == content.replace("\x01", "")
    assert "Injected" not in parsed and parsed["MsgType"] == "text"


# ---------------------------------------------------------------- fitting a text reply
def _reply(passages: list[Passage], alert: str | None = None, suggestions=()) -> Reply:
    return Reply(reply_id="r", session_id="s", lang="zh", kind="urgent" if alert else "answer",
                 alert=alert, message="以下是资料中的相关内容（原文摘录）：", text="",
                 passages=passages, disclaimer=DISCLAIMER["zh"], suggestions=list(suggestions))


def _passage(body: str, title: str = "腰椎间盘突出症", url: str | None = None) -> Passage:
    return Passage(text=body, doc_id="d", title=title, url=url, score=0.9)


def test_a_short_answer_is_sent_whole_with_links_and_suggestions():
    reply = _reply([_passage("腰痛很常见。", url="https://example.org/a?b=1")],
                   suggestions=["腰痛怎么办？"])
    rendered = text.render_reply(reply)
    assert "1.「腰痛很常见。」" in rendered
    assert '<a href="https://example.org/a?b=1">腰椎间盘突出症</a>' in rendered
    assert "腰痛怎么办？" in rendered and rendered.endswith(DISCLAIMER["zh"])


def test_a_chinese_reply_near_the_limit_is_trimmed_to_fit_at_sentence_ends():
    sentence = "腰椎间盘突出症是在椎间盘退变的基础上发生的，表现为腰痛和下肢放射痛。"
    passages = [_passage(sentence * 12, title=f"资料{i}") for i in range(3)]
    alert = "⚠ 您描述的情况（大小便失禁）可能需要紧急处理。请立即就医：前往医院急诊，或拨打 120。"
    rendered = text.render_reply(_reply(passages, alert, ["问题一？", "问题二？"]))
    assert len(rendered.encode()) <= text.MAX_TEXT_BYTES
    assert len(rendered.encode()) > text.MAX_TEXT_BYTES * 0.6  # uses the room it has
    assert rendered.startswith(alert) and rendered.endswith(DISCLAIMER["zh"])
    assert "1.「" in rendered and "——资料0" in rendered
    assert "。…」" in rendered  # cut after a whole sentence


def test_quotes_are_dropped_last_and_the_disclaimer_always_stays():
    passages = [_passage("长" * 3000, title="标题" * 200) for _ in range(3)]
    rendered = text.render_reply(_reply(passages))
    assert len(rendered.encode()) <= text.MAX_TEXT_BYTES
    assert rendered.endswith(DISCLAIMER["zh"])


def test_unsafe_links_are_shown_as_plain_titles():
    rendered = text.render_reply(_reply([_passage("内容。", title="<b>T</b>",
                                                  url='javascript:alert("x")')]))
    assert "<a " not in rendered and "javascript" not in rendered and "——bT/b" in rendered


@pytest.mark.parametrize("sample", ["👨‍👩‍👧" * 40, "e\u0301" * 100, "👍🏽" * 60])
def test_trimming_never_splits_a_character(sample):
    for cap in range(1, 60):
        trimmed = text.trim(sample, cap).rstrip("…")
        assert sample.startswith(trimmed)
        rest = sample[len(trimmed):]
        assert not rest or rest[0] not in "\u200d\u0301\U0001f3fd" and trimmed[-1:] != "\u200d"
    clipped = text.clip_bytes(sample * 30, 101)
    assert len(clipped.encode()) <= 101 and (sample * 30).startswith(clipped.rstrip("…"))


def test_welcome_lists_example_questions_in_chinese():
    rendered = text.welcome(["腰痛怎么办？", "脑膜瘤是什么？"])
    assert "• 腰痛怎么办？" in rendered and "您可以问我" in rendered and "120" in rendered
