"""Operators' guidance for answering, kept with each build: alternate phrasings ("this
passage answers this question") and negative examples ("the bot should not answer this").

A phrasing is embedded as one more vector of the passage's chunk, so questions worded
like it find the passage; asked as saved (the same words, in any order, case or
punctuation), the passage is quoted whatever its confidence. A negative example asked as
saved falls back to "please consult a doctor". Written by the back office as
`.guidance.json` in the corpus directory (a hidden file: not a document)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bot.language import same_words_key

GUIDANCE_FILE = ".guidance.json"


@dataclass(frozen=True)
class Phrasing:
    question: str
    doc_id: str
    quote: str  # the passage's text, verbatim from the document


@dataclass(frozen=True)
class Guidance:
    phrasings: tuple[Phrasing, ...] = ()
    negatives: tuple[str, ...] = ()
    _by_key: dict[str, Phrasing] = field(init=False, repr=False, compare=False)
    _negative_keys: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_key", {same_words_key(p.question): p
                                             for p in self.phrasings})
        object.__setattr__(self, "_negative_keys",
                           frozenset(same_words_key(q) for q in self.negatives))

    def phrasing_for(self, message: str) -> Phrasing | None:
        return self._by_key.get(same_words_key(message))

    def is_negative(self, message: str) -> bool:
        return same_words_key(message) in self._negative_keys

    @classmethod
    def load(cls, path: Path) -> Guidance:
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            return cls()
        return cls(tuple(Phrasing(**p) for p in data.get("phrasings", [])),
                   tuple(data.get("negatives", [])))

    def save(self, path: Path) -> None:
        data = {"phrasings": [asdict(p) for p in self.phrasings],
                "negatives": list(self.negatives)}
        draft = path.with_name(path.name + ".tmp")
        draft.write_text(json.dumps(data, ensure_ascii=False, indent=1), "utf-8")
        draft.replace(path)
