"""Office and PDF documents as cleaned pages: PDF (text layer, pdfminer.six), DOCX
(python-docx) and XLSX (openpyxl). The type is read from the content, never the name.
Hostile files get an IngestError naming the problem: encrypted, corrupt, a zip bomb, an
image-only PDF, something else entirely.

PDF: pdfminer.six was chosen over pypdf on a Chinese PDF (a CID font, as Chinese office
software writes them): both recovered 99.97-100% of the characters in order, but pdfminer
groups text into boxes with positions and font sizes, which give paragraphs, headings (a
larger font) and the running headers and footers to drop (the same text at the top or
bottom of most pages, page numbers). Each block keeps its page number, so a quote can say
where it is."""

from __future__ import annotations

import io
import re
import statistics
import zipfile
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from bot.cleaning import Block, CleanPage, normalize_text
from bot.errors import IngestError

Kind = Literal["pdf", "docx", "xlsx", "text"]
MAX_PAGES = 1000
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024  # all parts of a DOCX/XLSX, uncompressed
MAX_RATIO = 200  # uncompressed / compressed: ordinary Office files stay far below
MAX_ROWS = 100_000
_PAGE_NUMBER = re.compile(r"^(第\s*\d+\s*页(\s*/?\s*共\s*\d+\s*页)?|[-–—]?\s*\d{1,4}\s*[-–—]?|"
                          r"page\s+\d+(\s+of\s+\d+)?|\d+\s*/\s*\d+)$", re.I)
_QUESTION_COLUMNS = ("question", "问题", "问", "提问", "q")
_ANSWER_COLUMNS = ("answer", "答案", "回答", "答", "a")


