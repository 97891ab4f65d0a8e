"""Red flags, rule by rule and language by language: what escalates, what names it, and
what ordinary questions never do."""

from __future__ import annotations

import pytest

from bot.safety import RULES, red_flags, signs_in, urgent_message

# One message per rule and language, in patients' words (none of them is in the labelled
# set bench/data/red_flags.jsonl).
FIRES = [
    ("bladder_bowel", "腰疼了三天，从昨晚到现在小便一直出不来"),
    ("bladder_bowel", "my back hurts and since yesterday I can't empty my bladder"),
    ("saddle_numbness", "腰突犯了，肛门周围麻麻的"),
    ("saddle_numbness", "back went out and now my groin is kind of numb"),
    ("saddle_numbness", "my back hurts and i cant feel my butt when i wipe"),
    ("bladder_bowel", "腰痛还拉肚子控制不住"),
    ("leg_weakness", "腰疼，左腿这两天越来越没劲了"),
    ("leg_weakness", "back pain and my left leg is getting weaker by the day"),
    ("leg_weakness", "腰椎间盘突出，现在足下垂了"),
    ("leg_weakness", "lumbar disc and now a foot drop on the right"),
    ("major_trauma", "从自行车上摔下来以后腰一直疼"),
    ("major_trauma", "I fell off the roof and my back is in agony"),
    ("fever", "腰背痛三天，今天开始发烧"),
    ("fever", "spinal surgery two weeks ago, now chills and back pain"),
    ("cancer_history", "以前得过肺癌，现在腰疼"),
    ("cancer_history", "back pain, history of cancer in 2019"),
    ("weight_loss", "腰疼，最近体重下降了五公斤"),
    ("weight_loss", "back aches and I lost 6 kg without dieting"),
    ("night_pain", "腰疼，晚上睡觉疼得更厉害，经常疼醒"),
    ("night_pain", "the back pain wakes me up every night"),
]


@pytest.mark.parametrize("rule, message", FIRES)
def test_each_rule_fires_in_each_language(rule, message):
    flags = red_flags(message)
    assert rule in [f.rule for f in flags], (message, flags)
    flag = next(f for f in flags if f.rule == rule)
    assert flag.sign and flag.sign.lower() in message.lower() or "+" in flag.sign
    assert flag.name == RULES[rule][0]


def test_every_rule_is_covered_by_the_table_above():
    assert {rule for rule, _ in FIRES} == set(RULES)


@pytest.mark.parametrize("message", [
    "back pain and i cant urinat since this mornig",  # misspelt
    "腰痛 and I wet myself",  # mixed languages
    "backpain, numbnes in my groin",
])
def test_misspelt_and_mixed_messages_still_escalate(message):
    assert red_flags(message)


@pytest.mark.parametrize("message", [
    "腰椎间盘突出有什么典型症状", "Can a disc herniation cause leg pain?",
    "腰椎手术后一直躺着不锻炼会怎样", "When is surgery needed?",
    "乳腺癌化疗有哪些副作用",  # cancer, but no back pain of one's own
    "I have a fever and chills",  # systemic, but not the spine
    "腰突腿麻无力怎么办",  # chronic weakness, neither worsening nor sudden
    "屁股疼，腿麻",  # sciatica: the numbness is in the leg, not the saddle
    "I fell asleep on the sofa and my back hurts",
    "How is a meningioma diagnosed?",
])
def test_ordinary_questions_do_not_escalate(message):
    assert red_flags(message) == [], message


def test_the_spine_must_be_in_the_message():
    assert "bladder_bowel" in signs_in("I can't pee")
    assert red_flags("I can't pee") == []


def test_urgent_message_names_the_signs_in_the_visitors_language():
    flags = red_flags("腰疼，会阴部发麻，小便解不出来")
    assert {f.rule for f in flags} == {"bladder_bowel", "saddle_numbness"}
    zh = urgent_message(flags, "zh")
    assert "大小便控制障碍" in zh and "会阴部/鞍区麻木" in zh and "120" in zh
    en = urgent_message(flags, "en")
    assert "loss of bladder or bowel control" in en and "seek medical care now" in en
