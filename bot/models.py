"""Types that cross module boundaries: documents, chunks, passages, replies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field

Lang = Literal["zh", "en"]

# A Q&A answer is embedded by its opening only: it names the topic, and whole answers
# (MedQuAD: median 1,000, p90 4,300 characters) would cost several times more to embed.
# BM25 still indexes the whole answer.
QA_EMBED_ANSWER_CHARS = 500
ReplyKind = Literal["answer", "fallback", "urgent", "smalltalk"]


@dataclass(frozen=True)
class Section:
    """A titled part of a document; `start`/`end` are offsets into `Document.text`."""

    title: str
    start: int
    end: int
    headings: tuple[tuple[int, str], ...] = ()  # (offset, heading) inside the section


@dataclass(frozen=True)
class Document:
    """A cleaned source: a web page (several sections) or one Q&A entry."""

    doc_id: str
    kind: Literal["page", "qa"]
    title: str
    text: str
    lang: Lang
    sections: tuple[Section, ...]
    url: str | None = None
    date: str | None = None
    source: str = ""  # file the document came from
    question: str | None = None  # Q&A entries only
    pages: tuple[tuple[int, int], ...] = ()  # (offset into text, page number): page starts


@dataclass(frozen=True)
class Chunk:
    """The unit that is embedded, indexed and quoted."""

    chunk_id: str
    doc_id: str
    kind: Literal["page", "qa"]
    title: str
    heading: str
    lang: Lang
    text: str
    start: int
    end: int
    url: str | None = None
    date: str | None = None
    question: str | None = None
    pages: tuple[tuple[int, int], ...] = ()  # (offset into text, page number): page starts

    def page_at(self, offset: int) -> int | None:
        """The page of the source a character of this chunk is on (PDFs), else None."""
        page = None
        for start, number in self.pages:
            if start > offset:
                break
            page = number
        return page

    def embedding_texts(self) -> list[str]:
        """Texts embedded for this chunk; each becomes a vector pointing back to it.

        A Q&A entry is matched by its question alone and by question plus answer, so a
        visitor's wording can hit either.
        """
        if self.kind == "qa" and self.question:
            return [self.question, f"{self.question}\n{self.text[:QA_EMBED_ANSWER_CHARS]}"]
        context = " / ".join(part for part in (self.title, self.heading) if part)
        return [f"{context}\n{self.text}" if context else self.text]

    def keyword_text(self) -> str:
        parts = [self.title, self.heading, self.question or "", self.text]
        return "\n".join(part for part in parts if part)

    def heading_text(self) -> str:
        """What the chunk is about, in a few words: a Q&A question, else title and heading."""
        if self.question:
            return self.question
        return "\n".join(part for part in (self.title, self.heading) if part)


@dataclass
class Turn:
    """One exchange remembered by a session."""

    question: str
    retrieval_query: str
    lang: Lang
    kind: ReplyKind
    doc_ids: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)  # section_key of each quoted passage


def section_key(doc_id: str, title: str) -> str:
    """One titled part of a document (a page, one of a file's articles, a Q&A entry)."""
    return f"{doc_id}\x1f{title}"


class Passage(BaseModel):
    """A verbatim quote from the corpus with its source."""

    text: str
    doc_id: str
    title: str
    url: str | None = None
    date: str | None = None
    page: int | None = Field(None, description="The page of the source the quote starts on "
                             "(PDF sources).")
    score: float = Field(description="Confidence of the passage, 0..1 (calibrated scale).")


class RedFlagNote(BaseModel):
    """A red flag a message reported, as a reply names it."""

    rule: str = Field(description="The rule (bot.redflags.taxonomy), e.g. 'urinary_retention'.")
    level: Literal["now", "prompt"] = Field(description="'now': emergency care; 'prompt': a "
                                            "doctor within a day or two.")
    name: str = Field(description="The sign, in the reply's language.")
    words: str = Field(description="The words of the message that fired it.")


class Reply(BaseModel):
    """What the bot says; also the JSON body of POST /api/chat."""

    reply_id: str
    session_id: str
    lang: Lang
    kind: ReplyKind
    alert: str | None = Field(None, description="The seek-care message (kind 'urgent' "
                              "only); show it first and prominently.")
    urgency: Literal["now", "prompt"] | None = Field(None, description="How soon to get care "
                                                     "(kind 'urgent' only).")
    red_flags: list[RedFlagNote] = Field(default_factory=list, description="The signs behind "
                                         "the alert (kind 'urgent' only).")
    message: str = Field(description="The bot's own words before any quotes: the answer's "
                         "intro, the fallback advice or the small-talk line.")
    text: str = Field(description="The whole reply as plain text, for text-only channels.")
    passages: list[Passage] = Field(default_factory=list)
    disclaimer: str
    suggestions: list[str] = Field(default_factory=list)
    why: str = Field("", description="Which path the bot took and why, in a line (for "
                     "operators: the confidence against the threshold, or the red-flag rule).")
