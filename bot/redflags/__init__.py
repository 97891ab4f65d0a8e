"""Red-flag triage: does a message report a sign that needs medical care now or soon?

Two readers, either of which escalates:
- the sign lexicon (bot.redflags.signs, combined by bot.redflags.rules): everyday words,
  typo-tolerant, negation-aware; a general question *about* a sign ("does tumour pain get
  worse at night?") is left to the head;
- the trained head (bot.redflags.head), which reads the whole message, for what the lexicon
  has no pattern for.

Every flag names its rule (bot.redflags.taxonomy: the standard red flags and their
sources), its level and the words of the message that fired it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.models import Lang
from bot.redflags.head import Prediction, default_head
from bot.redflags.rules import RULE_SIGNS, SUBSUMED_BY
from bot.redflags.signs import SignMatch, asks_about, read_signs
from bot.redflags.taxonomy import RULES, Level, Rule

__all__ = ["RULES", "Level", "RedFlag", "Rule", "Triage", "level_of", "red_flags", "triage",
           "warm_up"]


@dataclass(frozen=True)
class RedFlag:
    rule: str  # a key of RULES
    sign: str  # the words of the message that fired it
    by: str  # "lexicon" or "head"

    @property
    def level(self) -> Level:
        return RULES[self.rule].level

    @property
    def name(self) -> dict[Lang, str]:
        return RULES[self.rule].label


@dataclass(frozen=True)
class Triage:
    flags: list[RedFlag]
    signs: dict[str, SignMatch]
    asks: bool  # a general question rather than a report
    head: Prediction | None

    @property
    def level(self) -> Level | None:
        return level_of(self.flags) if self.flags else None


def level_of(flags: list[RedFlag]) -> Level:
    """How soon to get care for these flags together: the most urgent of their levels."""
    return Level.NOW if any(f.level is Level.NOW for f in flags) else Level.PROMPT


def lexicon_rules(signs: dict[str, SignMatch]) -> list[tuple[str, tuple[str, ...]]]:
    """The rules the signs fire, each with the signs that fired it."""
    fired = []
    for rule, alternatives in RULE_SIGNS.items():
        for needed in alternatives:
            if all(sign in signs for sign in needed):
                fired.append((rule, needed))
                break
    names = {rule for rule, _ in fired}
    return [(r, n) for r, n in fired if SUBSUMED_BY.get(r) not in names]


def triage(message: str) -> Triage:
    """Read a message for red flags (both languages whatever the visitor's: mixed messages
    are common)."""
    signs, denied = read_signs(message)
    asks = asks_about(message)
    fired = lexicon_rules(signs)
    head = default_head()
    prediction = (head.predict(message, frozenset(signs), frozenset(r for r, _ in fired), asks,
                               denied) if head is not None else None)
    flags: list[RedFlag] = []
    # The lexicon's rules escalate unless the head, reading the whole message, finds no
    # report in it (its floor; 0 escalates every lexicon rule). A message that asks in
    # general escalates only when the head reads a report in it all the same (its `asking`
    # bar: Chinese reports often drop the pronoun and end in "会不会…").
    if asks and prediction is not None and prediction.urgent < head.asking:
        return Triage(flags, signs, asks, prediction)
    bar = 0.0 if prediction is None else head.floor
    if fired and (prediction is None or prediction.urgent >= bar):
        for rule, needed in fired:
            shown = [signs[s].words for s in needed if s != "spine"] or [signs["spine"].words]
            flags.append(RedFlag(rule, " + ".join(shown), "lexicon"))
    elif (prediction is not None and prediction.urgent >= head.threshold
          and (not RULES[prediction.rule].back or "spine" in signs)):
        flags.append(RedFlag(prediction.rule, " … ".join(prediction.words), "head"))
    return Triage(flags, signs, asks, prediction)


def red_flags(message: str) -> list[RedFlag]:
    return triage(message).flags


def warm_up() -> None:
    """Load the head, the character converter and the word lists now rather than on the
    first message."""
    triage("腰疼 back")
