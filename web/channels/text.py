"""A `Reply` as one text message for a channel with a size limit: the urgent line first,
short quotes with their sources, the disclaimer last, cut to fit. Pure functions; a
channel gives its limit (bytes of UTF-8) and how it writes a link."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence

from bot.answer import PAGE_LABEL, suggestion_list
from bot.models import Lang, Passage, Reply

# A chat bubble, not a page: quotes are cut to these lengths (characters) until all fits.
QUOTE_CAPS = (160, 120, 80, 40)

_SENTENCE_END = re.compile(r"[。！？；.!?;]")
SAFE_URL = re.compile(r"^https?://[^\s\"'<>]+$")
# Joiners, variation selectors and skin tones belong to the character before them.
_JOINERS = {"\u200d", "\ufe0e", "\ufe0f", *map(chr, range(0x1F3FB, 0x1F400))}

Link = Callable[[str, str], str]  # (title, http(s) url) -> how the channel shows it

# What a text channel says when the bot cannot read a message, or cannot answer at all.
UNREADABLE = {
    "zh": "抱歉，这条消息太长或无法识别，请用一两句话重新描述您的问题。",
    "en": "Sorry, I couldn't read that message; please ask your question in a sentence or two.",
}
UNAVAILABLE = ("抱歉，问答服务暂时无法回答，请稍后再试。如有不适，请及时就医。\n"
               "Sorry, the service cannot answer right now; please try again later.")


def plain_link(title: str, url: str) -> str:
    return f"{title} {url}"


def render_reply(reply: Reply, limit: int, link: Link = plain_link) -> str:
    """The fullest rendering that fits `limit` bytes: suggestions go first, then quotes get
    shorter, then the last quotes are left out; the alert, the bot's line and the
    disclaimer always stay."""
    passages = reply.passages
    attempts = [(len(passages), QUOTE_CAPS[0], True)]
    attempts += [(count, cap, False) for count in range(len(passages), 0, -1)
                 for cap in QUOTE_CAPS]
    for count, cap, with_suggestions in attempts:
        text = _compose(reply, passages[:count], cap,
                        reply.suggestions if with_suggestions else [], link)
        if fits(text, limit):
            return text
    return clip_bytes(_compose(reply, [], 0, [], link), limit)


def _compose(reply: Reply, passages: Sequence[Passage], cap: int,
             suggestions: Sequence[str], link: Link) -> str:
    blocks = [reply.alert, reply.message]
    quotes = [_passage_block(n, p, cap, reply.lang, link)
              for n, p in enumerate(passages, start=1)]
    if quotes:
        blocks.append("\n".join(quotes))
    if suggestions:
        blocks.append(suggestion_list(reply.lang, suggestions))
    blocks.append(reply.disclaimer)
    return "\n\n".join(b for b in blocks if b)


def _passage_block(number: int, passage: Passage, cap: int, lang: Lang, link: Link) -> str:
    quote = trim(passage.text, cap)
    title = re.sub(r"[<>]", "", passage.title)
    source = link(title, passage.url) if passage.url and SAFE_URL.match(passage.url) else title
    if passage.page:
        source += " " + PAGE_LABEL[lang].format(page=passage.page)
    if lang == "zh":
        return f"{number}.「{quote}」\n——{source}"
    return f"{number}. “{quote}”\n— {source}"


def trim(text: str, max_chars: int) -> str:
    """At most `max_chars` characters (plus "…"), ending at a sentence end when one is near,
    and never inside a character sequence (combining marks, emoji joiners)."""
    text = text.strip()
    if len(text) <= max_chars:
        return text
    cut = max_chars
    ends = [m.end() for m in _SENTENCE_END.finditer(text, 0, max_chars)]
    if ends and ends[-1] >= max_chars // 2:
        cut = ends[-1]
    else:
        space = text.rfind(" ", 0, max_chars)
        if space >= max_chars * 0.7:
            cut = space
    cut = _grapheme_boundary(text, cut)
    return text[:cut].rstrip() + "…"


def clip_bytes(text: str, limit: int) -> str:
    """The longest prefix within `limit` bytes of UTF-8 that ends between characters."""
    if fits(text, limit):
        return text
    cut = len(text.encode()[:limit - len("…".encode())].decode("utf-8", "ignore"))
    return text[:_grapheme_boundary(text, cut)] + "…"


def _grapheme_boundary(text: str, cut: int) -> int:
    while 0 < cut < len(text) and (unicodedata.combining(text[cut]) or text[cut] in _JOINERS
                                   or text[cut - 1] == "\u200d"):
        cut -= 1
    return cut


def fits(text: str, limit: int) -> bool:
    return len(text.encode()) <= limit
