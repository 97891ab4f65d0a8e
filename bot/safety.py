"""Red-flag symptoms (always escalate), greetings, and the fixed safety texts in both languages.

Red flags are explicit patterns, grouped as signs (symptom concepts in both languages)
and rules (which signs together escalate): every escalation names its rule and the words
that fired it, and each rule is tested in both languages (tests/test_safety.py). Measured
on our labelled red-flag set and on ordinary patient questions (bench/red_flags.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

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

# ------------------------------------------------------------------ red flags
# Signs: symptom concepts, each a Chinese and an English pattern, written for the way
# patients write ("尿不出来", "can't pee", "wet myself"). Rules combine signs; every rule
# needs the spine in the message (the bot's domain), so "I have a fever" alone is not one.
# English words within one typo of a sign's key words are read as those words first.

_CLAUSE = r"[^，。,.！!？?；;\n]"
_CLAUSE_NO_LEG = r"[^，。,.！!？?；;\n腿脚足]"
SIGNS: dict[str, tuple[str, str]] = {
    "spine": (
        r"腰|背|脊|尾椎|尾骨|骶|坐骨|椎间盘",
        r"\b(back|backs|backpain|backache|spine|spinal|lumbar|sciatica|sciatic|discs?|disks?|tailbone|coccyx|"
        r"vertebra\w*)\b"),
    "bladder_bowel": (
        rf"(尿|小便|大便|排便|排尿|大小便|二便|屎|拉肚子|拉稀){_CLAUSE}{{0,8}}(解不出|排不出|出不来|不出来|拉不出|失禁|"
        rf"控制不住|憋不住|管不住|困难|费劲|不尽|没感觉|感觉不到)|尿不出|尿裤子|拉(在)?裤子|尿失禁|大便失禁|"
        rf"尿潴留|漏尿|憋不住尿|感觉不到{_CLAUSE}{{0,6}}(上厕所|尿|大便)",
        r"\b(can'?t|cant|cannot|unable to|trouble|difficulty|hard to|haven'?t been able to|"
        r"not able to)\s+(\w+\s+){0,3}(pee|peeing|urinat\w*|poop\w*|empty my bladder|"
        r"hold (my )?(pee|urine|bladder|bowels?))"
        r"|\b(wet|peed|pooped|soiled|messed)\s+(myself|my pants|the bed)"
        r"|\b(lost|loss of|losing|no|can'?t|cant|cannot)\s+(\w+\s+){0,2}control\s+(of\s+)?(my\s+)?"
        r"(bladder|bowels?|pee|urine)"
        r"|\b(bladder|bowels?)\s+(\w+\s+){0,3}(control|leak\w*|accidents?)"
        r"|incontinen\w*|urinary retention|leak(ing|s)? (urine|pee)"),
    "saddle_numbness": (
        rf"(会阴|鞍区|肛门|肛周|屁股|臀部|私处|下体|裆|外阴|大腿内侧|大腿根){_CLAUSE_NO_LEG}{{0,10}}"
        rf"(麻|木|没知觉|没感觉|没有感觉|感觉减退|失去感觉|感觉不到)",
        r"\b(saddle|groin|genital\w*|private (parts|area)|inner thighs?|butt|buttocks?|bum|bottom|"
        r"perine\w*|anus|anal|crotch|between (my|the) legs)\s+(\w+\s+){0,4}(numb\w*|tingl\w*|"
        r"no feeling|lost feeling|can'?t feel)"
        r"|\bnumb\w*\s+(\w+\s+){0,3}(saddle|groin|genitals?|private parts|buttocks?|butt|crotch|"
        r"between (my|the) legs|bottom)"
        r"|\b(can'?t|cannot|don'?t|no) feel(ing)?\s+(\w+\s+){0,3}(saddle|groin|genitals?|"
        r"private (parts|area)|buttocks?|butt|bum|bottom|crotch|anus|between (my|the) legs)\b"
        r"|can'?t feel (anything )?when i wipe"),
    "leg_weakness": (
        rf"(腿|脚|下肢|足){_CLAUSE}{{0,8}}(无力|没劲|没力气|使不上劲|发软|软(?!骨)|抬不起|不听使唤|站不住|"
        rf"站不稳|站不起来|动不了|瘫|迈不开|走不了)",
        r"\b(legs?|feet|foot|knees?)\b\s*(\w+\s+){0,4}(weak\w*|giving (way|out)|gave (way|out)|"
        r"buckl\w*|won'?t hold|paraly\w*|can'?t move)"
        r"|\b(can'?t|cannot|unable to)\s+(stand|walk)\b"),
    "worsening_or_falls": (
        r"越来越|突然|一下子|一天比一天|加重|摔|绊倒|跌倒",
        r"\b(getting|keeps? getting|every day|worse|worsening|sudden\w*|all of a sudden|weaker|"
        r"fell|falling|fall|tripping|trip)\b"),
    "foot_drop": (
        r"足下垂|脚抬不起来|(脚背|脚尖)[^，。]{0,4}(勾不起来|抬不起)|踩棉花|拖着脚|走路拖",
        r"foot drop|drop foot|(foot|feet)\s+(\w+\s+){0,2}dragg\w*|dragg\w* (my|the) (foot|feet|leg)"
        r"|can'?t lift (my|the) (foot|feet|toes)|tripping over (my|the) (own )?(foot|feet|toes)"),
    "major_trauma": (
        r"车祸|撞车|被车撞|被[^，。]{0,4}撞|高处坠落|坠落|掉下来|摔下来|从[^，。]{0,8}(摔|跌|掉|滑)下|"
        r"摔(了|伤|倒)|跌倒|滑倒|摔一跤|砸到|砸伤|撞伤|撞倒|外伤",
        r"\b(car|motorbike|motorcycle|bike|road) (accident|crash|wreck)|\bcrash\w*|\baccident\b|"
        r"\bfell\b(?! asleep)|\bfall (off|from|down)|\bslipped (on|and|in)|\bhit by\b|"
        r"collision|knocked (down|over)|landed on my|thrown (off|from)"),
    "fever": (
        r"发烧|发热|高烧|低烧|烧到|有点烧|体温|\d+(\.\d)?度|寒战|寒颤|打寒颤|发冷|冷得发抖|出冷汗|畏寒",
        r"\b(fever\w*|chills|chilly|shiver\w*|rigors|high temp\w*|temperature|hot and cold|"
        r"night sweats|sweating at night)\b"),
    "cancer_history": (
        r"(得过|患过|有过|做过|治疗过|查出|确诊|以前|之前|几年前|去年)[^，。]{0,8}(癌|恶性肿瘤|肿瘤)|"
        r"(癌|肿瘤)症?病史|癌[^，。]{0,6}(手术|化疗|放疗|治疗过)|化疗后",
        r"\b(had|have had|history of|treated for|survivor|diagnosed with|chemo\w*|radiation)\b"
        r"[^.]{0,30}\bcancer|\bcancer\s+(survivor|history|before)"),
    "weight_loss": (
        r"体重[^，。]{0,6}(下降|减轻|掉|减少|少了|降)|瘦了|消瘦|暴瘦|掉秤",
        r"weight loss|\blost (\d+\s*)?(\w+\s+){0,3}(weight|pounds|lbs|kg|kilos)\b|losing weight|"
        r"\bdropped \d+\s*(pounds|lbs|kg|kilos)"),
    "night_pain": (
        r"(半夜|夜里|夜间|晚上|睡觉|躺)[^，。]{0,8}(疼|痛)[^，。]{0,6}(醒|睡不着|更|加重|最厉害)|疼醒|痛醒|"
        r"(疼|痛)得[^，。]{0,4}睡不着|(躺|休息)[^，。]{0,6}(不缓解|也疼|也痛|更疼|更痛)|夜里[^，。]{0,4}睡不着",
        r"\bwakes? me( up)?\b|\bwoke me\b|keeps? me (up|awake)|can'?t sleep|\b(worse|worst) at night|"
        r"night pain|pain at night|even (when|while) (resting|lying)|lying down doesn'?t help|"
        r"at \d+ ?am\b"),
}
# Words the English patterns key on: a message's word one edit away (two for long words)
# is read as that word ("numbnes", "incontinant", "fevr").
_KEY_WORDS = tuple(sorted(set(
    """bladder bowel bowels urinate urinating peeing pooped incontinent incontinence
    retention groin crotch genitals buttocks numb numbness tingling weak weaker weakness
    buckling dragging tripping paralyzed paralysed falling accident crashed fever feverish
    chills shivering temperature sweats cancer survivor chemotherapy weight pounds losing
    sciatica herniated spine spinal lumbar""".split())))
_KEY_SET = frozenset(_KEY_WORDS)

RULES: dict[str, tuple[dict[Lang, str], tuple[tuple[str, ...], ...]]] = {
    # rule: (its name for the visitor, the sets of signs any one of which fires it)
    "bladder_bowel": ({"zh": "大小便控制障碍", "en": "loss of bladder or bowel control"},
                      (("bladder_bowel",),)),
    "saddle_numbness": ({"zh": "会阴部/鞍区麻木", "en": "numbness in the saddle area"},
                        (("saddle_numbness",),)),
    "leg_weakness": ({"zh": "进行性或突发的腿部无力", "en": "worsening or sudden leg weakness"},
                     (("leg_weakness", "worsening_or_falls"), ("foot_drop",))),
    "major_trauma": ({"zh": "外伤后腰背痛", "en": "back pain after an injury or fall"},
                     (("major_trauma",),)),
    "fever": ({"zh": "腰背痛伴发热或寒战", "en": "back pain with fever or chills"}, (("fever",),)),
    "cancer_history": ({"zh": "有癌症病史的新发腰背痛", "en": "new back pain after cancer"},
                       (("cancer_history",),)),
    "weight_loss": ({"zh": "腰背痛伴不明原因消瘦", "en": "back pain with unexplained weight loss"},
                    (("weight_loss",),)),
    "night_pain": ({"zh": "夜间痛或休息时痛", "en": "back pain at night or at rest"},
                   (("night_pain",),)),
}


@dataclass(frozen=True)
class RedFlag:
    name: dict[Lang, str]
    rule: str = ""  # a key of RULES
    sign: str = ""  # the words of the message that fired it


def _fix_typos(text: str) -> str:
    return re.sub(r"[a-z]+", lambda match: _key_word_for(match.group()), text)


@lru_cache(maxsize=8192)
def _key_word_for(word: str) -> str:
    """The key word `word` is a misspelling of (one edit away, two for long words), or
    the word itself."""
    if len(word) < 4 or word in _KEY_SET:
        return word
    for key in _KEY_WORDS:
        limit = 1 if len(key) < 8 else 2
        if abs(len(key) - len(word)) <= limit and _edits(word, key, limit) <= limit:
            return key
    return word


def _edits(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (insertions, deletions, substitutions, swaps), or
    limit + 1 as soon as it must exceed `limit` (most words stop after a row or two)."""
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], before[j - 2] + 1)
        if min(row) > limit and min(previous) > limit:  # a swap reaches back one row
            return limit + 1
        before, previous = previous, row
    return previous[-1]


def signs_in(message: str) -> dict[str, str]:
    """The signs a message shows, each with the words that showed it."""
    text = _fix_typos(message.lower())
    found = {}
    for sign, patterns in SIGNS.items():
        for pattern in patterns:
            match = re.search(pattern, text)
            if match:
                found[sign] = match.group().strip()
                break
    return found


def red_flags(message: str) -> list[RedFlag]:
    """Red flags in a message (both languages are checked whatever the visitor's language:
    mixed messages are common), each naming its rule and the words that fired it."""
    signs = signs_in(message)
    if "spine" not in signs:
        return []
    flags = []
    for rule, (name, alternatives) in RULES.items():
        for needed in alternatives:
            if all(sign in signs for sign in needed):
                flags.append(RedFlag(name, rule, " + ".join(signs[s] for s in needed)))
                break
    return flags


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
