"""The answer path's parts as specifications: the bilingual lexicon, term coverage, quote
trimming, and the confidence model."""

from __future__ import annotations

import pytest

from bot import answer
from bot.coverage import QueryTerm, Term, covered, question_terms, translate
from bot.language import has_cjk, stem, zipf
from bot.lexicon import Lexicon, dictionary_words_in, parse_cedict, sense_words
from bot.models import Chunk

CEDICT_SAMPLE = """\
# a few real CC-CEDICT lines
化療 化疗 [hua4 liao2] /chemotherapy/
腰 腰 [yao1] /waist/lower back/pocket/middle/loins/
腫瘤 肿瘤 [zhong3 liu2] /tumor/
瘤 瘤 [liu2] /tumor/
腦膜 脑膜 [nao3 mo2] /meninges/
腰椎 腰椎 [yao1 zhui1] /lumbar vertebra/
張 张 [Zhang1] /surname Zhang/
預防 预防 [yu4 fang2] /to prevent/to take precautions against/to protect/
黨參 党参 [dang3 shen1] /codonopsis root/
高血壓 高血压 [gao1 xue4 ya1] /high blood pressure/
肩周炎 肩周炎 [jian1 zhou1 yan2] /adhesive capsulitis (frozen shoulder)/
坐骨神經痛 坐骨神经痛 [zuo4 gu3 shen2 jing1 tong4] /sciatica (medicine)/
"""


@pytest.fixture
def lexicon() -> Lexicon:
    dictionary = parse_cedict(CEDICT_SAMPLE)
    return Lexicon.for_corpus({"化疗", "腰", "脑膜", "肿瘤", "预防"},
                              {"chemotherapi", "chemotherapy", "tumor", "lumbar", "back",
                               "lower", "prevent", "root", "blood", "pressure"}, dictionary)


def test_sense_words_drop_notes_and_function_words():
    assert sense_words("to lift (sth heavy)") == ("lift",)
    assert sense_words("lower back") == ("lower", "back")


def test_parse_keeps_first_senses_and_skips_surnames():
    dictionary = parse_cedict(CEDICT_SAMPLE)
    # A name in parentheses is another sense; a field label is not.
    assert ("frozen", "shoulder") in dictionary["肩周炎"]
    assert dictionary["坐骨神经痛"] == [("sciatica",)]
    assert dictionary["腰"] == [("waist",), ("lower", "back"), ("pocket",)]
    assert "张" not in dictionary


def test_chinese_to_english_lands_on_corpus_words(lexicon):
    assert (stem("chemotherapy"),) in lexicon.to_english("化疗")
    assert ("lumbar",) in lexicon.to_english("腰椎")  # half of "lumbar vertebra" is enough
    assert lexicon.to_english("哮喘") == []  # not in the dictionary sample


def test_part_of_a_sense_is_used_only_without_its_specific_word(lexicon):
    # "codonopsis root" without codonopsis is any root (nerve roots); "high blood pressure"
    # without "high" still means blood pressure.
    assert lexicon.to_english("党参") == []
    assert lexicon.to_english("高血压") == [(stem("blood"), stem("pressure"))]


def test_a_compound_translates_only_as_a_whole(lexicon):
    # 脑膜瘤 = 脑膜 (meninges) + 瘤 (tumor): a text about tumours is not about meningiomas.
    assert lexicon.senses_of("脑膜瘤") == [("mening", "tumor")]  # stems
    assert lexicon.to_english("脑膜瘤") == []


def test_english_to_chinese_uses_whole_senses_and_word_families(lexicon):
    assert lexicon.to_chinese("chemotherapy") == {"化疗"}
    assert "腰" in lexicon.to_chinese("back", frozenset({"lower"}))
    assert "脑膜" in lexicon.to_chinese("meningioma")  # shares "mening" with "meninges"
    assert lexicon.to_chinese("asthma") == set()


def test_dictionary_words_are_found_however_jieba_cuts_the_text():
    dictionary = parse_cedict(CEDICT_SAMPLE)
    assert dictionary_words_in("化疗后腰椎肿瘤缩小", dictionary) == {"化疗", "腰椎", "肿瘤"}


def test_lexicon_round_trips_through_its_file(lexicon, tmp_path):
    lexicon.save(tmp_path / "lexicon.json")
    loaded = Lexicon.load(tmp_path / "lexicon.json")
    assert loaded.entries == lexicon.entries and loaded.to_chinese("tumor") == {"肿瘤"}


def test_question_terms_weigh_rare_words_and_keep_intents_light():
    terms = {t.key: t for t in question_terms("脑膜瘤怎么治疗")}
    assert terms["脑膜瘤"].weight == 1.0 and not terms["脑膜瘤"].intent
    assert terms["治疗"].intent and terms["治疗"].weight < 0.5
    english = {t.key: t for t in question_terms("What causes a lumbar disc herniation?")}
    assert "lumbar disc" in english and english["lumbar disc"].weight == 0.0


