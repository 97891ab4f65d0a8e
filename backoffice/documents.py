"""Uploaded documents. The database is their source of truth (so servers sharing one
PostgreSQL see one knowledge base); `corpus/uploads/` is their export, written before each
build, which the index is built from like any corpus file.

A file is read when it is uploaded: its type from its content, then parsed and cleaned as
the build will, so an encrypted, damaged, image-only or bogus file is refused at once, with
its reason, and nothing live changes. Statuses: queued (waiting for a build), indexing,
live, failed (with the reason)."""

from __future__ import annotations

import hashlib
import io
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from sqlalchemy import delete, insert, select, update

from backoffice.audit import AuditLog
from backoffice.database import Database, documents
from bot import formats
from bot.chunking import chunk_documents
from bot.errors import IngestError, InputError
from bot.ingest import IngestReport, decode_text, file_documents
from bot.models import Document

UPLOAD_DIR = "uploads"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
TEXT_SUFFIXES = {".txt", ".md", ".html", ".htm", ".jsonl", ".csv"}
class DocumentStatus(StrEnum):
    QUEUED = "queued"  # waiting for the next build
    INDEXING = "indexing"  # in the build running now
    LIVE = "live"  # answering from the served index
    FAILED = "failed"  # the build could not use it (the error says why)


@dataclass(frozen=True)
class StoredDocument:
    id: int
    name: str
    format: str
    size: int
    sha256: str
    title: str
    lang: str
    passages: int
    status: DocumentStatus
    error: str | None
    uploaded_by: str
    uploaded_at: datetime
    updated_at: datetime

    def __post_init__(self) -> None:  # rows hold the plain string
        object.__setattr__(self, "status", DocumentStatus(self.status))

    @property
    def file_name(self) -> str:
        """Its name in corpus/uploads/: the id keeps names apart, the suffix its type."""
        stem = re.sub(r"[^\w.-]+", "_", Path(self.name).stem, flags=re.UNICODE)[:60] or "doc"
        suffix = Path(self.name).suffix.lower()
        if self.format != "text" or suffix not in TEXT_SUFFIXES:
            suffix = {"pdf": ".pdf", "docx": ".docx", "xlsx": ".xlsx"}.get(self.format, ".txt")
        return f"{self.id:06d}-{stem}{suffix}"

    @property
    def doc_prefix(self) -> str:
        """What the ids of its documents in the index start with."""
        return f"{UPLOAD_DIR}/{Path(self.file_name).stem}"


def document_of(doc_id: str) -> int | None:
    """The stored document an index document comes from (its id, by the file name that
    StoredDocument.file_name gave it in the corpus: uploads/000012-...), else None."""
    if not doc_id.startswith(f"{UPLOAD_DIR}/"):
        return None
    number = doc_id[len(UPLOAD_DIR) + 1:].split("-", 1)[0]
    return int(number) if number.isdigit() else None


@dataclass(frozen=True)
class Preview:
    text: str  # what is indexed, as cleaned
    dropped: list[str]  # lines of the file that cleaning left out


_COLUMNS = [c for c in documents.c if c.name != "content"]


