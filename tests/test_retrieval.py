"""Retrieval on the seed corpus with the real model: same-language and cross-lingual."""

from __future__ import annotations

import pytest

ZH_MENINGIOMA = "000_9b65f6902225c386"
ZH_DISC = "001_97c5ca15f4c0d3eb"
ZH_SURGERY = "002_11c99a0e30aa1c9d"
EN_TUMOURS = "003_76d4942036accc7e"


@pytest.mark.parametrize("question, doc_id, needle", [
    ("腰椎间盘突出压迫神经会有哪些症状", ZH_DISC, "疼痛多为单侧"),
    ("脑膜瘤确诊后怎样随访", ZH_MENINGIOMA, "随访"),
    ("How are low back tumors diagnosed?", EN_TUMOURS, "MRI and CT"),
])
def test_same_language_question_finds_its_passage(seed_bot, question, doc_id, needle):
    hits = seed_bot.retriever.search(question, k=5)
    assert hits[0].chunk.doc_id == doc_id
    assert any(needle in h.chunk.text for h in hits)


def other_language(hits, lang):
    return [h for h in hits if h.chunk.lang == lang]


def test_english_question_finds_chinese_only_content(seed_bot):
    # Keywords only match English text; the per-language dense candidates bring the
    # Chinese passages, and the best of them comes from the meningioma page.
    hits = seed_bot.retriever.search("How is a meningioma diagnosed?", k=3, per_language=3)
    chinese = other_language(hits, "zh")
    assert chinese and chinese[0].chunk.doc_id == ZH_MENINGIOMA
    assert any("影像学检查" in h.chunk.text for h in chinese)


def test_chinese_question_finds_english_only_content(seed_bot):
    hits = seed_bot.retriever.search("腰部肿瘤的治疗需要哪些专科医生参与？", k=3, per_language=3)
    english = other_language(hits, "en")
    assert english and all(h.chunk.doc_id == EN_TUMOURS for h in english)
    assert any("oncologists" in h.chunk.text for h in english)


def test_unit_similarities_point_into_chunks(seed_bot):
    from bot.chunking import quote_units

    retriever = seed_bot.retriever
    vector = retriever.embed_query("Which specialists care for spinal tumour patients?")
    chunks = retriever.index.chunks
    best = max(((p, u, s) for p in range(len(chunks))
                for u, s in retriever.unit_similarities(p, vector).items()), key=lambda x: x[2])
    units = quote_units(chunks[best[0]])
    assert len(retriever.unit_similarities(best[0], vector)) == len(units)
    a, b = units[best[1]]
    assert chunks[best[0]].doc_id == EN_TUMOURS and 0 <= a < b <= len(chunks[best[0]].text)
    assert "oncologists" in chunks[best[0]].text[a:b]


def test_translated_keywords_match_the_other_language(seed_bot):
    # "chemotherapy" is only in the English page; its Chinese, 化疗, lets BM25 find it.
    plain = seed_bot.retriever.search("化疗", k=3, mode="keyword")
    crossed = seed_bot.retriever.search("化疗", k=3, mode="keyword", translated="chemotherapy")
    assert not other_language(plain, "en")
    assert crossed and crossed[0].chunk.doc_id == EN_TUMOURS
    assert "chemotherapy" in crossed[0].chunk.text


def test_modes_are_all_real_rankings(seed_bot):
    question = "腰椎手术后腰酸的原因"
    for mode in ("dense", "keyword", "rrf", "hybrid"):
        hits = seed_bot.retriever.search(question, k=5, mode=mode)
        assert hits and hits[0].chunk.doc_id == ZH_SURGERY, mode
        scores = [h.score for h in hits]
        assert scores == sorted(scores, reverse=True)


def test_search_api_returns_ranked_passages_without_threshold(seed_bot):
    passages = seed_bot.search("How do I make braised pork?", k=4)
    assert len(passages) == 4  # no threshold: even an off-topic query gets its nearest chunks
    assert all(p.text and p.doc_id for p in passages)
    ranked = seed_bot.search("腰椎间盘突出需要做哪些检查", k=5)
    hits = seed_bot.retriever.search("腰椎间盘突出需要做哪些检查", k=5)
    assert [p.text for p in ranked] == [h.chunk.text.strip() for h in hits]  # fused order
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert any("直腿抬高试验" in p.text for p in ranked)  # the diagnosis paragraph is retrieved


def test_keyword_tokens_cover_both_languages():
    from bot.language import keyword_tokens

    tokens = keyword_tokens("腰椎间盘突出")
    assert "腰椎" in tokens and "突出" in tokens and "盘突" in tokens  # words + bigrams
    assert keyword_tokens("Spinal tumors are treated") == ["spinal", "tumor", "treat"]
    assert keyword_tokens("？？！") == []


def test_the_candidate_pool_is_a_policy_over_scores():
    """bot.retrieval.pool_candidates: the top by fused score, then each language's best by
    cosine, the chunks asked for, the rest of the first articles; each once, capped."""
    import numpy as np

    from bot.retrieval import pool_candidates

    fused = np.array([0.9, 0.1, 0.8, -np.inf, 0.2, 0.3])
    dense = np.array([0.5, 0.9, 0.4, 0.7, 0.1, 0.2])
    chinese = np.array([True, True, True, False, False, False])
    masks = (chinese, ~chinese)
    section_of = [0, 0, 1, 2, 2, 3]
    members = [[0, 1], [2], [3, 4], [5]]
    assert pool_candidates(fused, dense, masks, section_of, members, k=2) == [0, 2]
    assert pool_candidates(fused, dense, masks, section_of, members, k=2,
                           per_language=1) == [0, 2, 1, 3]
    assert pool_candidates(fused, None, masks, section_of, members, k=2,
                           per_language=1, include=[5]) == [0, 2, 5]
    # the first article's other chunk, and the best other-language article's
    assert pool_candidates(fused, dense, masks, section_of, members, k=2, per_language=1,
                           sections=1) == [0, 2, 1, 3, 4]
    assert pool_candidates(fused, dense, masks, section_of, members, k=2, per_language=1,
                           sections=1, limit=3) == [0, 2, 1]
