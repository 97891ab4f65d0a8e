"""Read a corpus directory into cleaned Documents. One bad file never stops the build."""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bot import formats
from bot.cleaning import CleanPage, clean_html_page, clean_markdown_page, clean_text_page
from bot.cleaning import normalize_text as _normalize
from bot.errors import IngestError
from bot.language import detect_lang
from bot.models import Document, Section

log = logging.getLogger(__name__)

PAGE_SUFFIXES = {".txt": clean_text_page, ".md": clean_markdown_page,
                 ".markdown": clean_markdown_page, ".html": clean_html_page,
                 ".htm": clean_html_page}
QA_SUFFIXES = {".jsonl", ".csv"}
OFFICE_SUFFIXES = {".pdf", ".docx", ".xlsx"}
SUFFIXES = PAGE_SUFFIXES.keys() | QA_SUFFIXES | OFFICE_SUFFIXES
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_FIELD_CHARS = 100_000


@dataclass
class IngestReport:
    documents: list[Document] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files_read: int = 0

    def warn(self, message: str) -> None:
        log.warning(message)
        self.warnings.append(message)


def load_corpus(corpus_dir: Path) -> IngestReport:
    """Every supported file under `corpus_dir` (recursively, sorted for stable ids)."""
    if not corpus_dir.is_dir():
        raise IngestError(f"corpus directory not found: {corpus_dir}")
    report = IngestReport()
    seen_ids: set[str] = set()
    for path in sorted(p for p in corpus_dir.rglob("*") if p.is_file()):
        if path.name.startswith(".") or path.suffix.lower() not in SUFFIXES:
            continue
        relative = path.relative_to(corpus_dir).as_posix()
        try:
            docs = file_documents(read_file(path), relative, report)
        except IngestError as exc:
            report.warn(f"skipped {relative}: {exc}")
            continue
        report.files_read += 1
        for doc in docs:
            if doc.doc_id in seen_ids:
                report.warn(f"{relative}: duplicate id {doc.doc_id!r}, entry skipped")
                continue
            seen_ids.add(doc.doc_id)
            report.documents.append(doc)
    return report


def file_documents(data: bytes, name: str, report: IngestReport) -> list[Document]:
    """The documents in one file, by what its content is (PDF, Word, Excel or text; a text
    file's name says which kind of text). IngestError when the file as a whole is
    unusable; a bad line or row of Q&A is a warning in `report`."""
    kind = formats.sniff(data)
    suffix = Path(name).suffix.lower()
    if kind == "pdf":
        docs = [page_document_of(formats.pdf_page(data), name)]
    elif kind == "docx":
        docs = [page_document_of(formats.docx_page(data), name)]
    elif kind == "xlsx":
        docs = []
        for sheet in formats.xlsx_sheets(data):
            columns = sheet.qa_columns()
            if columns is None:
                docs.append(page_document_of(formats.sheet_page(sheet),
                                             f"{name}#{sheet.name}"))
            else:
                docs += _qa_documents(_sheet_rows(sheet, columns), f"{name}#{sheet.name}",
                                      report)
    else:
        text = decode_text(data)
        if suffix in QA_SUFFIXES:
            parse = _parse_jsonl if suffix == ".jsonl" else _parse_csv
            docs = list(_qa_documents(parse(text, name, report), name, report))
        else:
            cleaner = PAGE_SUFFIXES.get(suffix, clean_text_page)
            docs = [page_document_of(cleaner(text), name)]
    docs = [d for d in docs if d is not None]
    if not docs:
        raise IngestError("no readable content after cleaning")
    return docs


