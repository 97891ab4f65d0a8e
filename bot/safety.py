"""The fixed safety texts in both languages (disclaimers, the urgent alert by level).

Red flags themselves are found by bot.redflags (re-exported here: `red_flags`, `RULES`).
"""

from __future__ import annotations

from bot.models import Lang
from bot.redflags import RULES, Level, RedFlag, level_of, red_flags

__all__ = ["DISCLAIMER", "GENERAL_DISCLAIMER", "RULES", "URGENT", "URGENT_LINE", "RedFlag",
           "red_flags", "urgent_message"]

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