class DocumentStore:
    def __init__(self, database: Database, corpus_dir: Path) -> None:
        self.engine = database.engine
        self.audit = AuditLog(database)
        self.corpus_dir = corpus_dir

    # ------------------------------------------------------------ changes
    def add(self, name: str, data: bytes, username: str) -> StoredDocument:
        """Store a new document (queued for the next build); InputError naming the file
        and the problem if it cannot be used."""
        kind, docs = _read(name, data)
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            new_id = conn.execute(insert(documents).values(
                name=_clean_name(name), format=kind, content=data, size=len(data),
                sha256=hashlib.sha256(data).hexdigest(), **_summary(docs),
                status=DocumentStatus.QUEUED,
                uploaded_by=username, uploaded_at=now, updated_at=now)).inserted_primary_key[0]
            self.audit.record(username, "document.add", f"#{new_id} {name}",
                              f"{kind}, {len(data):,} bytes", conn)
        return self._get(int(new_id))

    def replace(self, doc_id: int, name: str, data: bytes, username: str) -> StoredDocument:
        kind, docs = _read(name, data)
        with self.engine.begin() as conn:
            done = conn.execute(update(documents).where(documents.c.id == doc_id).values(
                name=_clean_name(name), format=kind, content=data, size=len(data),
                sha256=hashlib.sha256(data).hexdigest(), **_summary(docs),
                status=DocumentStatus.QUEUED,
                error=None, updated_at=datetime.now(UTC))).rowcount
            if not done:
                raise InputError(f"no document #{doc_id}")
            self.audit.record(username, "document.replace", f"#{doc_id} {name}",
                              f"{kind}, {len(data):,} bytes", conn)
        return self._get(doc_id)

    def remove(self, doc_id: int, username: str) -> StoredDocument:
        """Delete a document; its passages leave the index with the next build."""
        gone = self._get(doc_id)
        with self.engine.begin() as conn:
            conn.execute(delete(documents).where(documents.c.id == doc_id))
            self.audit.record(username, "document.remove", f"#{doc_id} {gone.name}", None,
                              conn)
        return gone

    def set_status(self, ids: list[int], status: DocumentStatus, error: str | None = None,
                   passages: dict[int, int] | None = None) -> None:
        with self.engine.begin() as conn:
            for doc_id in ids:
                values: dict = {"status": status, "error": error,
                                "updated_at": datetime.now(UTC)}
                if passages is not None:
                    values["passages"] = passages.get(doc_id, 0)
                conn.execute(update(documents).where(documents.c.id == doc_id).values(**values))

    # ------------------------------------------------------------ reading
    def list(self) -> list[StoredDocument]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(*_COLUMNS).order_by(documents.c.id.desc()))
            return [StoredDocument(**row._mapping) for row in rows]

    def get(self, doc_id: int) -> StoredDocument | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(*_COLUMNS).where(documents.c.id == doc_id)).first()
        return StoredDocument(**row._mapping) if row else None

    def content(self, doc_id: int) -> bytes:
        with self.engine.connect() as conn:
            data = conn.execute(select(documents.c.content).where(
                documents.c.id == doc_id)).scalar_one_or_none()
        if data is None:
            raise InputError(f"no document #{doc_id}")
        return bytes(data)

    def preview(self, doc_id: int) -> Preview:
        stored = self._get(doc_id)
        data = self.content(doc_id)
        _, docs = _read(stored.name, data)
        kept = "\n\n".join(f"{d.question}\n{d.text}" if d.question else d.text for d in docs)
        return Preview(kept, _dropped_lines(stored.format, data, kept))

    # ------------------------------------------------------------ export
    def export(self) -> list[StoredDocument]:
        """Write every document to corpus/uploads/ (each file atomically) and remove files
        of documents that are gone; the documents written."""
        folder = self.corpus_dir / UPLOAD_DIR
        folder.mkdir(parents=True, exist_ok=True)
        stored = self.list()
        wanted = {d.file_name for d in stored}
        for path in folder.iterdir():
            if path.is_file() and path.name not in wanted:
                path.unlink()
        for doc in stored:
            path = folder / doc.file_name
            if path.exists() and hashlib.sha256(path.read_bytes()).hexdigest() == doc.sha256:
                continue  # written by an earlier build: its content is not read again
            draft = path.with_name(f".{path.name}.tmp")
            draft.write_bytes(self.content(doc.id))
            os.replace(draft, path)
        return stored

    def _get(self, doc_id: int) -> StoredDocument:
        found = self.get(doc_id)
        if found is None:
            raise InputError(f"no document #{doc_id}")
        return found


def _read(name: str, data: bytes) -> tuple[str, list[Document]]:
    """(format, documents) as the build will read them; InputError if unusable."""
    label = _clean_name(name) or "file"
    if not data.strip():
        raise InputError(f"{label}: empty file")
    if len(data) > MAX_UPLOAD_BYTES:
        raise InputError(f"{label}: over {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    suffix = Path(name).suffix.lower()
    try:
        kind = formats.sniff(data)
        if kind == "text" and suffix not in TEXT_SUFFIXES:
            name = f"{name}.txt"  # text whatever it is called: read as a plain page
        report = IngestReport()
        docs = file_documents(data, name, report)
    except IngestError as exc:
        raise InputError(f"{label}: {exc}") from None
    return kind, docs


def _summary(docs: list[Document]) -> dict:
    langs = sorted({d.lang for d in docs})
    return {"title": (docs[0].title if len(docs) == 1 else
                      f"{docs[0].title} (+{len(docs) - 1})")[:500],
            "lang": "/".join(langs), "passages": len(chunk_documents(docs))}


def _clean_name(name: str) -> str:
    name = Path(name.replace("\\", "/")).name
    return re.sub(r"[\x00-\x1f\x7f]", "", name).strip()[:255]


def _dropped_lines(kind: str, data: bytes, kept: str) -> list[str]:
    """Lines of the file as it was that do not appear in what is indexed."""
    if kind == "pdf":
        from pdfminer.high_level import extract_text

        try:
            raw = extract_text(io.BytesIO(data))
        except Exception:  # noqa: BLE001 - a preview shows what it can
            return []
    elif kind == "text":
        try:
            raw = decode_text(data)
        except IngestError:
            return []
    else:
        return []
    squeezed = re.sub(r"\s+", "", kept)
    dropped = []
    for line in raw.splitlines():
        line = re.sub(r"<[^>]+>", " ", line).strip()
        if line and re.sub(r"\s+", "", line) not in squeezed and line not in dropped:
            dropped.append(line)
    return dropped[:500]