def read_file(path: Path) -> bytes:
    """A corpus file's bytes; refuses empty and oversized files."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise IngestError(f"file is {size} bytes, over the {MAX_FILE_BYTES}-byte limit")
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"unreadable ({exc.strerror or exc})") from exc
    if not data.strip():
        raise IngestError("empty file")
    return data


def read_text_file(path: Path) -> str:
    """Decode UTF-8, else GB18030; refuse binary, empty and oversized files."""
    return decode_text(read_file(path))


def decode_text(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise IngestError("binary file (contains NUL bytes)")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        controls = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\r\n\t\f")
        if controls > max(8, len(text[:8192]) // 100):
            raise IngestError("binary file (control characters)")
        return text
    raise IngestError("not valid UTF-8 or GB18030 text")


def page_document_of(page: CleanPage, doc_id: str) -> Document | None:
    if not any(block.kind == "text" for block in page.blocks):
        return None
    lines: list[str] = []
    offset = 0
    sections: list[Section] = []
    section_title, section_start, headings = page.title, 0, []
    pages: list[tuple[int, int]] = []

    def close_section(end: int) -> None:
        if end > section_start:
            sections.append(Section(section_title, section_start, end, tuple(headings)))

    for block in page.blocks:
        if block.kind == "title" and lines:
            close_section(offset - 1)
            section_title, section_start, headings = block.text, offset, []
        elif block.kind == "title":
            section_title = block.text
        elif block.kind == "heading":
            headings.append((offset, block.text))
        if block.page is not None and (not pages or pages[-1][1] != block.page):
            pages.append((offset, block.page))
        lines.append(block.text)
        offset += len(block.text) + 1
    full_text = "\n".join(lines)
    close_section(len(full_text))
    return Document(
        doc_id=_doc_id(doc_id),
        kind="page",
        title=page.title or sections[0].title,
        text=full_text,
        lang=detect_lang(full_text),
        sections=tuple(sections),
        url=page.url,
        date=page.date,
        source=doc_id,
        pages=tuple(pages),
    )


@dataclass
class _QARow:
    line: int
    fields: dict[str, str]


def _parse_jsonl(text: str, name: str, report: IngestReport) -> Iterator[_QARow]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            report.warn(f"{name}:{number}: malformed JSON ({exc.msg}), line skipped")
            continue
        if not isinstance(obj, dict):
            report.warn(f"{name}:{number}: expected a JSON object, line skipped")
            continue
        yield _QARow(number, {k: v if isinstance(v, str) else str(v)
                              for k, v in obj.items() if v is not None})


def _parse_csv(text: str, name: str, report: IngestReport) -> Iterator[_QARow]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except (StopIteration, csv.Error) as exc:
        report.warn(f"{name}: no readable CSV header ({exc}), file skipped")
        return
    if "answer" not in header or not ({"question", "title"} & set(header)):
        report.warn(f"{name}: CSV header needs 'answer' and 'question' or 'title', file skipped")
        return
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            report.warn(f"{name}:{reader.line_num}: malformed CSV ({exc}), row skipped")
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            report.warn(f"{name}:{reader.line_num}: expected {len(header)} fields, got "
                        f"{len(row)}, row skipped")
            continue
        yield _QARow(reader.line_num, dict(zip(header, row, strict=True)))


def _qa_documents(rows: Iterator[_QARow], name: str, report: IngestReport) -> Iterator[Document]:
    for row in rows:
        question = _normalize(row.fields.get("question") or row.fields.get("title") or "")
        answer = _normalize_answer(row.fields.get("answer") or "")
        if not question or not answer:
            report.warn(f"{name}:{row.line}: needs a non-empty question and answer, skipped")
            continue
        if len(question) > MAX_FIELD_CHARS or len(answer) > MAX_FIELD_CHARS:
            report.warn(f"{name}:{row.line}: field over {MAX_FIELD_CHARS} characters, skipped")
            continue
        lang = row.fields.get("lang", "").strip().lower()
        if lang not in ("zh", "en"):
            lang = detect_lang(question + answer)
        doc_id = (row.fields.get("id") or "").strip() or f"{name}:{row.line}"
        title = _normalize(row.fields.get("title") or "") or question
        url = (row.fields.get("url") or "").strip()
        yield Document(
            doc_id=doc_id,
            kind="qa",
            title=title,
            text=answer,
            lang=lang,  # type: ignore[arg-type]
            sections=(Section(title, 0, len(answer)),),
            url=url if re.match(r"^https?://", url) else None,
            date=(row.fields.get("date") or "").strip() or None,
            source=name,
            question=question,
        )


def _doc_id(name: str) -> str:
    """A page's id: its file name without the (known) suffix."""
    path = Path(name)
    return path.with_suffix("").as_posix() if path.suffix.lower() in SUFFIXES else name


def _normalize_answer(text: str) -> str:
    lines = (_normalize(line) for line in text.replace("\r\n", "\n").split("\n"))
    return "\n".join(line for line in lines if line)


def _sheet_rows(sheet: formats.Sheet, columns: tuple[int, int]) -> Iterator[_QARow]:
    """An Excel sheet of Q&A pairs as rows with question/answer fields (other columns with
    a known name, e.g. url or lang, come along)."""
    header = [h.strip().lower() for h in sheet.header]
    question, answer = columns
    for number, cells in sheet.rows:
        fields = {h: c for h, c in zip(header, cells, strict=False) if h and c}
        fields["question"] = cells[question] if question < len(cells) else ""
        fields["answer"] = cells[answer] if answer < len(cells) else ""
        yield _QARow(number, fields)
