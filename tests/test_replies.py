"""Replies: answers quote verbatim, fallbacks quote nothing, red flags escalate, small talk,
language of the reply and disclaimer, follow-ups, and bad input."""

from __future__ import annotations

import re

import pytest

from bot.answer import FALLBACK
from bot.errors import InputError
from bot.language import detect_lang
from bot.safety import DISCLAIMER, GENERAL_DISCLAIMER, red_flags
from bot.smalltalk import intent_of as smalltalk_intent

QUOTES_CLAIM = {"zh": "摘自所列资料来源", "en": "These quotes come from the listed sources"}


def corpus_text(bot) -> str:
    return "\n".join(c.text for c in bot.retriever.index.chunks)


def test_answer_quotes_verbatim_with_source(seed_bot):
    reply = seed_bot.ask("腰脱需要做哪些检查")
    assert reply.kind == "answer" and reply.lang == "zh"
    assert reply.passages and "直腿抬高试验" in reply.passages[0].text
    text = corpus_text(seed_bot)
    for passage in reply.passages:
        assert passage.text in text  # verbatim from the source
        assert len(passage.text) <= 400
        assert passage.title and passage.doc_id
    assert reply.disclaimer == DISCLAIMER["zh"] and reply.disclaimer in reply.text
    assert reply.passages[0].text in reply.text


@pytest.mark.xfail(strict=True, reason="known limit (issue 19, docs/benchmarks.md): the "
                   "learned ranker puts the causes paragraph before the one that says why "
                   "these tumours are missed")
def test_long_chunks_are_trimmed_to_the_relevant_sentences(seed_bot):
    reply = seed_bot.ask("Why are low back tumors often missed?")
    assert reply.kind == "answer" and reply.lang == "en"
    first = reply.passages[0].text
    assert "mistaken for more common musculoskeletal issues" in first
    assert len(first) <= 400 and first in corpus_text(seed_bot)


def test_cross_lingual_answer_is_in_the_visitors_language(seed_bot):
    reply = seed_bot.ask("How is a meningioma diagnosed?")
    assert reply.kind == "answer" and reply.lang == "en"
    assert reply.passages[0].doc_id == "000_9b65f6902225c386"  # Chinese-only content
    assert "影像学检查" in reply.passages[0].text
    assert reply.disclaimer == DISCLAIMER["en"]
    assert "some sources are in Chinese" in reply.text


@pytest.mark.parametrize("question, lang", [
    ("What's the best laptop for programming?", "en"),
    ("怎么做红烧肉", "zh"),
    ("How is asthma treated in toddlers?", "en"),
    ("高血压能吃党参吗", "zh"),
])
def test_out_of_corpus_questions_fall_back(seed_bot, question, lang):
    reply = seed_bot.ask(question)
    assert reply.kind == "fallback" and reply.lang == lang
    assert reply.passages == []
    assert ("医生" in reply.text) if lang == "zh" else ("doctor" in reply.text)
    # nothing is quoted, so nothing claims to be
    assert reply.disclaimer == GENERAL_DISCLAIMER[lang] and reply.disclaimer in reply.text
    assert QUOTES_CLAIM[lang] not in reply.text
    # topics the bot can answer, in the visitor's language only
    assert all(detect_lang(s) == lang for s in reply.suggestions)
    if lang == "zh":
        assert reply.suggestions


@pytest.mark.parametrize("message, lang", [
    ("腰痛，会阴部发麻，小便解不出来", "zh"),
    ("Sudden severe back pain after a car accident and my legs feel weak", "en"),
    ("腰疼了两个月，最近老是夜里盗汗、没胃口、体重掉得厉害", "zh"),
    ("I have back pain and I've lost control of my bladder", "en"),
    ("刚做完腰椎手术一周，腰疼得厉害还发烧寒战", "zh"),
    ("I had breast cancer a few years ago and now I have new back pain that keeps me up at "
     "night", "en"),
])
def test_red_flags_escalate_first(seed_bot, message, lang):
    reply = seed_bot.ask(message)
    assert reply.kind == "urgent" and reply.lang == lang
    first_line = reply.text.splitlines()[0]
    assert first_line == reply.alert and first_line.startswith("⚠")
    assert reply.urgency in ("now", "prompt") and reply.red_flags
    assert all(flag.name in reply.alert for flag in reply.red_flags)
    if reply.urgency == "now":
        assert ("立即就医" in first_line) if lang == "zh" else ("seek medical care now" in first_line)
    else:
        assert ("一两天内" in first_line) if lang == "zh" else ("within a day or two" in first_line)
    # never "our sources don't answer" under an alert, no quotes claimed that are not there
    assert FALLBACK[lang] not in reply.text
    assert reply.disclaimer == (DISCLAIMER if reply.passages else GENERAL_DISCLAIMER)[lang]
    assert reply.suggestions == []
    assert reply.why.startswith("red flag:")


