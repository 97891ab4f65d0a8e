"""An explanation of a reply: what the bot considered, the signals, and the path it took.

`Bot.explain(message)` returns one; `faqbot ask --explain` prints it; it is JSON for an
operator's tool (`Explanation.model_dump()`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel

from bot.models import Lang, Passage, ReplyKind
from bot.ranking import Assessment
from bot.redflags import RedFlag


@dataclass(frozen=True, kw_only=True)
class Decision:
    """What the bot does with a message, and why (shared by `ask` and `explain`)."""

    path: ReplyKind
    why: str
    threshold: float
    flags: list[RedFlag] = field(default_factory=list)
    assessment: Assessment | None = None
    chosen: list[int] = field(default_factory=list)  # candidates quoted (assessment indexes)
    passages: list[Passage] = field(default_factory=list)
    smalltalk: str | None = None
    searched: str = ""  # what retrieval saw (a follow-up read with its context)


class TermInfo(BaseModel):
    term: str
    weight: float
    translations: list[str]


class CandidateInfo(BaseModel):
    rank: int
    quoted: bool
    doc_id: str
    title: str
    chunk_id: str
    lang: Lang
    quote: str
    confidence: float
    signals: dict[str, float]
    covers: list[str]


class RedFlagInfo(BaseModel):
    rule: str
    sign: str  # the words of the message that fired it
    level: str  # "now" or "prompt"
    by: str  # "lexicon" (the sign patterns) or "head" (the trained model)


class Explanation(BaseModel):
    message: str
    searched: str  # the text retrieval saw (a follow-up with its context)
    lang: Lang
    path: ReplyKind
    why: str
    threshold: float
    answer_confidence: float  # the decision: probability that the first candidate answers
    decision_signals: dict[str, float]  # what the decision read
    red_flags: list[RedFlagInfo]
    terms: list[TermInfo]
    translated: str
    candidates: list[CandidateInfo]

    def as_text(self) -> str:
        lines = [f"path: {self.path} — {self.why}", f"language: {self.lang}; "
                 f"answer confidence {self.answer_confidence:.2f}, threshold "
                 f"{self.threshold:.2f}", f"searched: {self.searched}"]
        if self.decision_signals:
            lines.append("decision signals: " + " ".join(
                f"{k}={v:.2f}" for k, v in self.decision_signals.items()))
        if self.red_flags:
            lines.append("red flags: " + "; ".join(
                f"{f.rule} [{f.level}, by {f.by}]: {f.sign}" for f in self.red_flags))
        if self.terms:
            lines.append("terms: " + ", ".join(
                f"{t.term} {t.weight:.2f}" + (f" [{' / '.join(t.translations)}]"
                                              if t.translations else "") for t in self.terms))
        if self.translated:
            lines.append(f"translated: {self.translated}")
        for c in self.candidates:
            mark = "*" if c.quoted else " "
            signals = " ".join(f"{k}={v:.2f}" for k, v in c.signals.items())
            lines.append(f"{mark}{c.rank:>2}. {c.confidence:.3f} {c.doc_id} [{c.lang}] {signals}")
            lines.append(f"      {c.quote[:120]}")
        return "\n".join(lines)


def explanation(message: str, searched: str, lang: Lang, decision: Decision,
                limit: int = 10) -> Explanation:
    assessment = decision.assessment
    terms, candidates = [], []
    if assessment is not None:
        terms = [TermInfo(term=q.term.key, weight=round(float(w), 3),
                          translations=[" ".join(t) for t in q.translations])
                 for q, w in zip(assessment.terms, assessment.weights, strict=True)]
        for rank, c in enumerate(assessment.candidates[:limit], start=1):
            candidates.append(CandidateInfo(
                rank=rank, quoted=rank - 1 in decision.chosen, doc_id=c.hit.chunk.doc_id,
                title=c.hit.chunk.title, chunk_id=c.hit.chunk.chunk_id, lang=c.hit.chunk.lang,
                quote=c.quote, confidence=round(c.confidence, 4),
                signals={k: round(v, 4) for k, v in c.features.items()}, covers=list(c.covered)))
    return Explanation(
        message=message, searched=searched, lang=lang, path=decision.path, why=decision.why,
        threshold=decision.threshold,
        answer_confidence=round(assessment.answer, 4) if assessment else 0.0,
        decision_signals={k: round(v, 4) for k, v in (
            assessment.decision_features or {}).items()} if assessment else {},
        red_flags=[RedFlagInfo(rule=f.rule, sign=f.sign, level=f.level.value, by=f.by)
                   for f in decision.flags],
        terms=terms, translated=assessment.translated if assessment else "",
        candidates=candidates)
