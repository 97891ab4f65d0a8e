"""Run an evaluation file in the shared/eval format against a Bot and score it.

A line is {"id", "lang", "question" | "turns", "expect": answer|fallback|urgent, "any": [...],
"doc"} (or a CSV row of the same). An `answer` passes when the reply's kind is answer (or
urgent with quotes) and the first quoted passage contains one of `any` verbatim, comes from
`doc` when one is named, and is at most 400 characters long.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bot.errors import BotError, InputError

MAX_FIRST_PASSAGE = 400
MAX_ITEMS = 5000


@dataclass
class Result:
    id: str
    lang: str
    expect: str
    kind: str
    passed: bool
    why: str = ""
    reply_lang: str = ""


@dataclass
class EvalReport:
    results: list[Result] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.results)

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    def groups(self) -> dict[tuple[str, str], tuple[int, int]]:
        counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        for r in self.results:
            counts[(r.expect, r.lang)][0] += r.passed
            counts[(r.expect, r.lang)][1] += 1
        return {k: (v[0], v[1]) for k, v in sorted(counts.items())}

    def table(self) -> str:
        lines = ["| expect | lang | passed | total | rate |", "|---|---|---|---|---|"]
        for (expect, lang), (ok, n) in self.groups().items():
            lines.append(f"| {expect} | {lang} | {ok} | {n} | {ok / n:.0%} |")
        lines.append(f"| **all** | | {self.passed} | {self.total} | "
                     f"{self.passed / max(self.total, 1):.0%} |")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {"passed": self.passed, "total": self.total,
                "groups": {f"{e}/{lang}": {"passed": ok, "total": n}
                           for (e, lang), (ok, n) in self.groups().items()},
                "results": [asdict(r) for r in self.results]}


def load_questions(path: Path) -> list[dict]:
    try:
        text = path.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    return parse_questions(text, str(path))


def parse_questions(text: str, name: str = "questions") -> list[dict]:
    """Questions with what is expected, as JSONL (the shared/eval format) or as CSV with
    a header: question (or turns, separated by " || "), expect, and optional id, lang,
    any (passage fragments, separated by " | "), doc (a document id or title)."""
    if text.lstrip().startswith("{") or not text.strip():
        return _checked(_jsonl(text, name), name)
    return _checked(_csv(text, name), name)


def _jsonl(text: str, name: str) -> list[tuple[int, dict]]:
    items = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise InputError(f"{name}:{number}: malformed JSON ({exc.msg})") from exc
    return items


def _csv(text: str, name: str) -> list[tuple[int, dict]]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "expect" not in reader.fieldnames:
        raise InputError(f"{name}: a CSV needs a header with 'question' and 'expect'")
    items = []
    try:
        for row in reader:
            item: dict = {k.strip(): (v or "").strip() for k, v in row.items() if k}
            if item.get("turns"):
                item["turns"] = [t.strip() for t in item["turns"].split("||") if t.strip()]
            if item.get("any"):
                item["any"] = [a.strip() for a in item["any"].split(" | ") if a.strip()]
            items.append((reader.line_num, {k: v for k, v in item.items() if v}))
    except csv.Error as exc:
        raise InputError(f"{name}:{reader.line_num}: malformed CSV ({exc})") from exc
    return items


def _checked(rows: list[tuple[int, dict]], name: str) -> list[dict]:
    items = []
    for number, item in rows:
        if not isinstance(item, dict) or not (item.get("question") or item.get("turns")):
            raise InputError(f"{name}:{number}: needs 'question' or 'turns'")
        if item.get("expect") not in ("answer", "fallback", "urgent"):
            raise InputError(f"{name}:{number}: 'expect' must be answer, fallback or urgent")
        item.setdefault("id", f"line{number}")
        items.append(item)
    if len(items) > MAX_ITEMS:
        raise InputError(f"{name}: at most {MAX_ITEMS:,} questions")
    return items


def evaluate_file(bot, path: Path) -> EvalReport:
    report = EvalReport()
    for item in load_questions(path):
        report.results.append(evaluate_item(bot, item))
    return report


def evaluate_item(bot, item: dict) -> Result:
    turns = item.get("turns") or [item["question"]]
    lang = item.get("lang", "")
    session_id = None
    try:
        for turn in turns:
            reply = bot.ask(turn, session_id)
            session_id = reply.session_id
    except BotError as exc:
        return Result(item["id"], lang, item["expect"], "error", False, str(exc))
    expect = item["expect"]
    result = Result(item["id"], lang, expect, reply.kind, False, reply_lang=reply.lang)
    if lang and reply.lang != lang:
        result.why = f"replied in {reply.lang}, visitor wrote {lang}"
    elif expect == "urgent":
        result.passed = reply.kind == "urgent"
        result.why = "" if result.passed else f"kind {reply.kind}, expected urgent"
    elif expect == "fallback":
        result.passed = reply.kind == "fallback" and not reply.passages
        result.why = "" if result.passed else f"kind {reply.kind} with {len(reply.passages)} quotes"
    else:
        first = reply.passages[0].text if reply.passages else ""
        wanted = item.get("any") or []
        if reply.kind not in ("answer", "urgent") or not first:
            result.why = f"kind {reply.kind}, no quote"
        elif len(first) > MAX_FIRST_PASSAGE:
            result.why = f"first quote is {len(first)} characters"
        elif wanted and not any(w in first for w in wanted):
            result.why = f"first quote lacks {wanted}: {first[:80]}"
        elif item.get("doc") and not _from_document(reply.passages[0], item["doc"]):
            result.why = f"first quote is from {reply.passages[0].doc_id}, not {item['doc']}"
        else:
            result.passed = True
    return result


def _from_document(passage, doc: str) -> bool:
    """The passage comes from `doc`: its id (or the start of it) or its title."""
    return passage.doc_id == doc or passage.doc_id.startswith(doc) or doc in passage.title