def sniff(data: bytes) -> Kind:
    """What a file is, from its first bytes (and, for a zip, the parts it holds)."""
    if data.lstrip()[:5] == b"%PDF-":
        return "pdf"
    if data[:4] == b"PK\x03\x04":
        names = _zip_names(data)
        if "word/document.xml" in names:
            return "docx"
        if "xl/workbook.xml" in names:
            return "xlsx"
        raise IngestError("a zip archive that is neither a Word (.docx) nor an Excel (.xlsx) "
                          "file")
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise IngestError("an old binary Office file (.doc/.xls) or an encrypted Office "
                          "file: save it as .docx/.xlsx without a password")
    for magic, name in ((b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"),
                        (b"GIF8", "a GIF image"), (b"\x1f\x8b", "a gzip archive"),
                        (b"Rar!", "a RAR archive"), (b"7z\xbc\xaf", "a 7-zip archive")):
        if data.startswith(magic):
            raise IngestError(f"{name}, not a document")
    return "text"


# ------------------------------------------------------------------ PDF
@dataclass
class _Box:
    page: int
    top: float  # 0 = top of the page, 1 = bottom
    text: str
    size: float  # median font size of its characters


def pdf_page(data: bytes) -> CleanPage:
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams, LTChar, LTTextBox
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.pdfparser import PDFSyntaxError
    from pdfminer.psparser import PSException

    boxes: list[_Box] = []
    title = ""
    try:
        for number, layout in enumerate(extract_pages(io.BytesIO(data), laparams=LAParams()),
                                        start=1):
            if number > MAX_PAGES:
                raise IngestError(f"more than {MAX_PAGES} pages")
            height = float(layout.height) or 1.0
            for element in layout:
                if not isinstance(element, LTTextBox):
                    continue
                text = _join_lines(element.get_text())
                sizes = [ch.size for line in element for ch in line
                         if isinstance(ch, LTChar)]
                if text:
                    boxes.append(_Box(number, 1 - float(element.y1) / height, text,
                                      statistics.median(sizes) if sizes else 0.0))
    except (PDFPasswordIncorrect, PDFEncryptionError):
        raise IngestError("an encrypted PDF: save it without a password") from None
    except IngestError:
        raise
    except (PDFSyntaxError, PSException, ValueError, KeyError, TypeError, AssertionError,
            IndexError, AttributeError) as exc:
        raise IngestError(f"a damaged PDF ({type(exc).__name__})") from None
    pages = max((b.page for b in boxes), default=0)
    boxes = _without_running_lines(boxes, pages)
    if sum(len(b.text) for b in boxes) < 20:
        raise IngestError("no text layer (a scanned or image-only PDF); OCR is not supported")
    body = statistics.median(b.size for b in boxes if b.size) if any(b.size for b in boxes) \
        else 0.0
    blocks = []
    for box in boxes:
        heading = (body and box.size >= body * 1.15 and len(box.text) <= 60
                   and not re.search(r"[。！？.!?]$", box.text))
        if heading and not title:
            title = box.text
            blocks.append(Block("title", box.text, box.page))
        else:
            blocks.append(Block("heading" if heading else "text", box.text, box.page))
    return CleanPage(title=title or blocks[0].text[:80], blocks=blocks)


def _join_lines(text: str) -> str:
    """A text box's lines as one paragraph: Chinese lines join without a space."""
    lines = [normalize_text(line) for line in text.splitlines()]
    out = ""
    for line in (line for line in lines if line):
        if out and not (_cjk(out[-1]) and _cjk(line[0])):
            out += " "
        out += line
    return out


def _cjk(ch: str) -> bool:
    return "\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef"


def _without_running_lines(boxes: list[_Box], pages: int) -> list[_Box]:
    """Drop page numbers and running headers/footers: text in the top or bottom 10% of a
    page that recurs (digits aside) on at least half the pages."""
    def shape(box: _Box) -> str:
        return re.sub(r"\d+", "#", box.text)

    margin = [b for b in boxes if b.top < 0.1 or b.top > 0.9]
    recurring = Counter(shape(b) for b in margin)
    running = {s for s, n in recurring.items() if pages >= 2 and n >= max(2, pages / 2)}
    return [b for b in boxes
            if not ((b.top < 0.1 or b.top > 0.9)
                    and (shape(b) in running or _PAGE_NUMBER.match(b.text)))]


# ------------------------------------------------------------------ Office (zip) files
def _zip_names(data: bytes) -> set[str]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise IngestError("a damaged zip/Office file") from None
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if total > MAX_UNZIPPED_BYTES or total / packed > MAX_RATIO:
        raise IngestError(f"unpacks to {total:,} bytes from {packed:,} (a zip bomb?)")
    return {i.filename for i in infos}


def docx_page(data: bytes) -> CleanPage:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    _zip_names(data)
    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise IngestError(f"a damaged Word file ({type(exc).__name__})") from None
    blocks: list[Block] = []
    title = normalize_text(document.core_properties.title or "")
    for paragraph in document.paragraphs:
        text = normalize_text(paragraph.text)
        if not text:
            continue
        style = (paragraph.style.name if paragraph.style is not None else "").lower()
        if style == "title" or (style.startswith("heading 1") and not title):
            title = title or text
            blocks.append(Block("title", text))
        elif style.startswith("heading"):
            blocks.append(Block("heading", text))
        else:
            blocks.append(Block("text", text))
    for table in document.tables:
        for row in table.rows:
            cells = [normalize_text(c.text) for c in row.cells]
            if any(cells):
                blocks.append(Block("text", " | ".join(dict.fromkeys(c for c in cells if c))))
    if not any(b.kind == "text" for b in blocks):
        raise IngestError("a Word file without text")
    return CleanPage(title=title or blocks[0].text[:80], blocks=blocks)


@dataclass
class Sheet:
    name: str
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (row number, cells)

    def qa_columns(self) -> tuple[int, int] | None:
        """(question, answer) column positions if the header names both."""
        lowered = [h.strip().lower() for h in self.header]
        question = next((i for i, h in enumerate(lowered) if h in _QUESTION_COLUMNS), None)
        answer = next((i for i, h in enumerate(lowered) if h in _ANSWER_COLUMNS), None)
        return (question, answer) if question is not None and answer is not None else None


def xlsx_sheets(data: bytes) -> list[Sheet]:
    import openpyxl

    _zip_names(data)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (KeyError, ValueError, TypeError, OSError, zipfile.BadZipFile) as exc:
        raise IngestError(f"a damaged Excel file ({type(exc).__name__})") from None
    sheets = []
    count = 0
    try:
        for worksheet in workbook.worksheets:
            header: list[str] | None = None
            rows: list[tuple[int, list[str]]] = []
            for number, values in enumerate(worksheet.iter_rows(values_only=True), start=1):
                count += 1
                if count > MAX_ROWS:
                    raise IngestError(f"more than {MAX_ROWS:,} rows")
                cells = ["" if v is None else normalize_text(str(v)) for v in values]
                if not any(cells):
                    continue
                if header is None:
                    header = cells
                else:
                    rows.append((number, cells))
            if header is not None and rows:
                sheets.append(Sheet(worksheet.title, header, rows))
    finally:
        workbook.close()
    if not sheets:
        raise IngestError("an Excel file without a sheet of a header and rows")
    return sheets


def sheet_page(sheet: Sheet) -> CleanPage:
    """A sheet that is not Q&A: each row a passage of "header: value" pairs."""
    blocks = [Block("title", sheet.name)]
    for _, cells in sheet.rows:
        pairs = [f"{h}: {c}" if h else c for h, c in zip(sheet.header, cells, strict=False)
                 if c]
        if pairs:
            blocks.append(Block("text", "；".join(pairs) if _cjk(pairs[0][:1] or "a")
                                else "; ".join(pairs)))
    return CleanPage(title=sheet.name, blocks=blocks)
