"""Cleaning on the real seed pages: the boilerplate goes, the content stays."""

from __future__ import annotations

import re

import pytest

from bot.cleaning import clean_html_page, clean_markdown_page, clean_text_page, normalize_text
from tests.conftest import SEED_CORPUS


def page(prefix: str):
    path = next(SEED_CORPUS.glob(f"{prefix}_*.txt"))
    return clean_text_page(path.read_text("utf-8"))


def body(p) -> str:
    return "\n".join(block.text for block in p.blocks)


@pytest.mark.parametrize("prefix", ["000", "001", "002", "003"])
def test_site_chrome_is_dropped(prefix):
    text = body(page(prefix))
    for chrome in ("免费咨询", "咨询电话", "QQ", "COPYRIGHT", "ICP备", "相关文章", "推荐文章",
                   "相关阅读", "网站地图", ">>我要找", "您当前所在位置", "文章网址", "更新时间",
                   "主治医师", "了解详情"):
        assert chrome not in text, chrome
    assert not re.search(r"400[-\s]?0\d{2}[-\s]?\d{4}", text)  # phone numbers
    assert not re.search(r"^\d{4}-\d{2}-\d{2}", text, re.M)  # date lines of link lists


def test_link_lists_and_professor_names_are_dropped():
    text = body(page("000"))
    for item in ("巴特朗菲教授", "Volker Seifert", "脑膜瘤患者六天沉默不语", "震惊！11毫米"):
        assert item not in text


def test_every_line_of_content_is_kept():
    raw = next(SEED_CORPUS.glob("000_*.txt")).read_text("utf-8")
    text = body(page("000"))
    start = raw.index("脑膜瘤的基本知识")
    end = raw.index("温馨提示")
    for line in raw[start:end].splitlines():
        line = normalize_text(line)
        if line and line != normalize_text("头部脑膜瘤竟会导致腰痛,这背后的原因是什么?"):
            assert line in text, line


def test_metadata_is_extracted():
    p = page("000")
    assert p.title == "头部脑膜瘤竟会导致腰痛，这背后的原因是什么？"
    assert p.url == "https://www.new-element.cn/58965.html"
    assert p.date == "2024-05-12"
    assert page("002").date == "2020-07-14"


def test_title_repeated_mid_text_is_dropped():
    p = page("000")
    assert sum(b.text == p.title for b in p.blocks) == 1
    english = page("003")
    assert english.title == "The Low Back Tumors Causes Signs"
    paragraphs = [b.text for b in english.blocks if b.kind == "text"]
    assert len(paragraphs) == 8
    assert all("Causes Signs" not in t for t in paragraphs)
    assert paragraphs[0].startswith("The low back region, also known as the lumbar spine")


def test_teaser_and_duplicated_copy_are_dropped():
    text = body(page("000"))
    assert "难以理解头部..." not in text
    assert text.count("脑膜瘤是一种常见的脑肿瘤") == 1
    assert body(page("002")).count("在进行腰椎手术以后，部分的患者会出现腰酸背痛的情况") == 1


def test_bundled_articles_become_sections():
    p = page("001")
    titles = [b.text for b in p.blocks if b.kind == "title"]
    assert titles[0] == "腰脱压迫神经导致的腿疼"
    for expected in ("弯腰驼背的根源是什么", "小腿肚子涨疼怎么办", "肩周炎的最佳治疗方法",
                     "解痉镇痛酊是什么"):
        assert expected in titles
    assert len(titles) >= 15
    # The summary card of the main article is not repeated.
    assert body(p).count("腰椎间盘突出症（俗称") == 1


def test_chinese_punctuation_is_normalised_but_not_english():
    assert normalize_text("MRI(金标准,清晰显示)、CT") == "MRI（金标准，清晰显示）、CT"
    assert normalize_text("L4-L5, L5-S1 (common).") == "L4-L5, L5-S1 (common)."


def test_html_page_keeps_content_drops_chrome():
    html = """<html><head><title>Back pain | Site</title><script>var x=1;</script></head>
    <body><nav><a href="/">Home</a> | <a href="/a">About</a></nav>
    <h1>Back pain basics</h1><p>Most back pain improves within a few weeks.</p>
    <h2>When to see a doctor</h2><p>See a doctor if the pain lasts more than six weeks.</p>
    <footer>Copyright 2024 Site. Call 400-123-4567</footer></body></html>"""
    p = clean_html_page(html)
    text = body(p)
    assert p.title == "Back pain basics"
    assert "Most back pain improves within a few weeks." in text
    assert "When to see a doctor" in [b.text for b in p.blocks if b.kind == "heading"]
    for chrome in ("Home", "Copyright", "var x", "400-123"):
        assert chrome not in text


def test_markdown_headings_and_links():
    md = "# 腰痛\n\n## 原因\n\n腰痛常见于[肌肉劳损](http://x)。\n\n- 久坐是诱因之一。\n"
    p = clean_markdown_page(md)
    assert p.title == "腰痛"
    assert "腰痛常见于肌肉劳损。" in body(p)
    assert "久坐是诱因之一。" in body(p)
