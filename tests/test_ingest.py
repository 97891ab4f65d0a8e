"""Ingestion of every format, and of bad files: skipped or reported, never a crash."""

from __future__ import annotations

import json

from bot.ingest import load_corpus
from tests.conftest import SEED_CORPUS


def test_seed_corpus_ingests_cleanly():
    report = load_corpus(SEED_CORPUS)
    assert report.warnings == []
    docs = {d.doc_id: d for d in report.documents}
    assert len(docs) == 4
    assert docs["000_9b65f6902225c386"].lang == "zh"
    assert docs["003_76d4942036accc7e"].lang == "en"
    assert len(docs["001_97c5ca15f4c0d3eb"].sections) >= 15
    for doc in docs.values():
        for section in doc.sections:
            assert 0 <= section.start < section.end <= len(doc.text)


def test_jsonl_and_csv_qa(tmp_path):
    (tmp_path / "faq.jsonl").write_text(
        json.dumps({"id": "q-1", "question": "什么是坐骨神经痛？", "answer": "坐骨神经痛是沿坐骨神经"
                    "走行的疼痛。", "url": "https://example.org/sciatica"}, ensure_ascii=False)
        + "\n" + json.dumps({"question": "What is sciatica?", "answer": "Pain along the "
                             "sciatic nerve.", "lang": "en"}) + "\n", "utf-8")
    (tmp_path / "faq.csv").write_text(
        "id,department,title,answer\nim-1,骨科,腰痛怎么办？,注意休息，避免久坐。\n", "utf-8")
    report = load_corpus(tmp_path)
    assert report.warnings == []
    docs = {d.doc_id: d for d in report.documents}
    assert set(docs) == {"q-1", "faq.jsonl:2", "im-1"}
    assert docs["q-1"].kind == "qa" and docs["q-1"].question == "什么是坐骨神经痛？"
    assert docs["q-1"].url == "https://example.org/sciatica"
    assert docs["faq.jsonl:2"].lang == "en"
    assert docs["im-1"].question == "腰痛怎么办？" and docs["im-1"].text == "注意休息，避免久坐。"


def test_markdown_and_html_pages(tmp_path):
    (tmp_path / "a.md").write_text("# Disc herniation\n\nA herniated disc can press on a "
                                   "nerve root.\n", "utf-8")
    (tmp_path / "b.html").write_text("<h1>腰痛</h1><p>腰痛是常见症状。</p>", "utf-8")
    docs = {d.doc_id: d for d in load_corpus(tmp_path).documents}
    assert docs["a"].title == "Disc herniation"
    assert "press on a nerve root" in docs["a"].text
    assert docs["b"].title == "腰痛" and "腰痛是常见症状。" in docs["b"].text


def test_gb18030_file_is_decoded(tmp_path):
    (tmp_path / "gbk.txt").write_bytes("腰椎间盘突出\n\n腰椎间盘突出是常见的脊柱疾病，多见于中青年。"
                                       .encode("gb18030"))
    report = load_corpus(tmp_path)
    assert report.warnings == []
    assert "多见于中青年" in report.documents[0].text


def test_bad_files_are_skipped_with_a_warning_naming_them(tmp_path):
    (tmp_path / "good.txt").write_text("标题\n\n这是一段正常的内容，用来确认其余文件仍被读取。", "utf-8")
    (tmp_path / "empty.txt").write_text("", "utf-8")
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 10)
    (tmp_path / "garbage.md").write_bytes(bytes(range(0x80, 0x100)) * 4)
    (tmp_path / "chrome.html").write_text("<nav>Home</nav><footer>Copyright</footer>", "utf-8")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "ignored.py").write_text("print('not a corpus file')", "utf-8")
    report = load_corpus(tmp_path)
    assert [d.doc_id for d in report.documents] == ["good"]
    joined = "\n".join(report.warnings)
    for name in ("empty.txt", "binary.txt", "garbage.md", "chrome.html", "broken.pdf"):
        assert name in joined
    assert "ignored.py" not in joined


def test_malformed_lines_are_reported_and_the_rest_ingested(tmp_path):
    (tmp_path / "faq.jsonl").write_text(
        '{"question": "Q1?", "answer": "A1."}\n'
        '{"question": "Q2?", "answer": \n'
        '["not", "an", "object"]\n'
        '{"question": "", "answer": "no question"}\n'
        '{"question": "Q5?", "answer": "A5."}\n', "utf-8")
    (tmp_path / "faq.csv").write_text('question,answer\n"Q1?","A1."\n"Q2?"\n"Q3?","A3."\n',
                                      "utf-8")
    report = load_corpus(tmp_path)
    ids = sorted(d.doc_id for d in report.documents)
    assert ids == ["faq.csv:2", "faq.csv:4", "faq.jsonl:1", "faq.jsonl:5"]
    joined = "\n".join(report.warnings)
    assert "faq.jsonl:2" in joined and "faq.jsonl:3" in joined and "faq.jsonl:4" in joined
    assert "faq.csv:3" in joined


def test_duplicate_ids_keep_the_first(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"id": "x", "question": "Q?", "answer": "first"}\n'
                                      '{"id": "x", "question": "Q?", "answer": "second"}\n')
    report = load_corpus(tmp_path)
    assert [d.text for d in report.documents] == ["first"]
    assert "duplicate id 'x'" in report.warnings[0]


def test_csv_without_required_columns_is_reported(tmp_path):
    (tmp_path / "bad.csv").write_text("foo,bar\n1,2\n", "utf-8")
    report = load_corpus(tmp_path)
    assert report.documents == [] and "bad.csv" in report.warnings[0]
