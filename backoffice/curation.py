"""Curated answers: Q&A entries operators write for questions the corpus could not answer.
Stored in the log database (the record), exported to `corpus/curated.jsonl` (what the index
is built from), so they are quoted like any other source."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select, update

from backoffice.audit import AuditLog
from backoffice.database import Database, curated
from bot.errors import InputError

CURATED_FILE = "curated.jsonl"
MAX_CHARS = 4000
CURATED_TITLE = {"zh": "运营团队解答", "en": "Answer from our team"}


@dataclass(frozen=True)
class CuratedEntry:
    id: int
    question_zh: str | None
    answer_zh: str | None
    question_en: str | None
    answer_en: str | None
    source_url: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    retired: bool


@dataclass(frozen=True)
class CuratedText:
    """What an operator writes: a question and answer in Chinese and/or English."""

    question_zh: str = ""
    answer_zh: str = ""
    question_en: str = ""
    answer_en: str = ""
    source_url: str = ""

    def validated(self) -> dict[str, str | None]:
        fields = {k: _clean(v) for k, v in self.__dict__.items()}
        for lang in ("zh", "en"):
            if bool(fields[f"question_{lang}"]) != bool(fields[f"answer_{lang}"]):
                raise InputError(f"write both the question and the answer ({lang}), or neither")
        if not (fields["question_zh"] or fields["question_en"]):
            raise InputError("write a question and its answer in Chinese or English")
        if any(len(v or "") > MAX_CHARS for v in fields.values()):
            raise InputError(f"each field holds at most {MAX_CHARS} characters")
        url = fields["source_url"]
        if url and not re.match(r"^https?://[^\s\"'<>]+$", url):
            raise InputError("the source link must be an http(s) address")
        return fields


class CuratedStore:
    def __init__(self, database: Database, corpus_dir: Path) -> None:
        self.engine = database.engine
        self.audit = AuditLog(database)
        self.corpus_dir = corpus_dir

    def add(self, text: CuratedText, username: str) -> int:
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            new_id = conn.execute(insert(curated).values(
                **text.validated(), created_by=username, created_at=now, updated_at=now,
                retired=False)).inserted_primary_key[0]
            self.audit.record(username, "curated.add", f"#{new_id}",
                              text.question_zh or text.question_en, conn)
        self.export()
        return int(new_id)

    def update(self, entry_id: int, text: CuratedText, username: str) -> None:
        self._change(entry_id, username, "curated.update", **text.validated())

    def retire(self, entry_id: int, retired: bool, username: str) -> None:
        self._change(entry_id, username, "curated.retire" if retired else "curated.restore",
                     retired=retired)

    def get(self, entry_id: int) -> CuratedEntry | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(curated).where(curated.c.id == entry_id)).first()
        return CuratedEntry(**row._mapping) if row else None

    def entries(self) -> list[CuratedEntry]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(curated).order_by(curated.c.retired, curated.c.id.desc()))
            return [CuratedEntry(**row._mapping) for row in rows]

    def export(self) -> Path:
        """Write the live entries to corpus/curated.jsonl (atomically: the index build never
        sees half a file)."""
        lines = []
        for entry in self.entries():
            if entry.retired:
                continue
            for lang in ("zh", "en"):
                question, answer = getattr(entry, f"question_{lang}"), getattr(entry,
                                                                              f"answer_{lang}")
                if question and answer:
                    lines.append(json.dumps({
                        "id": f"curated-{entry.id}-{lang}", "question": question,
                        "answer": answer, "lang": lang, "title": CURATED_TITLE[lang],
                        "url": entry.source_url or "",
                        "date": entry.updated_at.strftime("%Y-%m-%d")}, ensure_ascii=False))
        path = self.corpus_dir / CURATED_FILE
        if not lines:  # no file rather than an empty one (which a build would warn about)
            path.unlink(missing_ok=True)
            return path
        tmp = path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        os.replace(tmp, path)
        return path

    def _change(self, entry_id: int, username: str, action: str, **values) -> None:
        with self.engine.begin() as conn:
            done = conn.execute(update(curated).where(curated.c.id == entry_id).values(
                **values, updated_at=datetime.now(UTC))).rowcount
            if not done:
                raise InputError(f"no curated entry {entry_id}")
            self.audit.record(username, action, f"#{entry_id}", None, conn)
        self.export()


def _clean(value: str) -> str | None:
    value = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", value or "").strip()
    return value or None
