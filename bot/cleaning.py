"""Turn a captured web page into clean blocks: site chrome out, every line of content kept.

Pages arrive as text lines (from .txt as captured, .md, or .html after tag stripping). Each
line is classified (boilerplate, metadata, date, heading-like, content); duplicated content
and teaser copies are dropped; a heading survives only when real content follows it, which
removes link lists ("title / date / title / date ...") without naming any site.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Literal

BlockKind = Literal["title", "heading", "text"]

_CJK_CHAR = r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
_DATE = r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?"

_BOILERPLATE = [
    re.compile(p, re.I)
    for p in (
        r"^>>",
        r"^--.*--$",
        r"当前(所在)?位置\s*[:：]",
        r"为您提供",
        r"免费咨询|咨询电话|预约电话|咨询预约|立即预约|在线咨询|点击.{0,8}(预约|咨询|查看|进入)",
        r"【了解",
        r"400[-\s]?\d{3}[-\s]?\d{4}|(?<!\d)1[3-9]\d{9}(?!\d)|(?<!\d)0\d{2,3}-\d{7,8}(?!\d)",
        r"qq\s*[群号:：]?\s*[:：]?\s*\d{5,}",
        r"copyright|©|版权所有|icp备|网站地图|all rights reserved",
        r"^本文\s*[\[【《].*[\]】》]\s*来源",
        r"仅供参考.{0,4}不能作为|不能作为(诊断|治疗|医疗)(及医疗)?的?依据",
        r"^https?://\S+$",
        r"^\S{1,20}\s+\|\s+\S.{0,30}$",  # "site | slogan"
    )
]
# Headers of link lists and page widgets; also where a bundled article may start.
_LIST_HEADER = re.compile(
    r"^(相关文章|推荐文章|相关阅读|延展阅读|扩展阅读|经典案例推荐|相关单位|热门文章|热门推荐|猜你喜欢|"
    r"了解疾病|了解详情|自测工具|行动指南|上一篇|下一篇|相关推荐|related articles|"
    r"related posts|read more|you may also like)$|相关阅读$",
    re.I,
)
# "Name 主治医师" / hospital lines that follow the title of a bundled article.
_BYLINE = re.compile(
    r"^\S{1,20}\s*(主任医师|副主任医师|主治医师|住院医师|医师|副教授|教授)$|"
    r"^\S{2,40}(医院|医学院|卫生院|诊所|中心)\s*(三甲|二甲|三乙|二乙|一甲)?$"
)
_URL_META = re.compile(
    r"(文章网址|原文网址|原文链接|本文地址|本文链接|网址|来源|source|url)\s*[:：]\s*(https?://\S+)", re.I
)
_DATE_META = re.compile(
    rf"(更新时间|发布时间|发表时间|发布日期|日期|时间|updated|published|date)\s*[:：]\s*({_DATE})", re.I
)
_DATE_LINE = re.compile(rf"^{_DATE}(\s+\d{{1,2}}:\d{{2}}(:\d{{2}})?)?$")
_TERMINAL = tuple("。！；.!;…,，、")
_ELLIPSIS = re.compile(r"(\.{3,}|…+)$")
_NON_WORD = re.compile(r"[\W_]+")
_ZERO_WIDTH = re.compile(r"[\u200b-\u200f\u2060\ufeff]")

_HALF_TO_FULL = {",": "，", ":": "：", ";": "；", "?": "？", "!": "！", "(": "（", ")": "）"}
_PUNCT_NEAR_CJK = re.compile(
    rf"(?<={_CJK_CHAR})[,:;?!()]|[,:;?!(](?={_CJK_CHAR})|(?<=[\u3400-\u9fff\w])\)"
)


@dataclass(frozen=True)
class Block:
    kind: BlockKind
    text: str
    page: int | None = None  # the page it is on (PDF)


@dataclass
class CleanPage:
    title: str = ""
    url: str | None = None
    date: str | None = None
    blocks: list[Block] = field(default_factory=list)


def normalize_text(text: str) -> str:
    """Unicode NFC, no zero-width characters, collapsed spaces, full-width punctuation in Chinese.

    Captured Chinese pages often carry half-width ',' '(' between Chinese characters; the
    original (and what visitors copy) uses '，' '（'.
    """
    text = unicodedata.normalize("NFC", _ZERO_WIDTH.sub("", text)).replace("\u3000", " ")
    text = re.sub(r"[ \t\xa0]+", " ", text).strip()
    return _normalize_cjk_punctuation(text)


def _normalize_cjk_punctuation(text: str) -> str:
    if not re.search(_CJK_CHAR, text):
        return text
    # ')' only becomes full-width when its '(' did, so "MRI(金标准, ...)" pairs up.
    out, open_full = [], 0
    for i, ch in enumerate(text):
        if ch in _HALF_TO_FULL and ch != ")":
            before = text[i - 1] if i else ""
            after = text[i + 1] if i + 1 < len(text) else ""
            near_cjk = bool(re.match(_CJK_CHAR, before) or re.match(_CJK_CHAR, after))
            if ch == "(":
                if near_cjk:
                    open_full += 1
                    ch = "（"
            elif near_cjk:
                ch = _HALF_TO_FULL[ch]
        elif ch == ")" and open_full:
            open_full -= 1
            ch = "）"
        out.append(ch)
    return "".join(out)


def _key(text: str) -> str:
    """Comparison key: letters and digits only, so punctuation/spacing variants match."""
    return _NON_WORD.sub("", _ELLIPSIS.sub("", text)).lower()


def _is_heading_like(line: str) -> bool:
    limit = 40 if re.search(_CJK_CHAR, line) else 90
    return len(line) <= limit and not line.endswith(_TERMINAL)


@dataclass
class _Line:
    text: str
    kind: str  # drop | break | byline | date | heading | text
    forced_heading: bool = False


def _classify(line: str, page: CleanPage, forced_heading: bool) -> _Line:
    url = _URL_META.search(line)
    if url:
        page.url = page.url or url.group(2).rstrip("。，,.")
        return _Line(line, "drop")
    date = _DATE_META.search(line)
    if date and len(line) < 60:
        page.date = page.date or _normalize_date(date.group(2))
        return _Line(line, "drop")
    if _DATE_LINE.match(line):
        return _Line(line, "date")
    if _LIST_HEADER.search(line):
        return _Line(line, "break")
    if any(p.search(line) for p in _BOILERPLATE):
        return _Line(line, "drop")
    if _BYLINE.match(line):
        return _Line(line, "byline")
    if forced_heading or _is_heading_like(line):
        return _Line(line, "heading", forced_heading)
    return _Line(line, "text")


def _normalize_date(raw: str) -> str:
    parts = re.findall(r"\d+", raw)
    return f"{int(parts[0]):04d}-{int(parts[1]):02d}-{int(parts[2]):02d}"


def _drop_repeated_content(lines: list[_Line]) -> None:
    """Drop content that repeats earlier text (a page captured twice, an article's summary
    card listed after it) and teasers ending in '...' whose full text follows."""
    seen = ""
    for i, line in enumerate(lines):
        if line.kind not in ("text", "heading"):
            continue
        key = _key(line.text)
        if not key:
            line.kind = "drop"
            continue
        if line.kind == "text" and len(key) >= 8 and key in seen:
            line.kind = "drop"
            continue
        if line.kind == "text" and _ELLIPSIS.search(line.text):
            later = "".join(_key(x.text) for x in lines[i + 1 :] if x.kind in ("text", "heading"))
            if key in later:
                line.kind = "drop"
                continue
        seen += key


def _strip_title_repeats(text: str, title: str) -> str:
    """Remove a page title pasted into paragraphs (some sites stamp it between sentences)."""
    if len(title) < 12 or title not in text:
        return text
    return re.sub(r"\s{2,}", " ", text.replace(title, " ")).strip()


def clean_lines(
    raw_lines: list[str], title_hint: str = "", heading_lines: frozenset[int] = frozenset()
) -> CleanPage:
    """Clean a page given as lines; `heading_lines` are indexes marked as headings by markup."""
    page = CleanPage()
    lines: list[_Line] = []
    for i, raw in enumerate(raw_lines):
        text = normalize_text(raw)
        if text:
            lines.append(_classify(text, page, i in heading_lines))

    title = normalize_text(title_hint)
    if not title:
        first = next((x for x in lines if x.kind in ("heading", "text")), None)
        if first is not None and first.kind == "heading":
            title = first.text
    page.title = title

    for line in lines:
        if line.kind == "text":
            line.text = _strip_title_repeats(line.text, title)
    _drop_link_lists(lines)
    _drop_repeated_content(lines)
    _resolve_headings(lines, page)

    blocks: list[Block] = []
    pending_break = True  # the first heading of a page starts its first section
    title_key = _key(title)
    for index, line in enumerate(lines):
        if line.kind == "break":
            pending_break = True
        elif line.kind == "heading":
            is_title_repeat = _key(line.text) == title_key and any(
                b.kind == "title" for b in blocks
            )
            if is_title_repeat or (blocks and _key(blocks[-1].text) == _key(line.text)):
                continue
            starts_article = pending_break or _next_is_byline_or_date(lines, index)
            blocks.append(Block("title" if starts_article else "heading", line.text))
            pending_break = False
        elif line.kind == "text":
            blocks.append(Block("text", line.text))
            pending_break = False
    if blocks and blocks[0].kind == "heading":
        blocks[0] = Block("title", blocks[0].text)
    if not page.title:
        page.title = next((b.text for b in blocks if b.kind == "title"), "")
    page.blocks = blocks
    return page


def _next_is_byline_or_date(lines: list[_Line], index: int) -> bool:
    j = _next_index(lines, index)
    return j is not None and lines[j].kind in ("byline", "date")


def _is_short(line: _Line) -> bool:
    return _is_heading_like(line.text.rstrip("。！？!?")) or len(line.text) <= 30


def _drop_link_lists(lines: list[_Line]) -> None:
    """'short title / date' pairs not followed by content are items of a link list."""
    for i, line in enumerate(lines):
        if line.kind not in ("heading", "text") or not _is_short(line):
            continue
        j = _next_index(lines, i)
        if j is None or lines[j].kind != "date":
            continue
        k = _next_index(lines, j)
        if k is None or lines[k].kind != "text" or _is_short(lines[k]):
            line.kind = "drop"
            lines[j].kind = "drop"


def _resolve_headings(lines: list[_Line], page: CleanPage) -> None:
    """Keep a heading only when content follows it; record an article's date line."""
    for i, line in enumerate(lines):
        if line.kind != "heading":
            continue
        keep = False
        for j in range(i + 1, len(lines)):
            kind = lines[j].kind
            if kind in ("drop", "byline", "heading"):
                continue
            if kind == "date":
                k = _next_index(lines, j)
                keep = k is not None and lines[k].kind == "text"
                if keep:
                    page.date = page.date or _normalize_date(lines[j].text)
                break
            keep = kind == "text"
            break
        if not keep:
            line.kind = "drop"


