"""What a request handler can ask for: the bot, once it is loaded (a FastAPI dependency),
and the back office (its stores), which the app is given beside the bot, never reached
through it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, HTTPException, Request

from bot.core import Bot

if TYPE_CHECKING:  # the console's modules import the stores they use; the app, no more
    from backoffice.office import BackOffice


def bot_of(request: Request) -> Bot:
    return request.app.state.bot


def office_of(request: Request) -> BackOffice:
    office = request.app.state.office
    if office is None:
        raise HTTPException(503, "the back office's database is not available")
    return office


BotDep = Annotated[Bot, Depends(bot_of)]
