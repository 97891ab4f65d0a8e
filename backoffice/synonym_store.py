"""Synonym groups operators manage (腰突 = 腰椎间盘突出 = slipped disc = herniated disc):
kept in the database, imported and exported as CSV (one group a row), written to the
corpus directory for each build (bot.synonyms reads them there)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete, insert, select, update

from backoffice.audit import AuditLog
from backoffice.database import Database, synonym_groups
from bot.errors import InputError, check_unicode
from bot.synonyms import MAX_MEMBERS, SYNONYMS_FILE, Synonyms

MAX_MEMBER_CHARS = 60
MAX_CSV_BYTES = 1024 * 1024


@dataclass(frozen=True)
class SynonymGroup:
    id: int
    members: tuple[str, ...]
    created_by: str
    updated_at: datetime


class SynonymStore:
    def __init__(self, database: Database, corpus_dir: Path) -> None:
        self.engine = database.engine
        self.audit = AuditLog(database)
        self.corpus_dir = corpus_dir

    def add(self, members: str | list[str], username: str) -> int:
        row = _members(members)
        with self.engine.begin() as conn:
            new_id = conn.execute(insert(synonym_groups).values(
                members=_row(row), created_by=username,
                updated_at=datetime.now(UTC))).inserted_primary_key[0]
            self.audit.record(username, "synonyms.add", f"#{new_id}", " = ".join(row), conn)
        self.export()
        return int(new_id)

    def edit(self, group_id: int, members: str, username: str) -> None:
        row = _members(members)
        with self.engine.begin() as conn:
            done = conn.execute(update(synonym_groups).where(synonym_groups.c.id == group_id)
                                .values(members=_row(row), updated_at=datetime.now(UTC))
                                ).rowcount
            if not done:
                raise InputError(f"no synonym group #{group_id}")
            self.audit.record(username, "synonyms.edit", f"#{group_id}", " = ".join(row),
                              conn)
        self.export()

    def remove(self, group_id: int, username: str) -> None:
        with self.engine.begin() as conn:
            done = conn.execute(delete(synonym_groups).where(
                synonym_groups.c.id == group_id)).rowcount
            if not done:
                raise InputError(f"no synonym group #{group_id}")
            self.audit.record(username, "synonyms.remove", f"#{group_id}", None, conn)
        self.export()

    def import_csv(self, data: bytes, username: str) -> int:
        """Add the CSV's groups (one a row) that are not there already; how many."""
        if len(data) > MAX_CSV_BYTES:
            raise InputError("the CSV is over 1 MB")
        try:
            text = check_unicode(data.decode("utf-8-sig"), "CSV")
        except UnicodeDecodeError:
            raise InputError("the CSV is not UTF-8 text") from None
        known = {frozenset(g.members) for g in self.groups()}
        added = 0
        for group in Synonyms.from_csv(text).groups:
            if frozenset(group) not in known:
                self.add(list(group), username)
                known.add(frozenset(group))
                added += 1
        return added

    def groups(self) -> list[SynonymGroup]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(synonym_groups).order_by(synonym_groups.c.id))
            return [SynonymGroup(row.id, tuple(next(csv.reader([row.members]))),
                                 row.created_by, row.updated_at) for row in rows]

    def to_csv(self) -> str:
        return Synonyms(tuple(g.members for g in self.groups())).to_csv()

    def export(self) -> Path:
        path = self.corpus_dir / SYNONYMS_FILE
        draft = path.with_name(path.name + ".tmp")
        draft.write_text(self.to_csv(), "utf-8")
        draft.replace(path)
        return path


def _members(members: str | list[str]) -> list[str]:
    if isinstance(members, str):
        members = next(csv.reader([members.replace("=", ",").replace("，", ",")]), [])
    row = list(dict.fromkeys(check_unicode(m, "synonym").strip() for m in members
                             if m.strip()))
    if len(row) < 2:
        raise InputError("a group needs at least two words or phrases")
    if len(row) > MAX_MEMBERS or any(len(m) > MAX_MEMBER_CHARS for m in row):
        raise InputError(f"at most {MAX_MEMBERS} members of {MAX_MEMBER_CHARS} characters")
    return row


def _row(members: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(members)
    return out.getvalue().strip("\r\n")
