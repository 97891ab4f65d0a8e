"""Concept coverage: does a passage cover every key term of the question, in either language?

Dense similarity alone is a poor answer/fallback signal: e5 cosines are compressed and
query-dependent ("怎么做红烧肉" scores 0.83 against a spine article; a real English question
about a Chinese passage scores 0.80). Coverage asks a sharper question, term by term:

- a question term found verbatim (after normalisation) in the passage is covered;
- otherwise it is covered when, in some language, its nearest neighbour among the
  passage's terms is at least as close as its nearest neighbour among general words of that
  language. Closeness is CSLS (Conneau et al., 2018): cosine minus the candidate word's
  "hubness", its mean cosine to its 10 nearest words of the question term's language, so a
  word close to everything (画像 to English words) wins nothing. Comparing within one
  language matters because cross-lingual cosines run lower than same-language ones.
  "meningioma" finds 脑膜瘤 in a Chinese passage before any general Chinese word; "asthma"
  finds 哮喘 among general words, closer than anything in a spine article: not covered.

The passage's scope is its section (an article, or one Q&A entry): a concept counts as
covered when the article that the quote comes from talks about it.

Background vocabulary: the 30,000 most frequent words of each language (wordfreq), minus
corpus terms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from bot.language import EN_STOPWORDS, ZH_STOPWORDS, _jieba, _stem, has_cjk

_EN_WORD = re.compile(r"[a-z][a-z0-9]*(?:[-'][a-z0-9]+)*")
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
# Words that carry no topic: a question about anything can contain them.
_ZH_GENERIC = frozenset(
    """注意 注意事项 影响 作用 效果 方法 办法 原因 结果 导致 引起 出现
    发生 可能 能够 治疗 治好 治愈 最好 比较 怎样 多久 多少 几天 以后
    之后 时候 一般 经常 有时 还是 或者 而且 常见 容易 建议 怎么样 得了
    患者 病人 朋友 孩子 家人 我们 他们 觉得 感觉 好像 这样 那样 不会
    不能 不要 会不会 能不能""".split()
)
_EN_GENERIC = frozenset(
    """best good bad better worse way ways thing things kind type types get gets getting
    got make makes made take takes need needs usually often always sometimes common
    much many lot also really actually like know tell please help someone people person
    anyone mean means""".split()
)


@dataclass(frozen=True)
class Term:
    key: str  # normalised form used for exact matching
    surface: str  # form that is embedded
    weight: float = 1.0  # rare (topic) words count more than common (intent) words
    parts: tuple[str, ...] = ()  # a phrase: keys of the words it covers; weight 0

    @property
    def lang(self) -> str:
        return "zh" if has_cjk(self.surface) else "en"


def question_terms(text: str) -> list[Term]:
    """Content terms of a question: jieba words (precise mode) and English words, minus
    stopwords and topic-free words, weighted by rarity."""
    terms: dict[str, Term] = {}
    lowered = text.lower()
    _jieba()  # loads the domain words into the shared dictionary
    import jieba.posseg

    for run in _CJK_RUN.findall(lowered):
        for pair in jieba.posseg.cut(run):
            word = pair.word
            # Single characters count only as nouns: 药 in 吃什么药, not 吃.
            keep = len(word) >= 2 or pair.flag.startswith("n")
            if keep and word not in ZH_STOPWORDS and word not in _ZH_GENERIC:
                terms.setdefault(word, Term(word, word, rarity_weight(word, "zh")))
    previous: Term | None = None
    previous_end = 0
    for match in _EN_WORD.finditer(lowered):
        word = match.group()
        if len(word) < 3 or word in EN_STOPWORDS or word in _EN_GENERIC:
            previous = None
            continue
        key = _stem(word)
        term = terms.setdefault(key, Term(key, word, rarity_weight(word, "en")))
        if (previous is not None and lowered[previous_end : match.start()].strip() == ""
                and min(previous.weight, term.weight) >= PHRASE_MIN_WEIGHT):
            # Adjacent words form a phrase ("disc herniation"): across languages a phrase
            # finds its translation (腰椎间盘突出) where single words are ambiguous.
            phrase = f"{previous.surface} {word}"
            terms.setdefault(phrase, Term(phrase, phrase, 0.0, (previous.key, key)))
        previous, previous_end = term, match.end()
    return list(terms.values())


# Only content words form phrases: "disc herniation", not "asthma treated" (a generic verb
# would let the phrase match through the verb alone).
PHRASE_MIN_WEIGHT = 0.6


def covered_with_phrases(terms: list[Term], covered: np.ndarray) -> np.ndarray:
    """A word also counts as covered when a phrase containing it is covered."""
    result = covered.copy()
    index = {t.key: i for i, t in enumerate(terms) if not t.parts}
    for term, ok in zip(terms, covered, strict=True):
        if term.parts and ok:
            for part in term.parts:
                if part in index:
                    result[index[part]] = True
    return result


def rarity_weight(word: str, lang: str) -> float:
    """1.0 for rare words (Zipf frequency <= 3: most disease and drug names), down to 0.3
    for everyday words (Zipf >= 5.5: 'treat', '检查'), linearly in between."""
    from wordfreq import zipf_frequency

    zipf = zipf_frequency(word, lang)
    return float(min(1.0, max(0.3, 1.0 - 0.28 * (zipf - 3.0))))


def passage_terms(text: str) -> list[Term]:
    """Terms a passage offers: precise and search-mode jieba words, English words."""
    terms: dict[str, Term] = {}
    lowered = text.lower()
    jieba = _jieba()
    for run in _CJK_RUN.findall(lowered):
        for word in (*jieba.cut(run), *jieba.cut_for_search(run)):
            if len(word) >= 2:
                terms.setdefault(word, Term(word, word))
    for word in _EN_WORD.findall(lowered):
        if len(word) >= 3 and word not in EN_STOPWORDS:
            key = _stem(word)
            terms.setdefault(key, Term(key, word))
    return list(terms.values())


@lru_cache(maxsize=1)
def background_terms(per_language: int = 30_000) -> tuple[Term, ...]:
    """General-vocabulary words in both languages (see module docstring)."""
    from wordfreq import top_n_list

    unique: dict[str, Term] = {}
    for word in top_n_list("zh", per_language):
        if len(word) >= 2 and _CJK_RUN.fullmatch(word):
            unique.setdefault(word, Term(word, word))
    for word in top_n_list("en", per_language):
        if len(word) >= 3 and word.isalpha() and word.isascii() and word not in EN_STOPWORDS:
            unique.setdefault(_stem(word), Term(_stem(word), word))
    return tuple(unique.values())


def _occurs(term: Term, text: str) -> bool:
    """Lexical match: English words by stem prefix (treat ~ treatment); Chinese words
    verbatim, or a 2-4 character word with its characters in order and at most one
    character between each (胀痛 ~ 酸胀疼痛)."""
    if term.key in text:
        if term.parts or term.lang == "zh":
            return True
    elif term.parts or term.lang != "zh" or not 2 <= len(term.key) <= 4:
        return False
    return _pattern(term).search(text) is not None


@lru_cache(maxsize=4096)
def _pattern(term: Term) -> re.Pattern[str]:
    if term.lang == "zh":
        return re.compile(".?".join(re.escape(ch) for ch in term.key))
    return re.compile(rf"\b{re.escape(term.key)}")


HUB_NEIGHBOURS = 10


@dataclass
class TermSpace:
    """Terms with unit vectors and hubness; `lookup` maps a term key to its row."""

    terms: list[Term]
    vectors: np.ndarray
    hubness: np.ndarray  # (n, 2): mean cosine to the 10 nearest Chinese / English words
    lookup: dict[str, int] = field(init=False)
    langs: np.ndarray = field(init=False)  # True where the term is Chinese

    def __post_init__(self) -> None:
        self.lookup = {t.key: i for i, t in enumerate(self.terms)}
        self.langs = np.array([t.lang == "zh" for t in self.terms], dtype=bool)


def hubness(vectors: np.ndarray, background_vectors: np.ndarray,
            background_langs: np.ndarray, block: int = 512) -> np.ndarray:
    """Mean cosine of each vector to its HUB_NEIGHBOURS nearest background words, per
    language (excluding an identical vector: a word is not its own neighbour)."""
    out = np.zeros((len(vectors), 2), dtype=np.float32)
    for column, mask in enumerate((background_langs, ~background_langs)):
        matrix = background_vectors[mask]
        if not len(matrix):
            continue
        k = min(HUB_NEIGHBOURS, len(matrix))
        for start in range(0, len(vectors), block):
            sims = vectors[start : start + block] @ matrix.T
            sims[sims > 0.9999] = -1.0
            top = -np.partition(-sims, k - 1, axis=1)[:, :k]
            out[start : start + block, column] = top.mean(axis=1)
    return out


class CoverageModel:
    def __init__(self, corpus: TermSpace, background: TermSpace, section_of: list[int],
                 scope_terms: list[np.ndarray], section_texts: list[str],
                 chunk_terms: list[np.ndarray], chunk_texts: list[str]) -> None:
        self.corpus = corpus
        self.background = background
        self.section_of = section_of  # chunk position -> section number
        self.section_texts = section_texts  # section number -> its lower-cased text
        # chunk position -> term rows of its section, and term rows and text of itself
        self.scope_terms = scope_terms
        self.chunk_terms, self.chunk_texts = chunk_terms, chunk_texts
        members: list[list[int]] = [[] for _ in section_texts]
        for position, section in enumerate(section_of):
            members[section].append(position)
        self.section_members = members  # section number -> chunk positions
        self._background_zh = background.vectors[background.langs]
        self._background_en = background.vectors[~background.langs]
        self._background_rows = {True: np.flatnonzero(background.langs),
                                 False: np.flatnonzero(~background.langs)}
        self._background_hub = {is_zh: np.ascontiguousarray(background.hubness[rows].T)
                                for is_zh, rows in self._background_rows.items()}  # (2, m)

    def term_vectors(self, terms: list[Term], embed) -> np.ndarray:
        """Vectors for question terms: stored vectors where known, else embedded now."""
        out = np.zeros((len(terms), self.corpus.vectors.shape[1]), dtype=np.float32)
        missing = []
        for i, term in enumerate(terms):
            if term.key in self.corpus.lookup:
                out[i] = self.corpus.vectors[self.corpus.lookup[term.key]]
            elif term.key in self.background.lookup:
                out[i] = self.background.vectors[self.background.lookup[term.key]]
            else:
                missing.append(i)
        if missing:
            out[missing] = embed([terms[i].surface for i in missing])
        return out

    def background_best(self, terms: list[Term], vectors: np.ndarray) -> np.ndarray:
        """(terms, 2): each term's best CSLS score among general words other than itself,
        Chinese words in column 0, English words in column 1."""
        best = np.full((len(terms), 2), -np.inf, dtype=np.float32)
        if not len(terms):
            return best
        query_column = np.array([0 if t.lang == "zh" else 1 for t in terms])
        for column, (is_zh, matrix) in enumerate(((True, self._background_zh),
                                                   (False, self._background_en))):
            if not len(matrix):
                continue
            rows = self._background_rows[is_zh]
            scores = vectors @ matrix.T
            scores -= self._background_hub[is_zh][query_column]
            for i, term in enumerate(terms):
                own = self.background.lookup.get(term.key)
                if own is not None and self.background.langs[own] == is_zh:
                    scores[i, np.searchsorted(rows, own)] = -np.inf
            best[:, column] = scores.max(axis=1)
        return best

    def covered(self, chunk_position: int, terms: list[Term], vectors: np.ndarray,
                background_best: np.ndarray, section: bool = True) -> np.ndarray:
        """Which question terms the chunk's section covers, as a boolean per term; with
        section=False, which terms the chunk itself contains (lexically)."""
        ids = (self.scope_terms if section else self.chunk_terms)[chunk_position]
        text = (self.section_texts[self.section_of[chunk_position]] if section
                else self.chunk_texts[chunk_position])
        result = np.zeros(len(terms), dtype=bool)
        if not len(terms) or not len(ids):
            return result
        own = set(ids.tolist())
        # Lexical: the term itself, or (English) a word starting with its stem: treat~treatment.
        result |= np.array([self.corpus.lookup.get(t.key, -1) in own or _occurs(t, text)
                            for t in terms])
        if not section:
            # Within a section every chunk is semantically close to every term; whether a
            # chunk itself talks about a term is a lexical question.
            return result
        query_column = np.array([0 if t.lang == "zh" else 1 for t in terms])
        hub = self.corpus.hubness[ids][:, query_column].T  # (terms, ids)
        scores = vectors @ self.corpus.vectors[ids].T - hub
        is_zh = self.corpus.langs[ids]
        for column, mask in ((0, is_zh), (1, ~is_zh)):
            if mask.any():
                result |= scores[:, mask].max(axis=1) >= background_best[:, column]
        return result
