"""PDF, Word and Excel documents into the corpus: read by content, cleaned like web pages
(running headers, footers and page numbers dropped), quoted verbatim with their page; and
hostile files refused one by one with a clear reason while the others go through."""

from __future__ import annotations

import pytest

from bot import formats
from bot.core import Bot
from bot.errors import IngestError
from bot.ingest import load_corpus
from tests import documents

ZH_PAGES = [
    ["梨状肌综合征是坐骨神经在臀部受到梨状肌压迫引起的疼痛，常被误认为腰椎间盘突出。",
     "典型表现是久坐后臀部深处酸痛，疼痛可沿大腿后侧放射。",
     "医生通常通过体格检查作出诊断，必要时做磁共振检查以排除腰椎的问题。",
     "多数患者经过休息、理疗和药物治疗可以缓解，很少需要手术。"],
    ["日常生活中要避免久坐，开车或办公时每隔一小时起身活动。",
     "梨状肌拉伸的做法：仰卧，屈膝，将一侧脚踝搭在另一侧膝上，双手抱住下方大腿向胸口拉，"
     "保持三十秒，每天重复三次。",
     "如果出现大小便障碍或腿部无力加重，应立即就医。"],
]
EN_PAGES = [
    ["Coccydynia is pain in the tailbone, often after a fall or a long bicycle ride.",
     "It is more common in women and usually felt when sitting or rising from a chair.",
     "A doctor examines the area and may order an X-ray taken while sitting."],
    ["Most people recover without an operation.",
     "A wedge-shaped cushion that leaves the tailbone free relieves sitting pain for most "
     "people within a few weeks.",
     "Injections are tried when the pain lasts longer than two months."],
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("office-corpus")
    documents.pdf(folder / "piriformis.pdf", "梨状肌综合征患者手册", ZH_PAGES,
                  header="脊柱健康科普手册")
    documents.pdf(folder / "coccyx.pdf", "Tailbone pain leaflet", EN_PAGES, lang="en",
                  header="Spine Clinic Leaflets")
    documents.docx(folder / "sciatica.docx", "Sciatica at a glance", [
        ("What is sciatica?", ["Sciatica is pain that travels along the sciatic nerve."]),
        ("When should I see a doctor?", ["See a doctor if the leg grows weak."])])
    documents.xlsx(folder / "faq.xlsx", {
        "FAQ": [["question", "answer", "url"],
                ["What is a lumbar support belt for?",
                 "A lumbar support belt limits bending during heavy lifting.",
                 "https://example.org/belt"]],
        "Clinics": [["城市", "医院"], ["北京", "协和医院"]]})
    documents.pdf(folder / "locked.pdf", "Secret", EN_PAGES, lang="en", password="s3cret")
    documents.image_only_pdf(folder / "scan.pdf")
    documents.zip_bomb(folder / "bomb.docx")
    (folder / "truncated.pdf").write_bytes((folder / "coccyx.pdf").read_bytes()[:700])
    (folder / "garbage.xlsx").write_bytes(bytes(range(256)) * 40)
    (folder / "picture.pdf").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x01" * 64)
    return folder


@pytest.fixture(scope="module")
def report(corpus):
    return load_corpus(corpus)


def test_each_format_becomes_documents(report):
    by_id = {d.doc_id: d for d in report.documents}
    leaflet = by_id["piriformis"]
    assert leaflet.title == "梨状肌综合征患者手册" and leaflet.lang == "zh"
    assert "保持三十秒，每天重复三次。" in leaflet.text  # lines joined, no stray spaces
    assert [n for _, n in leaflet.pages] == [1, 2]
    english = by_id["coccyx"]
    assert english.title == "Tailbone pain leaflet" and english.lang == "en"
    word = by_id["sciatica"]
    assert word.title == "Sciatica at a glance"
    assert [h for _, h in word.sections[0].headings] == ["What is sciatica?",
                                                         "When should I see a doctor?"]
    qa = next(d for d in report.documents if d.kind == "qa")
    assert qa.question == "What is a lumbar support belt for?"
    assert qa.url == "https://example.org/belt"
    rows = by_id["faq.xlsx#Clinics"]
    assert "城市: 北京" in rows.text and "医院: 协和医院" in rows.text


def test_running_headers_footers_and_page_numbers_are_dropped(report):
    text = next(d for d in report.documents if d.doc_id == "piriformis").text
    english = next(d for d in report.documents if d.doc_id == "coccyx").text
    assert "脊柱健康科普手册" not in text and "第 1 页" not in text and "第 2 页" not in text
    assert "Spine Clinic Leaflets" not in english and "Page 2" not in english


@pytest.mark.parametrize("name, reason", [
    ("locked.pdf", "encrypted"),
    ("scan.pdf", "image-only"),
    ("bomb.docx", "zip bomb"),
    ("truncated.pdf", "damaged"),
    ("garbage.xlsx", "binary"),
    ("picture.pdf", "PNG image"),
])
def test_hostile_files_are_refused_with_their_reason(report, name, reason):
    warning = next(w for w in report.warnings if name in w)
    assert reason in warning
    assert not any(d.source == name for d in report.documents)


def test_the_type_comes_from_the_content_not_the_name(corpus):
    data = (corpus / "coccyx.pdf").read_bytes()
    assert formats.sniff(data) == "pdf"
    assert formats.sniff((corpus / "sciatica.docx").read_bytes()) == "docx"
    assert formats.sniff((corpus / "faq.xlsx").read_bytes()) == "xlsx"
    assert formats.sniff("腰痛".encode()) == "text"
    with pytest.raises(IngestError, match="neither"):
        import io
        import zipfile

        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("hello.txt", "hi")
        formats.sniff(buffer.getvalue())


def test_a_pdf_answer_is_quoted_verbatim_with_its_page(corpus, tmp_path, embedder):
    bot = Bot.load(index_dir=tmp_path / "index", corpus_dir=corpus, embedder=embedder)
    reply = bot.ask("梨状肌怎么拉伸")
    assert reply.kind == "answer"
    first = reply.passages[0]
    assert first.doc_id == "piriformis" and first.page == 2
    assert "保持三十秒，每天重复三次。" in first.text
    assert any(first.text in c.text for c in bot.retriever.index.chunks)  # verbatim
    assert "第2页" in reply.text
    english = bot.ask("What cushion helps tailbone pain when sitting?")
    assert english.passages[0].doc_id == "coccyx" and english.passages[0].page == 2
    assert "p. 2" in english.text
