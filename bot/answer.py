"""Compose replies from retrieved chunks: verbatim quotes trimmed to the relevant sentences,
with sources, in the visitor's language. Pure functions: no I/O, no model calls."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.chunking import QUOTE_MAX_CHARS
from bot.language import detect_lang
from bot.models import Chunk, Lang, Passage

FALLBACK = {
    "zh": "抱歉，我们的资料中没有能回答这个问题的内容。建议您咨询医生，获得针对您情况的专业意见。",
    "en": "Sorry, our sources don't answer this question. Please consult a doctor for advice "
          "about your situation.",
}
ANSWER_INTRO = {"zh": "以下是资料中的相关内容（原文摘录）：",
                "en": "Here is what our sources say (quoted verbatim):"}
CROSS_LINGUAL_INTRO = {"zh": "以下是资料中的相关内容（原文摘录，部分原文为英文）：",
                       "en": "Here is what our sources say (quoted verbatim; some sources are "
                             "in Chinese):"}
SUGGEST_INTRO = {"zh": "您可以问我：", "en": "You can ask me:"}
SOURCE_LABEL = {"zh": "来源", "en": "Source"}


def quote_span(chunk: Chunk, units: list[tuple[int, int]], scores: list[float],
               neighbour: float = 0.6, min_chars: int = 60,
               limit: int = QUOTE_MAX_CHARS) -> tuple[int, int]:
    """(start, end) in chunk.text of the quote: the best-scoring sentence (`units`: its
    sentence spans, `scores`: how well each answers), grown by adjacent sentences that
    score at least `neighbour` times the best, or while the quote is shorter than
    `min_chars` (a lone heading-like line says little), never beyond `limit` characters.
    An answer's opening answers its Q&A entry, so there the quote starts at the top."""
    if not units:
        return 0, min(len(chunk.text), limit)
    best = 0 if chunk.kind == "qa" else max(range(len(units)), key=lambda i: (scores[i], -i))
    lo = hi = best
    bar = neighbour * scores[best]
    while True:
        short = units[hi][1] - units[lo][0] < min_chars
        options = []
        if hi + 1 < len(units) and units[hi + 1][1] - units[lo][0] <= limit:
            options.append((scores[hi + 1] + 1e-6, "next"))
        if lo > 0 and units[hi][1] - units[lo - 1][0] <= limit:
            options.append((scores[lo - 1], "prev"))
        options = [o for o in options if short or chunk.kind == "qa" or o[0] >= bar]
        if not options:
            break
        _, side = max(options)
        if side == "next":
            hi += 1
        else:
            lo -= 1
    return units[lo][0], units[hi][1]


def make_passage(chunk: Chunk, span: tuple[int, int], score: float) -> Passage:
    start, end = span
    text = chunk.text[start:end]
    first = start + len(text) - len(text.lstrip())
    return Passage(text=text.strip(), doc_id=chunk.doc_id, title=chunk.title,
                   url=chunk.url, date=chunk.date, page=chunk.page_at(first),
                   score=round(float(score), 4))


def overlaps(a: Passage, b: Passage) -> bool:
    """Two quotes are near-duplicates when one mostly contains the other (chunk overlap)."""
    if a.doc_id != b.doc_id:
        return False
    shorter, longer = sorted((a.text, b.text), key=len)
    return shorter in longer or _shared_ratio(shorter, longer) > 0.5


def _shared_ratio(a: str, b: str) -> float:
    sentences = [s for s in re.split(r"(?<=[。！？.!?])", a) if s.strip()]
    if not sentences:
        return 0.0
    return sum(len(s) for s in sentences if s.strip() in b) / max(len(a), 1)


def answer_intro(lang: Lang, passages: Sequence[Passage]) -> str:
    if any(_passage_lang(p) != lang for p in passages):
        return CROSS_LINGUAL_INTRO[lang]
    return ANSWER_INTRO[lang]


def render_answer(lang: Lang, passages: Sequence[Passage], disclaimer: str,
                  lead: str | None = None) -> str:
    lines = [lead, ""] if lead else []
    lines.append(answer_intro(lang, passages))
    for number, passage in enumerate(passages, start=1):
        quote = f"「{passage.text}」" if lang == "zh" else f"“{passage.text}”"
        lines.append(f"{number}. {quote}")
        lines.append(f"   — {SOURCE_LABEL[lang]}: {source_line(passage, lang)}")
    lines += ["", disclaimer]
    return "\n".join(lines)


PAGE_LABEL = {"zh": "第{page}页", "en": "p. {page}"}


def source_line(passage: Passage, lang: Lang = "en") -> str:
    page = PAGE_LABEL[lang].format(page=passage.page) if passage.page else None
    details = [d for d in (page, passage.url, passage.date) if d]
    return passage.title + (f" ({', '.join(details)})" if details else "")


def render_fallback(lang: Lang, suggestions: Sequence[str], disclaimer: str) -> str:
    lines = [FALLBACK[lang]]
    if suggestions:
        lines += ["", suggestion_list(lang, suggestions)]
    lines += ["", disclaimer]
    return "\n".join(lines)


def render_smalltalk(message: str, suggestions: Sequence[str], lang: Lang) -> str:
    lines = [message]
    if suggestions:
        lines += ["", suggestion_list(lang, suggestions)]
    return "\n".join(lines)


def suggestion_list(lang: Lang, suggestions: Sequence[str]) -> str:
    """"You can ask me:" and one bulleted line per question (text channels)."""
    return "\n".join([SUGGEST_INTRO[lang], *[f"• {s}" for s in suggestions]])


def _passage_lang(passage: Passage) -> Lang:
    return detect_lang(passage.text)
