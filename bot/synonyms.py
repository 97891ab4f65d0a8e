"""Operator-managed synonym groups across both languages (腰突 = 腰椎间盘突出 = slipped disc
= herniated disc). A question holding any member of a group is searched and scored as if it
held every member: the others are added as translations of the term (bot.coverage), so they
count as covering it in a passage, are searched as keywords and go into the second query
encoding. Written by the back office as `.synonyms.csv` in the corpus directory (one group a
row, a member a cell), taken into each build."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.coverage import QueryTerm, Term, occurs, rarity_weight
from bot.language import has_cjk, stem

SYNONYMS_FILE = ".synonyms.csv"
MAX_GROUPS = 5000
MAX_MEMBERS = 20


@dataclass(frozen=True)
class Synonyms:
    groups: tuple[tuple[str, ...], ...] = ()

    @classmethod
    def from_csv(cls, text: str) -> Synonyms:
        groups = []
        for row in csv.reader(io.StringIO(text)):
            members = tuple(dict.fromkeys(m.strip() for m in row if m.strip()))[:MAX_MEMBERS]
            if len(members) >= 2:
                groups.append(members)
        return cls(tuple(groups[:MAX_GROUPS]))

    @classmethod
    def load(cls, path: Path) -> Synonyms:
        try:
            return cls.from_csv(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, csv.Error):
            return cls()

    def to_csv(self) -> str:
        out = io.StringIO()
        csv.writer(out).writerows(self.groups)
        return out.getvalue()

    def expand(self, text: str, terms: list[QueryTerm],
               corpus_has: Callable[[str], bool] = lambda member: False) -> list[QueryTerm]:
        """`terms` with each group found in `text` (lower-cased) joined to the term that
        names it, or added as a term of its own. A group bridges the visitor's words to
        the corpus's: when the word the question uses is one the corpus uses too
        (`corpus_has`), the question already matches as written and the group adds
        nothing (measured: expanding it then only reshuffled near ties)."""
        if not self.groups:
            return terms
        lowered = text.lower()
        out = list(terms)
        for group in self.groups:
            found = next((m for m in group if in_text(m, lowered)), None)
            if found is None or corpus_has(found):
                continue
            others = tuple(_words(m) for m in group if m != found)
            key = _key(found)
            at = next((i for i, q in enumerate(out) if q.term.key == key), None)
            if at is None:
                weight = max((q.term.weight for q in out if q.term.key in key), default=0.0)
                out.append(QueryTerm(Term(key, found, max(weight, rarity_weight(
                    found.lower(), "zh" if has_cjk(found) else "en"))), others))
            else:
                query_term = out[at]
                out[at] = QueryTerm(query_term.term, tuple(dict.fromkeys(
                    query_term.translations + others)))
        return out


def in_text(member: str, lowered: str) -> bool:
    """Does lower-cased `lowered` hold `member` (Chinese verbatim, English by stems)?"""
    if has_cjk(member):
        return member.lower() in lowered
    words = _words(member)
    return bool(words) and all(occurs(w, lowered) for w in words)


def _words(member: str) -> tuple[str, ...]:
    """How a member is matched in a passage: one Chinese word, or its English stems."""
    if has_cjk(member):
        return (member.lower(),)
    return tuple(stem(w) for w in re.findall(r"[a-z0-9]+", member.lower()))


def _key(member: str) -> str:
    return member.lower() if has_cjk(member) else " ".join(_words(member))
