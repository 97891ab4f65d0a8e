"""Alternate phrasings ("this passage should answer this question") and negative examples
("the bot should not answer this"), saved from the console's test screen. Kept in the
database; exported to the corpus directory as bot.guidance's file before each build, which
embeds the phrasings with their passages and hands both to the bot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete, insert, select, update

from backoffice.audit import AuditLog
from backoffice.database import Database, guidance
from bot.errors import InputError, check_unicode
from bot.guidance import GUIDANCE_FILE, Guidance, Phrasing

MAX_QUESTION_CHARS = 1000


@dataclass(frozen=True)
class GuidanceEntry:
    id: int
    kind: str  # phrasing | negative
    question: str
    doc_id: str | None
    quote: str | None
    title: str | None
    created_by: str
    created_at: datetime


class GuidanceStore:
    def __init__(self, database: Database, corpus_dir: Path) -> None:
        self.engine = database.engine
        self.audit = AuditLog(database)
        self.corpus_dir = corpus_dir

    def add_phrasing(self, question: str, doc_id: str, quote: str, title: str,
                     username: str) -> int:
        # A browser sends a form's line breaks as CRLF; the passage has LF.
        quote = quote.replace("\r\n", "\n")
        if not quote.strip() or not doc_id:
            raise InputError("a phrasing needs the passage it points to")
        return self._add("phrasing", question, username, doc_id=doc_id, quote=quote,
                         title=title[:500])

    def add_negative(self, question: str, username: str) -> int:
        return self._add("negative", question, username)

    def edit(self, entry_id: int, question: str, username: str) -> None:
        question = _question(question)
        with self.engine.begin() as conn:
            done = conn.execute(update(guidance).where(guidance.c.id == entry_id)
                                .values(question=question)).rowcount
            if not done:
                raise InputError(f"no entry #{entry_id}")
            self.audit.record(username, "guidance.edit", f"#{entry_id}", question, conn)
        self.export()

    def remove(self, entry_id: int, username: str) -> None:
        with self.engine.begin() as conn:
            done = conn.execute(delete(guidance).where(guidance.c.id == entry_id)).rowcount
            if not done:
                raise InputError(f"no entry #{entry_id}")
            self.audit.record(username, "guidance.remove", f"#{entry_id}", None, conn)
        self.export()

    def entries(self) -> list[GuidanceEntry]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(guidance).order_by(guidance.c.id.desc()))
            return [GuidanceEntry(**row._mapping) for row in rows]

    def export(self) -> Path:
        entries = self.entries()
        path = self.corpus_dir / GUIDANCE_FILE
        Guidance(tuple(Phrasing(e.question, e.doc_id or "", e.quote or "")
                       for e in reversed(entries) if e.kind == "phrasing"),
                 tuple(e.question for e in reversed(entries) if e.kind == "negative")
                 ).save(path)
        return path

    def _add(self, kind: str, question: str, username: str, **values) -> int:
        question = _question(question)
        with self.engine.begin() as conn:
            new_id = conn.execute(insert(guidance).values(
                kind=kind, question=question, created_by=username,
                created_at=datetime.now(UTC), **values)).inserted_primary_key[0]
            self.audit.record(username, f"guidance.{kind}", f"#{new_id}", question, conn)
        self.export()
        return int(new_id)


def _question(question: str) -> str:
    question = check_unicode(question or "", "question").strip()
    if not question:
        raise InputError("write the question")
    if len(question) > MAX_QUESTION_CHARS:
        raise InputError(f"a question holds at most {MAX_QUESTION_CHARS} characters")
    return question