def test_an_alert_alone_tells_what_to_do_and_claims_no_quotes(seed_bot):
    reply = seed_bot.ask("my back has hurt for days and now I can barely pee")
    assert reply.kind == "urgent" and reply.urgency == "now"
    assert reply.red_flags[0].rule == "urinary_retention"
    assert reply.red_flags[0].words in "my back has hurt for days and now I can barely pee"
    if not reply.passages:
        assert reply.text.split("\n\n") == [reply.alert, reply.message, GENERAL_DISCLAIMER["en"]]
        assert "Sorry" not in reply.text and QUOTES_CLAIM["en"] not in reply.text


def test_an_alert_keeps_the_quotes_when_the_sources_answer_too(seed_bot):
    reply = seed_bot.ask("腰椎间盘突出有什么典型症状？我腰疼，这两天小便解不出来")
    assert reply.kind == "urgent" and reply.alert and reply.text.startswith(reply.alert)
    assert reply.passages, reply.why
    assert reply.disclaimer == DISCLAIMER["zh"] and reply.passages[0].text in reply.text


def test_a_question_about_red_flags_is_answered_without_an_alarm(seed_bot):
    reply = seed_bot.ask("Does pain from a spinal tumour get worse at night?")
    assert reply.kind != "urgent" and reply.alert is None and reply.red_flags == []


def test_red_flag_rules_do_not_fire_on_ordinary_questions():
    for message in ("腰椎间盘突出有什么典型症状", "Can a disc herniation cause leg pain?",
                    "腰椎手术后一直躺着不锻炼会怎样", "When is surgery needed?"):
        assert red_flags(message) == [], message


@pytest.mark.parametrize("message, lang", [("你好", "zh"), ("Hello!", "en"), ("谢谢", "zh"),
                                           ("thank you very much", "en")])
def test_smalltalk(seed_bot, message, lang):
    reply = seed_bot.ask(message)
    assert reply.kind == "smalltalk" and reply.lang == lang and reply.passages == []
    assert QUOTES_CLAIM[lang] not in reply.text and reply.disclaimer == GENERAL_DISCLAIMER[lang]
    assert all(detect_lang(s) == lang for s in reply.suggestions)


def test_greeting_with_a_question_is_answered(seed_bot):
    assert smalltalk_intent("你好，脑膜瘤有哪些症状") is None
    reply = seed_bot.ask("你好，脑膜瘤有哪些症状")
    assert reply.kind == "answer" and reply.lang == "zh"
    assert "头痛、癫痫发作、视力障碍" in reply.passages[0].text


def test_follow_up_keeps_the_context(seed_bot):
    first = seed_bot.ask("腰椎微创手术以后为什么会腰酸")
    follow = seed_bot.ask("那怎么缓解呢", session_id=first.session_id)
    assert follow.session_id == first.session_id and follow.kind == "answer"
    assert follow.passages[0].doc_id == first.passages[0].doc_id == "002_11c99a0e30aa1c9d"
    english = seed_bot.ask("What are the signs of a tumor in the lower back?")
    treated = seed_bot.ask("And how is it treated?", session_id=english.session_id)
    assert treated.kind == "answer" and treated.lang == "en"
    assert treated.passages[0].doc_id == "003_76d4942036accc7e"


def test_sessions_are_separate(seed_bot):
    first = seed_bot.ask("腰椎微创手术后腰酸是怎么回事")
    other = seed_bot.ask("你好")
    alone = seed_bot.ask("要怎么缓解", session_id=other.session_id)
    assert alone.session_id == other.session_id != first.session_id
    assert [t.question for t in seed_bot.sessions.recent(other.session_id)] == ["你好",
                                                                                "要怎么缓解"]


def test_session_ids_are_issued_by_the_bot_and_owned_by_their_channel(seed_bot):
    web = seed_bot.ask("腰椎微创手术后腰酸是怎么回事", channel="web")
    assert re.fullmatch(r"web:[0-9a-f]{32}\.[0-9a-f]{20}", web.session_id)
    wechat = seed_bot.session_for("wechat-mp", "clinic:oUser1")
    assert wechat == seed_bot.session_for("wechat-mp", "clinic:oUser1")  # stable per user
    seed_bot.ask("腰椎微创手术后腰酸是怎么回事", wechat, channel="wechat-mp")
    body, _, mac = web.session_id.rpartition(".")
    tampered = f"{body}.{'0' * len(mac)}"
    for foreign, channel in ((wechat, "web"), ("wechat-mp:clinic:oUser1", "web"),
                             (web.session_id, "wechat-mp"), (tampered, "web"),
                             ("web:made-up-by-a-client", "web")):
        reply = seed_bot.ask("要怎么缓解", foreign, channel=channel)
        assert reply.session_id != foreign and reply.session_id.startswith(channel + ":")
        # A new conversation: the other one's context was neither read nor written.
        assert [t.question for t in seed_bot.sessions.recent(reply.session_id)] == ["要怎么缓解"]
    for own in (web.session_id, wechat):
        assert len(seed_bot.sessions.recent(own)) == 1
    assert seed_bot.ask("要怎么缓解", web.session_id, channel="web").session_id == web.session_id


