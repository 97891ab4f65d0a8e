"""The fixed safety texts in both languages (disclaimers, the urgent alert by level),
and greetings and other small talk.

Red flags themselves are found by bot.redflags (re-exported here: `red_flags`, `RULES`).
"""

from __future__ import annotations

import re

from bot.models import Lang
from bot.redflags import RULES, Level, RedFlag, level_of, red_flags

__all__ = ["DISCLAIMER", "GENERAL_DISCLAIMER", "RULES", "URGENT", "URGENT_LINE", "RedFlag",
           "red_flags", "smalltalk_intent", "strip_greeting", "urgent_message"]

DISCLAIMER = {
    "zh": "以上内容摘自所列资料来源，仅供参考，不能代替医生的诊断和治疗；如有不适，请及时就医。",
    "en": "These quotes come from the listed sources and are general information only, not a "
          "diagnosis or medical advice. Please see a doctor about your own situation.",
}
# For replies that quote nothing (a fallback, an alert alone, small talk).
GENERAL_DISCLAIMER = {
    "zh": "本助手只提供一般健康信息，不能代替医生的诊断和治疗；如有不适，请及时就医。",
    "en": "This assistant gives general health information only, not a diagnosis or medical "
          "advice. Please see a doctor about your own situation.",
}
URGENT = {
    Level.NOW: {
        "zh": "⚠ 您描述的情况（{signs}）可能需要紧急处理。请立即就医：前往医院急诊，或拨打 120。",
        "en": "⚠ What you describe ({signs}) may need urgent care. Please seek medical care now: "
              "go to an emergency department or call your local emergency number.",
    },
    Level.PROMPT: {
        "zh": "⚠ 您描述的情况（{signs}）需要尽快请医生检查：请在一两天内就医；如果症状加重，请立即去急诊。",
        "en": "⚠ What you describe ({signs}) needs a doctor's assessment soon: please see a doctor "
              "within a day or two, and go to an emergency department at once if it gets worse.",
    },
}
# The bot's own line under an alert when no source answers the question as well.
URGENT_LINE = {
    Level.NOW: {"zh": "请不要等待在线答复，先就医。",
                "en": "Please don't wait for an answer online: get medical care first."},
    Level.PROMPT: {"zh": "请尽快预约医生，当面说明这些情况。",
                   "en": "Please arrange to see a doctor soon and tell them about this."},
}

# ------------------------------------------------------------------ red flags
# Detection lives in bot.redflags (taxonomy, sign lexicon, trained head); what the visitor
# is told lives here.


def urgent_message(flags: list[RedFlag], lang: Lang) -> str:
    """The alert: the signs named in the visitor's language, and how soon to get care."""
    separator = "、" if lang == "zh" else "; "
    names = separator.join(dict.fromkeys(flag.name[lang] for flag in flags))
    return URGENT[level_of(flags)][lang].format(signs=names)


# ------------------------------------------------------------------ small talk

_GREETING = re.compile(
    r"^(你好|您好|嗨|哈喽|哈啰|喂|在吗|在不在|早上好|下午好|晚上好|hi|hello|hey|hiya|good (morning|"
    r"afternoon|evening)|greetings)[\s!！,，.。~～?？]*", re.I)
_THANKS = re.compile(r"^(谢谢|多谢|感谢|谢了|thanks|thank you|thx|ty|cheers)\s*(你|您|啦|了|a lot|so much|"
                     r"very much)?[\s!！,，.。~～]*$", re.I)
_BYE = re.compile(r"^(再见|拜拜|bye|goodbye|see you)[\s!！,，.。~～]*$", re.I)
_WHO = re.compile(r"^(你是谁|你是什么|你能做什么|你会什么|who are you|what are you|what can you do|"
                  r"help)[\s?？!！.。]*$", re.I)

SMALLTALK = {
    "greeting": {"zh": "您好！我可以根据资料回答关于腰痛、腰椎间盘突出、脊柱肿瘤和脑膜瘤等问题，"
                       "并注明出处。请问有什么想了解的？",
                 "en": "Hello! I answer questions about low back pain, disc herniation, spinal "
                       "tumours and meningioma by quoting our sources. What would you like to know?"},
    "thanks": {"zh": "不客气！还有其他关于腰背痛或相关疾病的问题，欢迎继续提问。",
               "en": "You're welcome! Ask me anything else about back pain and related conditions."},
    "bye": {"zh": "再见，祝您早日康复！如有不适请及时就医。",
            "en": "Goodbye, take care! Please see a doctor if you feel unwell."},
    "who": {"zh": "我是医学资料问答助手：我只引用资料原文回答关于腰痛、腰椎间盘突出、脊柱肿瘤、"
                  "脑膜瘤等问题，不提供诊断。",
            "en": "I'm a medical-information assistant: I answer questions about low back pain, "
                  "disc herniation, spinal tumours and meningioma by quoting our sources. I don't "
                  "give diagnoses."},
}


def smalltalk_intent(message: str) -> str | None:
    """The intent of a message that is only small talk, else None."""
    text = message.strip()
    if _THANKS.match(text):
        return "thanks"
    if _BYE.match(text):
        return "bye"
    if _WHO.match(text):
        return "who"
    match = _GREETING.match(text)
    if match and match.end() == len(text):
        return "greeting"
    return None


def strip_greeting(message: str) -> str:
    """'你好，腰痛怎么办' -> '腰痛怎么办': the greeting adds nothing to retrieval."""
    match = _GREETING.match(message.strip())
    return message.strip()[match.end():].strip() if match else message.strip()
