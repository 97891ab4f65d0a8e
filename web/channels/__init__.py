"""Channels: adapters between a messaging platform and `Bot.ask`, over one interface.

A channel is one module listed in CHANNELS. It has
- `NAME`, and `Settings`: its own pydantic settings class, read from the FAQBOT_*
  environment like the core's (nothing of a channel is in bot.config.Settings);
- `mount(app, core, settings)`: the routes of its callbacks on the FastAPI app, none when
  the channel is not configured.

What every text channel needs is here: each message answered once by its id, a platform's
retries getting the same reply (once.ReplyCache, in Redis with FAQBOT_REDIS_URL), each
signed request accepted once (once.SignedOnce), and a reply rendered as one text within
the platform's limit (text.render_reply, `answer_as_text`). The README shows how to add
one (a LINE, Telegram or web-hook module).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from bot.errors import InputError
from bot.language import detect_lang
from bot.models import Reply
from web.channels.text import UNAVAILABLE, UNREADABLE

log = logging.getLogger(__name__)

CHANNELS: tuple[str, ...] = ("web.channels.wechat.routes", "web.channels.webhook")


def mount_channels(app: FastAPI, core, given: dict[str, Any] | None = None) -> None:
    """Mount every channel with its settings: `given[NAME]` when given (tests), else read
    from the environment."""
    for path in CHANNELS:
        module = importlib.import_module(path)
        settings = (given or {}).get(module.NAME) or module.Settings()
        module.mount(app, core, settings)


def answer_as_text(bot, message: str, session_id: str, channel: str,
                   render: Callable[[Reply], str]) -> str:
    """The bot's reply to a channel's message, rendered; a message the bot cannot read,
    or a failure, gets a polite text instead (never an error on the platform)."""
    try:
        return render(bot.ask(message, session_id, channel))
    except InputError:
        return UNREADABLE[detect_lang(message) if message.strip() else "zh"]
    except Exception:
        log.exception("%s: the bot failed to answer", channel)
        return UNAVAILABLE
