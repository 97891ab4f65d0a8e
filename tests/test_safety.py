"""Red flags as a specification: every rule of the taxonomy fires on a report of its sign
in each language (and mixed), with its level and the words that fired it; a denied sign, a
sign long gone and a general question about a sign do not escalate.

None of these messages is in the labelled sets (bench/data/triage/, bench/data/red_flags.jsonl)
or the shared dev set.
"""

from __future__ import annotations

import pytest

from bot.redflags import RULES, Level, red_flags, triage
from bot.redflags.rules import RULE_SIGNS
from bot.redflags.signs import asks_about, find_signs
from bot.safety import URGENT, urgent_message

# rule: (Chinese report, English report)
SPEC: dict[str, tuple[str, str]] = {
    "urinary_retention": ("腰疼了三天，从昨晚到现在小便一直出不来，肚子胀",
                          "my back has hurt for days and now I can barely pee, just a trickle"),
    "incontinence": ("腰痛好几天了，今天在超市尿裤子了，自己都没察觉",
                     "back's been killing me and this morning I wet myself without noticing"),
    "bladder_sensation": ("腰椎间盘突出，这两天感觉不到想小便，憋满了也不知道",
                          "since the back pain started I can't feel when I need to pee anymore"),
    "saddle_numbness": ("腰突犯了，肛门周围麻麻的，坐着像没感觉",
                        "lower back pain and my groin and inner thighs have gone numb"),
    "sexual_dysfunction": ("腰疼一周了，同房的时候下面完全没感觉",
                           "since my back went I can't get an erection at all, that's new"),
    "progressive_weakness": ("腰疼，左腿这两天越来越没劲，上楼抬不起来",
                             "back pain and my left leg is getting weaker by the day"),
    "foot_drop": ("腰椎间盘突出，现在右脚脚尖翘不起来，走路拖着脚",
                  "sciatica for a month and now my foot slaps the ground, the toes won't lift"),
    "both_legs": ("腰疼得厉害，两条腿从大腿往下都麻了",
                  "my lower back is bad and both my legs are numb and tingling"),
    "fever_after_procedure": ("腰椎手术后第五天，今天发烧38度5还打寒颤",
                              "had back surgery last week and now I've got a fever and chills"),
    "wound_infection": ("腰椎手术一周，刀口红肿还往外渗黄水",
                        "my back surgery incision is red, swollen and oozing pus"),
    "fever_back_pain": ("腰背疼了三天，今天开始发烧", "middle back pain for 3 days and now a fever"),
    "infection_risk": ("长期吃激素，最近一周腰开始疼",
                       "I'm on long term steroids and my back started hurting this week"),
    "cancer_history": ("以前得过肺癌，最近腰疼越来越厉害",
                       "had breast cancer in 2019 and now new back pain that's getting worse"),
    "weight_loss": ("腰疼两个月，没减肥体重掉了十斤",
                    "back aches and I've lost 6 kg without trying"),
    "night_pain_systemic": ("腰疼半夜总疼醒，还老出冷汗、没胃口",
                            "the back pain wakes me every night and I'm drenched in sweats, no appetite"),
    "major_trauma": ("从梯子上摔下来以后腰一直疼", "I fell off a ladder onto my back yesterday"),
    "fragility_fracture": ("我妈骨质疏松，咳嗽了一下腰就剧痛",
                           "my mum has osteoporosis and her back went suddenly when she coughed"),
    "vascular": ("后背突然撕裂一样地疼，人快晕过去", "sudden tearing pain in my back and I nearly fainted"),
    "anticoagulant_bleed": ("在吃华法林，今天腰突然剧痛",
                            "I'm on Eliquis and tonight I have sudden severe back pain"),
    "chest_or_breathing": ("腰背痛，胸口闷得慌，喘不上气", "back pain and now chest pain and short of breath"),
    "thunderclap_headache": ("我有脑膜瘤，刚才头突然像炸开一样疼",
                             "I have a meningioma and just got the worst headache of my life"),
    "seizure": ("我爸有脑膜瘤，刚才突然抽搐，口吐白沫", "my husband with a meningioma just had a seizure"),
    "vision_loss": ("脑膜瘤病人，今天右眼突然看不见了", "my meningioma patient mum suddenly lost vision in one eye"),
    "one_sided_weakness": ("我妈突然嘴歪了，右手拿不住筷子",
                           "dad's face is drooping on one side since this afternoon"),
    "speech_trouble": ("我爸今天说话突然含糊不清", "my wife's speech is slurred since an hour ago"),
    "confusion": ("我外婆今天突然不认识人了，胡言乱语", "my dad is suddenly confused and doesn't recognise us"),
}


def test_the_specification_covers_every_rule():
    assert set(SPEC) == set(RULES) == set(RULE_SIGNS)