def test_coverage_counts_a_term_or_its_translation(lexicon):
    terms = translate([Term("化疗", "化疗"), Term("副作用", "副作用")], lexicon)
    text = "radiation therapy and chemotherapy are also employed"
    assert list(covered(terms, text)) == [True, False]
    # Chinese: verbatim, or the characters in order with at most one between.
    assert list(covered([QueryTerm(Term("胀痛", "胀痛"))], "腓肠肌酸胀疼痛")) == [True]


def test_a_multi_word_translation_counts_only_as_a_phrase(lexicon):
    terms = translate([Term("高血压", "高血压")], lexicon)
    assert list(covered(terms, "blood tests and pressure on nerve roots")) == [False]
    assert list(covered(terms, "people with high blood pressure")) == [True]


def test_question_terms_are_dictionary_words_not_guessed_ones():
    # jieba's HMM would glue 炎 and 要 into 炎要, a word no text contains.
    keys = {t.key for t in question_terms("软骨终板炎要怎么治")}
    assert {"软骨", "终板", "炎"} <= keys and "炎要" not in keys


def chunk(text: str, kind: str = "page") -> Chunk:
    return Chunk("c", "d", kind, "t", "", "zh", text, 0, len(text))


def test_quote_starts_at_the_best_sentence_and_keeps_only_relevant_neighbours():
    text = "第一句讲别的事情，和问题无关。第二句回答了问题。第三句补充回答。第四句又无关了。"
    units = [(0, 15), (15, 24), (24, 32), (32, 41)]
    start, end = answer.quote_span(chunk(text), units, [0.1, 0.9, 0.7, 0.1], min_chars=5)
    assert text[start:end] == "第二句回答了问题。第三句补充回答。"


def test_a_short_quote_grows_to_a_readable_length_within_the_limit():
    text = "标题。" + "正文句子很长很长。" * 3
    units = [(0, 3), (3, 12), (12, 21), (21, 30)]
    start, end = answer.quote_span(chunk(text), units, [0.9, 0.1, 0.1, 0.1], min_chars=20)
    assert start == 0 and end - start >= 20
    start, end = answer.quote_span(chunk(text), units, [0.9, 0.1, 0.1, 0.1], min_chars=20,
                                   limit=12)
    assert end - start <= 12


def test_a_qa_answer_is_quoted_from_its_opening():
    text = "答案第一句。第二句。"
    start, _ = answer.quote_span(chunk(text, "qa"), [(0, 6), (6, 10)], [0.1, 0.9])
    assert start == 0


def test_query_time_constants_never_make_an_index_stale(make_settings, embedder):
    """An index records what its build depends on (corpus, model, pipeline), not the
    answer path's constants (bot.confidence.SCORING), which are read at query time only."""
    from bot.index import build_index, is_stale, read_manifest

    settings = make_settings()
    (settings.corpus_dir / "faq.jsonl").write_text(
        '{"question": "腰痛怎么办？", "answer": "急性腰痛应适度活动。"}\n', "utf-8")
    build_index(settings.corpus_dir, settings.index_dir, embedder)
    assert read_manifest(settings.index_dir).scoring == ""  # no fingerprint of them
    assert not is_stale(settings.index_dir, settings.corpus_dir, embedder.model_id, "flat")


def test_the_small_frequency_lists_give_the_large_lists_answers(seed_bot):
    """Every rule reading word frequencies treats words below Zipf 3 alike, and the small
    lists hold every word above it: the same weights and decisions, at a quarter of the
    memory."""
    from wordfreq import zipf_frequency

    from bot.coverage import passage_terms, rarity_weight
    from bot.lexicon import EVERYDAY_ZIPF, SPECIFIC_ZIPF

    words = set()
    for chunk in seed_bot.retriever.index.chunks:
        words |= passage_terms(chunk.text)
    words |= {w for senses in seed_bot.retriever.index.lexicon.entries.values()
              for sense in senses for w in sense}
    assert len(words) > 1000
    for word in words:
        lang = "zh" if has_cjk(word) else "en"
        large = zipf_frequency(word, lang)
        assert rarity_weight(word, lang) == float(min(1.0, max(0.3, 1.0 - 0.28 * (
            large - 3.0)))), word
        if lang == "en":
            small = zipf(word, "en")
            assert (small < SPECIFIC_ZIPF) == (large < SPECIFIC_ZIPF), word
            assert (small >= EVERYDAY_ZIPF) == (large >= EVERYDAY_ZIPF), word
