"""Split documents into quotable chunks: whole sentences, bounded size, a sentence of overlap."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from bot.language import detect_lang, split_sentences
from bot.models import Chunk, Document, Lang, Section

QUOTE_MAX_CHARS = 380  # a quote is a few sentences, not a whole chunk


def quote_units(chunk: Chunk, limit: int = QUOTE_MAX_CHARS) -> list[tuple[int, int]]:
    """Sentence spans of a chunk (a sentence over `limit` cut at a clause): the units a
    quote is built from, and the units embedded as sentence vectors for page chunks."""
    units: list[tuple[int, int]] = []
    for a, b in split_sentences(chunk.text, chunk.lang):
        units.extend(_split_long(chunk.text, a, b, limit))
    return units


@dataclass(frozen=True)
class ChunkLimits:
    """Sizes in characters. A Chinese character carries roughly an English word's
    meaning at a fifth of the length, hence the smaller Chinese limit."""

    zh_max: int = 300
    en_max: int = 450
    overlap_sentences: int = 1

    def max_chars(self, lang: Lang) -> int:
        return self.zh_max if lang == "zh" else self.en_max


def chunk_documents(documents: list[Document], limits: ChunkLimits = ChunkLimits()) -> list[Chunk]:
    chunks: list[Chunk] = []
    for doc in documents:
        chunks.extend(chunk_document(doc, limits))
    return chunks


def chunk_document(doc: Document, limits: ChunkLimits = ChunkLimits()) -> list[Chunk]:
    if doc.kind == "qa":
        return [_make_chunk(doc, doc.title, "", 0, len(doc.text))]
    chunks = []
    for section in doc.sections:
        for heading, start, end in _section_parts(doc, section):
            lang = detect_lang(doc.text[start:end])
            for a, b in _pack_sentences(doc.text, start, end, lang, limits):
                chunks.append(_make_chunk(doc, section.title, heading, a, b, lang))
    return chunks


def _section_parts(doc: Document, section: Section) -> list[tuple[str, int, int]]:
    """(heading, start, end) runs of body text; headings and the title line are left out."""
    markers = sorted(section.headings)
    parts = []
    body_start = section.start
    title_line_end = doc.text.find("\n", section.start, section.end)
    if doc.text[section.start : title_line_end if title_line_end >= 0 else section.end] == (
        section.title
    ):
        body_start = title_line_end + 1 if title_line_end >= 0 else section.end
    current_heading, current_start = "", body_start
    for offset, heading in markers:
        if offset < body_start:
            continue
        parts.append((current_heading, current_start, offset))
        current_heading, current_start = heading, offset + len(heading) + 1
    parts.append((current_heading, current_start, section.end))
    return [(h, a, b) for h, a, b in parts if doc.text[a:b].strip()]


def _pack_sentences(
    text: str, start: int, end: int, lang: Lang, limits: ChunkLimits
) -> list[tuple[int, int]]:
    limit = limits.max_chars(lang)
    sentences: list[tuple[int, int]] = []
    for a, b in split_sentences(text[start:end], lang):
        sentences.extend(_split_long(text, start + a, start + b, limit))
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(sentences):
        j = i
        while j + 1 < len(sentences) and sentences[j + 1][1] - sentences[i][0] <= limit:
            j += 1
        spans.append((sentences[i][0], sentences[j][1]))
        if j + 1 >= len(sentences):
            break
        # Overlap: the next chunk repeats the last sentence(s), unless that makes no progress.
        i = max(i + 1, j + 1 - limits.overlap_sentences)
    return spans


def _split_long(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """A sentence over the limit is cut at a comma or space; otherwise it stays whole."""
    pieces = []
    while end - start > limit:
        window = text[start : start + limit]
        cut = max((m.end() for m in re.finditer(r"[，,、：:]\s*|\s+", window)), default=0)
        if cut < limit // 3:
            cut = limit
        pieces.append((start, start + cut))
        start += cut
        while start < end and text[start].isspace():
            start += 1
    if start < end:
        pieces.append((start, end))
    return [(a, b) for a, b in pieces if text[a:b].strip()]


def _make_chunk(
    doc: Document, title: str, heading: str, start: int, end: int, lang: Lang | None = None
) -> Chunk:
    text = doc.text[start:end]
    digest = hashlib.sha1(f"{doc.doc_id}\x00{start}\x00{text}".encode()).hexdigest()[:16]
    return Chunk(
        chunk_id=digest,
        doc_id=doc.doc_id,
        kind=doc.kind,
        title=title or doc.title,
        heading=heading,
        lang=lang or doc.lang,
        text=text,
        start=start,
        end=end,
        url=doc.url,
        date=doc.date,
        question=doc.question,
        pages=_pages_within(doc.pages, start, end),
    )


def _pages_within(pages: tuple[tuple[int, int], ...], start: int,
                  end: int) -> tuple[tuple[int, int], ...]:
    """The document's page starts as offsets into the chunk [start, end): the page the chunk
    begins on at 0, then each page beginning inside it."""
    if not pages:
        return ()
    first = max((n for offset, n in pages if offset <= start), default=pages[0][1])
    return ((0, first), *((offset - start, n) for offset, n in pages if start < offset < end))