@pytest.mark.parametrize("rule, message, lang", [
    (rule, pair[i], lang) for rule, pair in SPEC.items() for i, lang in enumerate(("zh", "en"))])
def test_each_sign_escalates_in_each_language(rule, message, lang):
    flags = red_flags(message)
    assert rule in [f.rule for f in flags], (message, flags)
    flag = next(f for f in flags if f.rule == rule)
    assert flag.level is RULES[rule].level
    assert flag.sign and all(part.strip(" …") and part.strip(" …").lower() in message.lower()
                             for part in flag.sign.replace("…", "+").split("+"))
    assert flag.name == RULES[rule].label


@pytest.mark.parametrize("message", [
    "back pain and i cant urinat since this mornig",  # misspelt
    "bck pain and numbnes in my groin",
    "腰痛 and I wet myself",  # mixed languages
    "腰疼 and 两条腿 getting weaker every day",
    "以经腰疼一周了，今天小变解不出来",  # a phone's typos, the sign still told
])
def test_misspelt_and_mixed_messages_still_escalate(message):
    assert red_flags(message), message


@pytest.mark.parametrize("message", [
    "腰疼好几天了，没发烧，大小便都正常，腿也有劲",
    "back has been sore for a week, no fever, peeing fine, no numbness down there",
    "腰椎手术一周了，刀口干干净净，也不红不肿，没有发烧",
    "I'm on warfarin for years and my back ache is the same as always, nothing sudden",
    "体重没掉，吃饭也香，就是腰酸",
])
def test_denied_signs_do_not_escalate(message):
    assert red_flags(message) == [], message


@pytest.mark.parametrize("message", [
    "I fell off my bike about ten years ago and it healed fine, can I do deadlifts?",
    "去年发过一次高烧，早就好了，现在腰有点酸正常吗",
    "woke up with my hand numb from sleeping on it, it went away after a minute",
])
def test_signs_long_gone_do_not_escalate(message):
    assert red_flags(message) == [], message


@pytest.mark.parametrize("message", [
    "什么情况下腰痛需要马上去医院？",
    "腰突会导致大小便失禁吗",
    "Does pain from a spinal tumour get worse at night?",
    "Can a slipped disc cause incontinence?",
    "what are the warning signs that back pain is an emergency?",
    "脑膜瘤会引起癫痫吗",
])
def test_questions_about_red_flags_are_answered_not_alarmed(message):
    assert asks_about(message) or not find_signs(message)
    assert red_flags(message) == [], message


@pytest.mark.parametrize("message", [
    "腰椎间盘突出有什么典型症状", "Can a disc herniation cause leg pain?",
    "腰椎手术后一直躺着不锻炼会怎样", "When is surgery needed?",
    "乳腺癌化疗有哪些副作用",  # cancer, but no back pain of one's own
    "I have a fever and chills",  # systemic, but not the spine
    "屁股疼，腿麻",  # sciatica: the numbness is in the leg, not the saddle
    "I fell asleep on the sofa and my back hurts",
    "How is a meningioma diagnosed?",
])
def test_ordinary_questions_do_not_escalate(message):
    assert red_flags(message) == [], message


def test_the_back_rules_need_the_back_in_the_message():
    assert "urine_retention" in find_signs("I can't pee")
    assert [f.rule for f in red_flags("I can't pee")] == []


def test_chest_pain_escalates_without_the_back():
    assert [f.rule for f in red_flags("suddenly I have crushing chest pain")] == [
        "chest_or_breathing"]


def test_the_head_reads_what_the_lexicon_has_no_pattern_for():
    result = triage("my back's been bad for a week and honestly the toilet seat feels like "
                    "it isn't there when I sit on it")
    assert result.head is not None and 0.0 <= result.head.urgent <= 1.0
    # whichever reader fires, a flag names a rule of the taxonomy and words of the message
    for flag in result.flags:
        assert flag.rule in RULES and flag.by in ("lexicon", "head")


def test_the_alert_names_the_signs_and_the_level_in_the_visitors_language():
    flags = red_flags("腰疼，会阴部发麻，小便解不出来")
    assert {"saddle_numbness", "urinary_retention"} <= {f.rule for f in flags}
    zh = urgent_message(flags, "zh")
    assert "会阴部/鞍区麻木" in zh and "120" in zh and "急诊" in zh
    en = urgent_message(flags, "en")
    assert "numbness around the bottom" in en and "seek medical care now" in en
    prompt = red_flags("腰疼两个月，没减肥体重掉了十斤")
    assert triage("腰疼两个月，没减肥体重掉了十斤").level is Level.PROMPT
    assert urgent_message(prompt, "en").startswith(URGENT[Level.PROMPT]["en"].split("{")[0])
    assert "within a day or two" in urgent_message(prompt, "en")
    assert "一两天内" in urgent_message(prompt, "zh")
