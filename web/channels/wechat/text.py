"""WeChat's words and limits for web.channels.text: a reply as one WeChat text message
(source titles as links, within 2,048 bytes), the welcome, and the replies to what the
bot cannot read."""

from __future__ import annotations

from collections.abc import Sequence

from bot.answer import suggestion_list
from bot.models import Reply
from web.channels import text as channel_text
from web.channels.text import UNAVAILABLE, UNREADABLE, clip_bytes, trim

__all__ = ["MAX_TEXT_BYTES", "TEXT_ONLY", "UNAVAILABLE", "UNREADABLE", "VOICE_UNRECOGNISED",
           "WELCOME", "clip_bytes", "render_reply", "trim", "welcome"]

# WeChat cuts a text reply longer than this many bytes of UTF-8 (~680 Chinese characters).
MAX_TEXT_BYTES = 2048

WELCOME = ("您好！我是腰背痛与脊柱健康资料问答助手。请直接输入您的问题，我会摘录资料原文回答，并注明来源。\n\n"
           "{examples}"
           "本服务只提供一般健康信息，不能代替医生的诊断和治疗；如有紧急情况，请立即就医或拨打 120。")
TEXT_ONLY = ("抱歉，我目前只能阅读文字消息，请用文字输入您的问题。\n"
             "Sorry, I can only read text messages; please type your question.")
VOICE_UNRECOGNISED = ("抱歉，没能识别这条语音，请用文字输入您的问题。\n"
                      "Sorry, I couldn't make out that voice message; please type your question.")


def _anchor(title: str, url: str) -> str:
    return f'<a href="{url}">{title}</a>'  # WeChat shows it as a link in the chat


def render_reply(reply: Reply, limit: int = MAX_TEXT_BYTES) -> str:
    return channel_text.render_reply(reply, limit, _anchor)


def welcome(examples: Sequence[str]) -> str:
    return WELCOME.format(examples=suggestion_list("zh", examples) + "\n\n" if examples else "")
