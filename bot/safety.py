"""Red-flag symptoms (always escalate), greetings, and the fixed safety texts in both languages.

Rules are deliberately explicit regular expressions: every escalation can be traced to a
named rule, and a rule is tested in both languages (tests/test_safety.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.models import Lang

DISCLAIMER = {
    "zh": "以上内容摘自所列资料来源，仅供参考，不能代替医生的诊断和治疗；如有不适，请及时就医。",
    "en": "These quotes come from the listed sources and are general information only, not a "
          "diagnosis or medical advice. Please see a doctor about your own situation.",
}
URGENT = {
    "zh": "⚠ 您描述的情况（{signs}）可能需要紧急处理。请立即就医：前往医院急诊，或拨打 120。",
    "en": "⚠ What you describe ({signs}) may need urgent care. Please seek medical care now: "
          "go to an emergency department or call your local emergency number.",
}

_ZH_SPINE = r"(腰|背|脊|坐骨|尾椎|骶)"
_EN_SPINE = r"\b(back|spine|spinal|lumbar|sciatica|sciatic|disc|disk|tailbone)\b"

_ZH_BLADDER = (r"((小便|排尿|尿|大便|排便|大小便)[^，。,.；;]{0,6}(解不出|排不出|失禁|控制不住|憋不住|困难|"
               r"不能|不出来|不畅|障碍)|尿失禁|尿潴留|大小便失禁)")
_EN_BLADDER = (r"((lost|loss of|losing|lose|can'?t|cannot|unable to|no|trouble|difficulty)\s+"
               r"(\w+\s+){0,3}(bladder|bowels?|pee|peeing|urinate|urinating|urination|poop|stool)"
               r"|incontinen\w*|urinary retention|wet (myself|the bed)"
               r"|(bladder|bowel) (control|problems?|dysfunction))")
_ZH_SADDLE = r"(会阴|鞍区|肛门|肛周|屁股|私处|裆部|外阴)[^，。,.；;]{0,6}(麻|没知觉|没感觉|感觉减退|失去感觉)"
_EN_SADDLE = (r"((saddle|groin|genital\w*|inner thighs?|buttocks?|perine\w*|anus|anal|crotch)\s+"
              r"(\w+\s+){0,3}(numb\w*|tingl\w*|no feeling|lost feeling)"
              r"|numb\w*\s+(\w+\s+){0,3}(saddle|groin|genitals?|buttocks?|crotch|between (my|the) legs))")
_ZH_SUDDEN_WEAK = (r"((突然|突发|一下子|急性|越来越)[^，。,.；;]{0,10}(腿|下肢|脚)[^，。,.；;]{0,6}(无力|没劲|瘫|"
                   r"动不了|不能动|抬不起|站不起)|(双腿|两条腿|下肢)[^，。,.；;]{0,4}(瘫痪|完全无力|动不了)|"
                   r"足下垂.{0,4}(突然|加重))")
_EN_WEAK = (r"((legs?|feet|foot)\s+(\w+\s+){0,3}(weak\w*|giving (way|out)|paraly\w*|can'?t move)"
            r"|(can'?t|cannot|unable to)\s+(walk|stand|move (my|both) legs)|foot drop|paraly\w*)")
_EN_SUDDEN = r"\b(sudden\w*|all of a sudden|rapid\w*|quickly|getting worse|worsening)\b"
_ZH_TRAUMA = r"(车祸|撞车|被车撞|高处坠落|坠落|从[^，。]{0,8}(摔|跌|掉)下|摔伤|重物砸|外伤后|撞伤)"
_EN_TRAUMA = (r"\b(car (accident|crash)|crash\w*|fell (from|off|down)|fall from|falling from|hit by|"
              r"collision|accident|trauma|injur(y|ed) (in|from|after))\b")

_ZH_SYSTEMIC = (r"(发烧|发热|高烧|低烧|盗汗|出虚汗)", r"(体重[^，。,.；;]{0,4}(下降|减轻|掉|减少)|消瘦|暴瘦|瘦了)",
                r"(夜间痛|夜里[^，。,.；;]{0,4}(疼|痛)|晚上[^，。,.；;]{0,4}(疼|痛)|夜间[^，。,.；;]{0,2}(疼|痛)|疼醒|痛醒)",
                r"(癌症病史|得过癌|肿瘤病史|患过.{0,4}癌)", r"(没胃口|食欲(下降|不振|差))")
_EN_SYSTEMIC = (r"\b(fever\w*|night sweats?|chills|sweating at night)\b",
                r"\b(weight loss|losing weight|lost (\d+\s*)?(pounds|kg|lbs|kilos|weight))\b",
                r"(\b(pain|hurts?|worse|aches?)\s+(\w+\s+){0,3}(at night|night)|night pain|"
                r"wakes? me up)",
                r"\b(history of cancer|had cancer|cancer survivor)\b",
                r"\b(no appetite|loss of appetite|not hungry)\b")


@dataclass(frozen=True)
class RedFlag:
    name: dict[Lang, str]


def _has(pattern: str, text: str) -> bool:
    return re.search(pattern, text, re.I) is not None


def red_flags(message: str) -> list[RedFlag]:
    """Red flags found in a message (both languages are checked whatever the visitor's
    language: mixed messages are common)."""
    text = message.lower()
    spine = _has(_ZH_SPINE, text) or _has(_EN_SPINE, text) or _has(r"腿|\blegs?\b", text)
    found: list[RedFlag] = []
    if _has(_ZH_BLADDER, text) or _has(_EN_BLADDER, text):
        found.append(RedFlag({"zh": "大小便控制障碍", "en": "loss of bladder or bowel control"}))
    if _has(_ZH_SADDLE, text) or _has(_EN_SADDLE, text):
        found.append(RedFlag({"zh": "会阴部/鞍区麻木", "en": "numbness in the saddle area"}))
    sudden_weak = _has(_ZH_SUDDEN_WEAK, text) or (
        _has(_EN_WEAK, text) and (_has(_EN_SUDDEN, text) or _has(_EN_TRAUMA, text)))
    if sudden_weak:
        found.append(RedFlag({"zh": "突发腿部无力", "en": "sudden leg weakness"}))
    trauma = _has(_ZH_TRAUMA, text) or _has(_EN_TRAUMA, text)
    if trauma and (spine or found):
        found.append(RedFlag({"zh": "外伤后腰背痛", "en": "back pain after major trauma"}))
    systemic = sum(_has(p, text) for p in _ZH_SYSTEMIC) + sum(_has(p, text) for p in _EN_SYSTEMIC)
    if systemic >= 2 and spine:
        found.append(RedFlag({"zh": "腰背痛伴发热、消瘦或夜间痛",
                              "en": "back pain with fever, weight loss or night pain"}))
    return found


def urgent_message(flags: list[RedFlag], lang: Lang) -> str:
    separator = "、" if lang == "zh" else "; "
    return URGENT[lang].format(signs=separator.join(flag.name[lang] for flag in flags))


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