def _next_index(lines: list[_Line], index: int) -> int | None:
    for j in range(index + 1, len(lines)):
        if lines[j].kind != "drop":
            return j
    return None


# ---------------------------------------------------------------- formats


def clean_text_page(raw: str) -> CleanPage:
    return clean_lines(raw.splitlines())


def clean_markdown_page(raw: str) -> CleanPage:
    lines, headings, title = [], set(), ""
    for line in raw.splitlines():
        match = re.match(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if match:
            if match.group(1) == "#" and not title:
                title = match.group(2)
            headings.add(len(lines))
            lines.append(match.group(2))
        else:
            # Drop emphasis, images and link targets; keep link text.
            line = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", line)
            line = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line)
            line = re.sub(r"^\s*(?:[-*+]|\d+\.)\s+", "", line)
            lines.append(re.sub(r"(\*\*|__|`)", "", line))
    return clean_lines(lines, title_hint=title, heading_lines=frozenset(headings))


class _HtmlLines(HTMLParser):
    _SKIP = {"script", "style", "nav", "header", "footer", "aside", "form", "noscript", "svg",
             "iframe", "button", "select"}
    _BLOCK = {"p", "div", "br", "li", "tr", "section", "article", "table", "ul", "ol", "dd",
              "dt", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "title", "main"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.headings: set[int] = set()
        self.title = ""
        self.h1 = ""
        self._buffer: list[str] = []
        self._skip_depth = 0
        self._in: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip_depth += 1
        if tag in self._BLOCK:
            self._flush()
        self._in.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._BLOCK:
            self._flush(heading=tag in {"h1", "h2", "h3", "h4", "h5", "h6"}, tag=tag)
        if tag in self._SKIP and self._skip_depth:
            self._skip_depth -= 1
        if tag in self._in:
            while self._in and self._in.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self._buffer.append(data)

    def _flush(self, heading: bool = False, tag: str = "") -> None:
        text = " ".join("".join(self._buffer).split())
        self._buffer = []
        if not text:
            return
        if tag == "title":
            self.title = self.title or text
            return
        if tag == "h1":
            self.h1 = self.h1 or text
        if heading:
            self.headings.add(len(self.lines))
        self.lines.append(text)

    def close(self) -> None:
        super().close()
        self._flush()


def clean_html_page(raw: str) -> CleanPage:
    parser = _HtmlLines()
    parser.feed(raw)
    parser.close()
    title = parser.h1 or re.split(r"\s+[-|_–—]\s+", parser.title)[0]
    return clean_lines(parser.lines, title_hint=title, heading_lines=frozenset(parser.headings))
