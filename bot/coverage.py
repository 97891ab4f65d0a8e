"""Term coverage: which of the question's key terms a text contains, in either language.

A question's key terms are its content words (jieba words, English stems), weighted by
rarity: a disease name counts more than "treat". A term is covered by a text when it occurs
in it (English by stem, Chinese verbatim or with its characters in order, at most one
between: 胀痛 ~ 酸胀疼痛), or when one of its translations does (bot.lexicon: 化疗 ~
"chemotherapy", "lower back" ~ 腰). Coverage is lexical on purpose: it is cheap (no
encoder call per term), explainable, and a term the corpus never mentions in either
language ("glioblastoma", 甲状腺) stays uncovered, which is what tells a near-domain
question from one the corpus answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from bot.language import (
    EN_STOPWORDS,
    ZH_STOPWORDS,
    ZIPF_FLOOR,
    _jieba,
    british,
    has_cjk,
    is_word,
    single_character_nouns,
    stem,
    zipf,
)
from bot.lexicon import PREFIX, Lexicon
from bot.limits import LIMITS

_EN_WORD = re.compile(r"[a-z][a-z0-9]*(?:[-'][a-z0-9]+)*")
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
# Words that carry no topic: a question about anything can contain them.
_ZH_GENERIC = frozenset(
    """注意 注意事项 影响 作用 效果 方法 办法 原因 结果 导致 引起 出现
    发生 可能 能够 治疗 治好 治愈 最好 比较 怎样 多久 多少 几天 以后
    之后 时候 一般 经常 有时 还是 或者 而且 常见 容易 建议 怎么样 得了
    患者 病人 朋友 孩子 家人 我们 他们 觉得 感觉 好像 这样 那样 不会
    不能 不要 会不会 能不能 怎么治 有没有 哪几类""".split()
)
_EN_GENERIC = frozenset(
    """best good bad better worse way ways thing things kind type types get gets getting
    got make makes made take takes need needs usually often always sometimes common
    much many lot also really actually like know tell please help someone people person
    anyone mean means""".split()
)
# Only content words form phrases: "disc herniation", not "asthma treated".
PHRASE_MIN_WEIGHT = 0.6


@dataclass(frozen=True)
class Term:
    key: str  # normalised form used for matching
    surface: str  # the word as written
    weight: float = 1.0  # rare (topic) words count more than common (intent) words
    parts: tuple[str, ...] = ()  # a phrase: keys of the words it covers; weight 0
    intent: bool = False  # a topic-free word (治疗, cause): picks the paragraph, not the article

    @property
    def lang(self) -> str:
        return "zh" if has_cjk(self.surface) else "en"


@dataclass(frozen=True)
class QueryTerm:
    """A question term and its translations into the other language, each a tuple of
    words that must all occur (English stems, or one Chinese word)."""

    term: Term
    translations: tuple[tuple[str, ...], ...] = ()


INTENT_WEIGHT = 0.3


def question_terms(text: str, limit: int = LIMITS.terms) -> list[Term]:
    """Content terms of a question: jieba words (precise mode) and English words, minus
    stopwords, weighted by rarity; topic-free words (治疗, cause) are intent terms of weight
    INTENT_WEIGHT. Adjacent English content words also form a phrase ("disc herniation"),
    which counts where the words alone are ambiguous. Past `limit` terms, the rarest are
    kept (in the question's order): what scoring a question costs is bounded."""
    terms: dict[str, Term] = {}
    lowered = text.lower()
    jieba = _jieba()  # with the domain words
    nouns = single_character_nouns()
    for run in _CJK_RUN.findall(lowered):
        # No HMM new-word guessing: it glues unknown characters into non-words
        # (软骨终板炎要怎么治 -> 炎要) that no text contains.
        for word in jieba.cut(run, HMM=False):
            # Single characters count only as nouns: 药 in 吃什么药, not 吃.
            keep = len(word) >= 2 or word in nouns
            if word in _ZH_GENERIC and len(word) >= 2:
                terms.setdefault(word, Term(word, word, INTENT_WEIGHT, intent=True))
            elif keep and word not in ZH_STOPWORDS:
                terms.setdefault(word, Term(word, word, rarity_weight(word, "zh")))
    previous: Term | None = None
    previous_end = 0
    for match in _EN_WORD.finditer(lowered):
        word = match.group()
        if len(word) < 3 or word in EN_STOPWORDS or word in _EN_GENERIC:
            previous = None
            continue
        key = stem(word)
        term = terms.setdefault(key, Term(key, word, rarity_weight(word, "en")))
        if (previous is not None and lowered[previous_end : match.start()].strip() == ""
                and min(previous.weight, term.weight) >= PHRASE_MIN_WEIGHT):
            phrase = f"{previous.surface} {word}"
            terms.setdefault(phrase, Term(phrase, phrase, 0.0, (previous.key, key)))
        previous, previous_end = term, match.end()
    found = list(terms.values())
    if len(found) <= limit:
        return found
    kept = sorted(range(len(found)), key=lambda i: -found[i].weight)[:limit]
    return [found[i] for i in sorted(kept)]


def translate(terms: list[Term], lexicon: Lexicon,
              limit: int = LIMITS.translated_terms) -> list[QueryTerm]:
    """Each term with its translations into the corpus's other language (the first
    `limit` terms; those after stay untranslated); a rare Chinese word the corpus does
    not use also with the corpus's words it abbreviates, and theirs."""
    english = frozenset(t.key for t in terms if t.lang == "en" and not t.parts)
    out = []
    for n, term in enumerate(terms):
        if term.parts or n >= limit:
            out.append(QueryTerm(term))
        elif term.lang == "zh":
            found = list(lexicon.to_english(term.key))
            if zipf(term.key, "zh") < ZIPF_FLOOR:  # a lay abbreviation: 腰突 ~ 腰椎间盘突出
                for long in lexicon.abbreviated(term.key):
                    found += [(long,), *lexicon.to_english(long)]
            out.append(QueryTerm(term, tuple(dict.fromkeys(found))))
        else:
            out.append(QueryTerm(term, tuple((w,) for w in
                                             sorted(lexicon.to_chinese(term.key, english)))))
    return out


def rarity_weight(word: str, lang: str) -> float:
    """1.0 for rare words (Zipf frequency <= 3: most disease and drug names), down to 0.3
    for everyday words (Zipf >= 5.5: 'treat', '检查'), linearly in between."""
    frequency = max(zipf(word, lang), ZIPF_FLOOR)
    return float(min(1.0, max(0.3, 1.0 - 0.28 * (frequency - 3.0))))


def passage_terms(text: str) -> set[str]:
    """Words a passage offers (its vocabulary): precise and search-mode jieba words of two
    or more characters, English stems."""
    terms: set[str] = set()
    lowered = text.lower()
    jieba = _jieba()
    for run in _CJK_RUN.findall(lowered):
        terms.update(w for w in (*jieba.cut(run), *jieba.cut_for_search(run)) if len(w) >= 2)
    terms.update(stem(w) for w in _EN_WORD.findall(lowered)
                 if len(w) >= 3 and w not in EN_STOPWORDS)
    return terms


def occurs(word: str, text: str) -> bool:
    """Lexical match in lower-cased text: English by stem prefix (treat ~ treatment; a long
    word by its first six letters: herniated ~ herniation); Chinese verbatim, or a 2-4
    character word with its characters in order and at most one character between each."""
    if has_cjk(word):
        if any(_whole(text, m.start(), m.end(), True)
               for m in re.finditer(re.escape(word), text)):
            return True
        return 2 <= len(word) <= 4 and any(_whole(text, m.start(), m.end(), False)
                                            for m in _pattern(word).finditer(text))
    return _pattern(word).search(text) is not None


def _whole(text: str, start: int, end: int, from_start: bool) -> bool:
    """Does a Chinese match end where a word of the text ends (and, `from_start`, start
    where one starts), as jieba cuts the text around it (search mode: a compound's parts
    count too, 腰椎 in 腰椎间盘)? 腰突 is not in 腰突然 (腰 / 突然)."""
    if len(text) <= 1 or end - start <= 1:
        return True
    glued_end = end < len(text) and is_word(text[end - 1:end + 1])
    glued_start = from_start and start > 0 and is_word(text[start - 1:start + 1])
    if not glued_end and not glued_start:  # no word spans either edge: cheap, and common
        return True
    lo, hi = max(0, start - 4), min(len(text), end + 4)
    starts, ends = _boundaries(text[lo:hi])
    return end - lo in ends and (not from_start or start - lo in starts)


@lru_cache(maxsize=4096)
def _boundaries(window: str) -> tuple[frozenset[int], frozenset[int]]:
    """Where jieba's words (search mode) start and end in a short window of text."""
    tokens = list(_jieba().tokenize(window, mode="search", HMM=False))
    return frozenset(a for _, a, _ in tokens), frozenset(b for _, _, b in tokens)


@lru_cache(maxsize=8192)
def _pattern(word: str) -> re.Pattern[str]:
    if has_cjk(word):
        return re.compile(".?".join(re.escape(ch) for ch in word))
    return re.compile(rf"\b{english_prefix(word)}")


def english_prefix(key: str) -> str:
    """A regex for the words of a stem's family as they are written: the stem, or a long
    one's first six letters, a Snowball 'i' standing for the word's 'y' (surgeri ~
    surgery), in American or British spelling (tumor ~ tumour)."""
    forms = []
    for form in dict.fromkeys((key, british(key))):
        if len(form) > PREFIX + 1:
            forms.append(re.escape(form[:PREFIX]))
        else:
            forms.append(re.escape(form[:-1]) + "[iy]" if form.endswith("i") else re.escape(form))
    return forms[0] if len(forms) == 1 else "(?:" + "|".join(forms) + ")"


def covered(terms: list[QueryTerm], text: str) -> np.ndarray:
    """Per term: does `text` (lower-cased) contain it or one of its translations? A word
    also counts as covered when a phrase containing it is."""
    result = np.array([_term_occurs(q, text) for q in terms], dtype=bool)
    index = {q.term.key: i for i, q in enumerate(terms) if not q.term.parts}
    for q, ok in zip(terms, list(result), strict=True):
        if q.term.parts and ok:
            for part in q.term.parts:
                if part in index:
                    result[index[part]] = True
    return result


def _term_occurs(query_term: QueryTerm, text: str) -> bool:
    term = query_term.term
    if term.parts:
        return term.key in text
    if occurs(term.key, text):
        return True
    return any(occurs(words[0], text) if len(words) == 1 else _phrase(words).search(text)
               is not None for words in query_term.translations)


@lru_cache(maxsize=4096)
def _phrase(words: tuple[str, ...]) -> re.Pattern[str]:
    """A multi-word English translation as a phrase: its words in order, at most one other
    word between two of them ('high blood pressure' is not 'blood tests ... pressure')."""
    parts = [english_prefix(w) for w in words]
    return re.compile(r"\b" + r"[a-z0-9'-]*(?:\W+[a-z0-9'-]+)?\W+".join(parts))