def test_lone_surrogates_are_refused_before_any_work(seed_bot):
    with pytest.raises(InputError, match="Unicode"):
        seed_bot.ask("back pain \ud800 help")


@pytest.mark.parametrize("message", ["", "   ", "\x00\x01", "腰" * 1001, 42, None])
def test_bad_messages_are_refused_clearly(seed_bot, message):
    with pytest.raises(InputError):
        seed_bot.ask(message)


def test_bad_session_id_is_refused(seed_bot):
    with pytest.raises(InputError, match="session_id"):
        seed_bot.ask("腰痛", session_id="../../etc/passwd")


def test_hostile_text_is_just_text(seed_bot):
    reply = seed_bot.ask("<img src=x onerror=alert(1)> '; DROP TABLE logs; --")
    assert reply.kind == "fallback" and reply.passages == []
    assert "<img" not in reply.text


@pytest.mark.xfail(strict=True, reason="known limit (issue 19, docs/benchmarks.md): the "
                   "diagnosis paragraph comes before the one telling the two apart")
def test_quotes_are_ordered_by_relevance_within_an_article(seed_bot):
    # Both quotes come from the meningioma article; the one telling the two apart first.
    reply = seed_bot.ask("怎么判断腰痛跟脑膜瘤有没有关系")
    assert reply.kind == "answer"
    assert "结合病史、症状分析和专业医学检查" in reply.passages[0].text
    scores = [p.score for p in reply.passages]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.xfail(strict=True, reason="known limit (issue 19, docs/benchmarks.md): the "
                   "decision declines this short textbook question (0.24), though its first "
                   "candidate answers")
def test_a_further_quote_may_answer_in_other_words(seed_bot):
    # "检查" is not in the diagnosis paragraph (直腿抬高试验, MRI, CT), but it is the sentence
    # closest to the question: quoted, not dropped for adding no new question words.
    reply = seed_bot.ask("腰椎间盘突出需要做哪些检查")
    assert reply.kind == "answer"
    assert any("直腿抬高试验" in p.text for p in reply.passages)


@pytest.mark.parametrize("question, lang, needle", [
    ("How should I lift heavy things to protect my lower back?", "en", "屈膝屈髋"),
    ("Can a meningioma be prevented?", "en", "无法明确预防"),
    pytest.param("腰椎肿瘤怎么治疗", "zh", "Surgical removal", marks=pytest.mark.xfail(
        strict=True, reason="known limit (issue 19, docs/benchmarks.md): the decision "
        "declines this cross-language question (0.39), though its first candidate answers")),
])
def test_cross_language_questions_are_answered_in_the_visitors_language(seed_bot, question,
                                                                        lang, needle):
    reply = seed_bot.ask(question)
    assert reply.kind == "answer" and reply.lang == lang
    assert needle in reply.passages[0].text
    assert reply.disclaimer == DISCLAIMER[lang]


@pytest.mark.parametrize("question", ["乳腺癌化疗有哪些副作用", "What is the survival rate for "
                                      "glioblastoma?", "腰椎穿刺后要平躺多久"])
def test_near_domain_questions_fall_back(seed_bot, question):
    reply = seed_bot.ask(question)
    assert reply.kind == "fallback" and reply.passages == []


def test_explain_shows_candidates_signals_threshold_and_path(seed_bot):
    explained = seed_bot.explain("软骨终板炎要怎么治")
    assert explained.path == "answer" and explained.lang == "zh"
    assert explained.threshold == seed_bot.threshold
    first = explained.candidates[0]
    assert first.quoted and first.confidence >= explained.threshold
    assert set(first.signals) >= {"section_coverage", "passage_coverage", "missing", "dense"}
    assert "保守干预为核心" in first.quote
    confidences = [c.confidence for c in explained.candidates]
    assert confidences == sorted(confidences, reverse=True)
    assert {"软骨", "终板"} <= {t.term for t in explained.terms}
    assert "path: answer" in explained.as_text()
    fallback = seed_bot.explain("怎么做红烧肉")
    assert fallback.path == "fallback" and not any(c.quoted for c in fallback.candidates)
    assert "<" in fallback.why
    urgent = seed_bot.explain("腰痛，这几天两条腿越来越没劲，走路像踩棉花")
    assert urgent.path == "urgent"
    assert "progressive_weakness" in {f.rule for f in urgent.red_flags}
    flag = next(f for f in urgent.red_flags if f.rule == "progressive_weakness")
    assert flag.level == "now" and flag.by in ("lexicon", "head") and "没劲" in flag.sign
    assert "progressive_weakness [now, by" in urgent.as_text() and "没劲" in urgent.as_text()


def test_explain_reads_a_conversation_without_adding_to_it(seed_bot):
    reply = seed_bot.ask("腰椎间盘突出有什么典型症状")
    before = seed_bot.sessions.recent(reply.session_id)
    explained = seed_bot.explain("那要怎么治疗", session_id=reply.session_id)
    assert len(before) == 1 and seed_bot.sessions.recent(reply.session_id) == before
    assert "腰椎间盘突出" in explained.searched  # read as a follow-up of the question before
