"""Chunking in both languages: bounded sizes, whole sentences, overlap, exact offsets."""

from __future__ import annotations

from bot.chunking import ChunkLimits, chunk_document, chunk_documents
from bot.ingest import load_corpus
from bot.models import Document, Section
from tests.conftest import SEED_CORPUS

LIMITS = ChunkLimits()


def seed_chunks():
    docs = load_corpus(SEED_CORPUS).documents
    return docs, chunk_documents(docs)


def test_offsets_point_into_the_cleaned_text():
    docs, chunks = seed_chunks()
    by_id = {d.doc_id: d for d in docs}
    for chunk in chunks:
        assert by_id[chunk.doc_id].text[chunk.start : chunk.end] == chunk.text


def test_sizes_are_bounded_per_language():
    _, chunks = seed_chunks()
    assert {c.lang for c in chunks} == {"zh", "en"}
    for chunk in chunks:
        assert len(chunk.text) <= LIMITS.max_chars(chunk.lang)


def test_chunks_end_on_sentence_boundaries_and_overlap():
    _, chunks = seed_chunks()
    english = [c for c in chunks if c.lang == "en"]
    assert len(english) >= 4
    for chunk in english:
        assert chunk.text.rstrip().endswith((".", "!", "?")), chunk.text[-40:]
    # consecutive chunks of one section share a sentence
    shared = sum(1 for a, b in zip(english, english[1:], strict=False)
                 if a.end > b.start and a.title == b.title)
    assert shared >= 3


def test_chinese_split_on_sentence_ends():
    text = "腰痛是常见症状。" * 30 + "需要及时就医！" * 20
    doc = Document("d", "page", "腰痛", "腰痛\n" + text, "zh",
                   (Section("腰痛", 0, len(text) + 3),))
    chunks = chunk_document(doc)
    assert len(chunks) > 1
    for chunk in chunks:
        assert len(chunk.text) <= LIMITS.zh_max
        assert chunk.text.endswith(("。", "！"))
        assert chunk.title == "腰痛" and chunk.lang == "zh"


def test_headings_and_titles_are_metadata_not_text():
    _, chunks = seed_chunks()
    followup = [c for c in chunks if c.heading == "随访的重要性"]
    assert followup and "对于已经确诊为脑膜瘤的患者" in followup[0].text
    assert all(not c.text.startswith("随访的重要性") for c in followup)
    bundled = [c for c in chunks if c.title == "肩周炎的最佳治疗方法"]
    assert bundled and "保守综合干预+科学康复锻炼" in bundled[0].text


def test_qa_entry_is_one_chunk_matched_by_question_and_answer():
    doc = Document("q1", "qa", "What is sciatica?", "Pain along the sciatic nerve. " * 50,
                   "en", (Section("What is sciatica?", 0, 1500),), question="What is sciatica?")
    chunks = chunk_document(doc)
    assert len(chunks) == 1
    texts = chunks[0].embedding_texts()
    assert texts[0] == "What is sciatica?" and texts[1].startswith("What is sciatica?\nPain")


def test_chunk_ids_are_stable_content_hashes():
    _, first = seed_chunks()
    _, second = seed_chunks()
    assert [c.chunk_id for c in first] == [c.chunk_id for c in second]
    assert len({c.chunk_id for c in first}) == len(first)
