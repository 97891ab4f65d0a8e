"""The visitor's words normalised before matching: English word forms and spellings
(Snowball and breame), Chinese lay abbreviations read as the corpus's words they shorten,
and Chinese matches only along word boundaries. Tables of cases; each mechanism holds for
any corpus (the corpus words come from the test itself)."""

from __future__ import annotations

import pytest

from bot.coverage import occurs, question_terms, translate
from bot.language import keyword_tokens, stem
from bot.lexicon import Lexicon


@pytest.mark.parametrize(("british_or_form", "plain"), [
    ("tumour", "tumor"), ("tumours", "tumor"), ("haemorrhage", "hemorrhage"),
    ("anaesthetic", "anesthetic"), ("paediatric", "pediatric"), ("oesophagus", "esophagus"),
    ("cancerous", "cancer"), ("treated", "treats"), ("herniated", "herniation"),
    ("paralysed", "paralyzed"), ("operations", "operation"),
])
def test_english_word_forms_and_british_spellings_share_one_stem(british_or_form, plain):
    assert stem(british_or_form) == stem(plain)


@pytest.mark.parametrize(("word", "other"), [("tumor", "cancer"), ("spine", "spinal cord")])
def test_different_words_keep_different_stems(word, other):
    assert stem(word) != stem(other)


@pytest.mark.parametrize(("asked", "text", "found"), [
    ("tumour", "spinal tumors are rare", True),      # British question, American page
    ("tumor", "a spinal tumour may press", True),    # American question, British page
    ("surgery", "after surgery, rest", True),        # Snowball's surgeri still finds surgery
    ("therapies", "physical therapy helps", True),
    ("cancerous", "cancer that spreads", True),
    ("sciatica", "sciatic nerve pain", True),        # a long word by its first six letters
    ("tumor", "tuberculosis of the spine", False),
])
def test_english_terms_match_the_page_whatever_the_spelling(asked, text, found):
    assert occurs(stem(asked), text) is found


def test_keyword_tokens_of_both_spellings_are_equal():
    assert keyword_tokens("Tumours of the spine") == keyword_tokens("tumors of the spine")


@pytest.mark.parametrize(("term", "text", "found"), [
    ("腰突", "腰突然直不起来", False),      # 腰 / 突然: no match across a word boundary
    ("腰突", "得了腰突要注意什么", True),
    ("腰椎", "腰椎间盘突出症", True),       # a compound's parts are words too
    ("突出", "腰椎间盘突出症", True),
    ("胀痛", "小腿酸胀疼痛", True),         # characters in order, one between
    ("骨松", "松骨头", False),
    ("头痛", "头痛欲裂", True),
])
def test_chinese_terms_match_along_word_boundaries(term, text, found):
    assert occurs(term, text) is found


def _lexicon(*zh_words: str) -> Lexicon:
    return Lexicon.for_corpus(set(zh_words), {"disk", "herniat", "osteoporosi"})


@pytest.mark.parametrize(("short", "corpus_words", "expected"), [
    ("腰突", ("腰椎间盘突出", "腰痛", "突然"), ["腰椎间盘突出"]),
    ("骨松", ("骨质疏松", "骨折"), ["骨质疏松"]),
    ("腰突", ("腰突", "腰椎间盘突出"), []),          # the corpus uses the short form itself
    ("腰突", ("突出腰椎",), []),                     # must start with the same character
    ("腰突", ("腰突出",), []),                       # at least two characters longer
])
def test_a_lay_abbreviation_reads_as_the_corpus_words_it_shortens(short, corpus_words,
                                                                  expected):
    assert _lexicon(*corpus_words).abbreviated(short) == expected


def test_an_abbreviation_is_matched_through_its_long_form_and_that_forms_translation():
    lexicon = Lexicon.for_corpus({"腰椎间盘突出"}, {"slip", "disk"},
                                 {"腰椎间盘突出": [("slip", "disk")]})
    [term] = [q for q in translate(question_terms("腰突怎么办"), lexicon) if q.term.key == "腰突"]
    assert ("腰椎间盘突出",) in term.translations
    assert ("slip", "disk") in term.translations


def test_a_common_word_is_never_read_as_an_abbreviation():
    lexicon = Lexicon.for_corpus({"突发性耳聋", "腰椎间盘突出"}, set(), {})
    terms = translate(question_terms("突然腰疼"), lexicon)
    assert all(t.translations == () for t in terms if t.term.key == "突然")


@pytest.fixture(scope="module")
def readings():
    from bot.lexicon import char_readings

    return char_readings()


@pytest.mark.parametrize(("typed", "meant"), [
    ("我的腰锥不好", "我的腰椎不好"),            # 锥 for 椎: zhui
    ("骨质疏送吃什么", "骨质疏松吃什么"),        # 送 for 松: song
    ("以经拍了片", "已经拍了片"),                # 以 for 已: yi
    ("腰椎不好", "腰椎不好"),                    # nothing to put right
    ("我在医院", "我在医院"),                    # real words are left alone
])
def test_pinyin_keyboard_slips_are_put_right_to_the_corpus_words_meant(readings, typed,
                                                                      meant):
    from bot.language import is_word

    lexicon = Lexicon.for_corpus({"腰椎", "骨质疏松", "已经", "医院", "在院"}, set(), {},
                                 readings)
    assert lexicon.correct(typed, is_word) == meant


def test_a_slip_that_could_mean_two_corpus_words_is_left_as_typed(readings):
    from bot.language import is_word

    lexicon = Lexicon.for_corpus({"腰椎", "腰锥"}, set(), {}, readings)  # both read yao zhui
    assert lexicon.sounds_like("腰追") == ["腰椎", "腰锥"]
    assert lexicon.correct("腰追疼", is_word) == "腰追疼"
