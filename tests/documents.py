"""Real documents made by the tests: PDFs (Chinese with a CJK font, English), a Word file
with headings, an Excel workbook of Q&A pairs, and hostile files."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path


def pdf(path: Path, title: str, pages: list[list[str]], lang: str = "zh",
        header: str = "", password: str | None = None) -> Path:
    """A PDF with a text layer: `title` large on page 1, then each page's paragraphs, a
    running header and a page number in the footer on every page."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    font = "Helvetica"
    if lang == "zh":
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))  # a CJK font, as in the wild
        font = "STSong-Light"
    width = 36 if lang == "zh" else 80
    sheet = canvas.Canvas(str(path), pagesize=A4, encrypt=password)
    for number, paragraphs in enumerate(pages, start=1):
        sheet.setFont(font, 9)
        if header:
            sheet.drawString(72, 810, header)
        sheet.drawString(290, 30, f"第 {number} 页" if lang == "zh" else f"Page {number}")
        y = 770
        if number == 1:
            sheet.setFont(font, 18)
            sheet.drawString(72, y, title)
            y -= 40
        sheet.setFont(font, 11)
        for paragraph in paragraphs:
            for line in _wrap(paragraph, width, lang):
                sheet.drawString(72, y, line)
                y -= 16
            y -= 12
        sheet.showPage()
    sheet.save()
    return path


def _wrap(text: str, width: int, lang: str) -> list[str]:
    if lang == "zh":
        return [text[i:i + width] for i in range(0, len(text), width)]
    lines, line = [], ""
    for word in text.split():
        if len(line) + len(word) + 1 > width:
            lines.append(line)
            line = ""
        line = f"{line} {word}".strip()
    return lines + [line] if line else lines


def image_only_pdf(path: Path) -> Path:
    from reportlab.pdfgen import canvas

    sheet = canvas.Canvas(str(path))
    sheet.rect(100, 100, 300, 400, fill=1)  # a "scan": shapes, no text
    sheet.showPage()
    sheet.save()
    return path


def docx(path: Path, title: str, sections: list[tuple[str, list[str]]]) -> Path:
    import docx as python_docx

    document = python_docx.Document()
    document.add_heading(title, 0)
    for heading, paragraphs in sections:
        document.add_heading(heading, 1)
        for paragraph in paragraphs:
            document.add_paragraph(paragraph)
    document.save(str(path))
    return path


def xlsx(path: Path, sheets: dict[str, list[list[str]]]) -> Path:
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    workbook.save(str(path))
    return path


def zip_bomb(path: Path) -> Path:
    """A .docx that unpacks to 100 MB of zeros from ~100 KB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"0" * 100_000_000)
    path.write_bytes(buffer.getvalue())
    return path
