"""Greetings, thanks, goodbyes and "who are you": small talk is recognised and answered
with a fixed line in the visitor's language; a greeting before a question is dropped."""

from __future__ import annotations

import re

_GREETING = re.compile(
    r"^(你好|您好|嗨|哈喽|哈啰|喂|在吗|在不在|早上好|下午好|晚上好|hi|hello|hey|hiya|good (morning|"
    r"afternoon|evening)|greetings)[\s!！,，.。~～?？]*", re.I)
_THANKS = re.compile(r"^(谢谢|多谢|感谢|谢了|thanks|thank you|thx|ty|cheers)\s*(你|您|啦|了|a lot|so much|"
                     r"very much)?[\s!！,，.。~～]*$", re.I)
_BYE = re.compile(r"^(再见|拜拜|bye|goodbye|see you)[\s!！,，.。~～]*$", re.I)
_WHO = re.compile(r"^(你是谁|你是什么|你能做什么|你会什么|who are you|what are you|what can you do|"
                  r"help)[\s?？!！.。]*$", re.I)

REPLIES = {
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


def intent_of(message: str) -> str | None:
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
