"""Language detection, sentence splitting and keyword tokens for Chinese and English."""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path

from bot.models import Lang

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# A message that refers back to the conversation: it starts like a continuation...
_FOLLOW_UP_START = re.compile(
    r"^(那|那么|那要|那该|还有|另外|它|这个|这种|这样|此外|and\b|what about|how about|also\b|so\b|"
    r"then\b|is it|does it|can it|how is it|what if|and how|and what|is that|are they)", re.I)
# ...or (English) is short and points at something said before.
_EN_ANAPHORA = re.compile(r"\b(it|this|that|they|them|those|these)\b", re.I)
QUESTION_LIKE = re.compile(r"[？?]$|什么|怎么|如何|为什么|哪些|是否|吗$|^(what|how|why|when|which|"
                           r"who|can|is|are|does|do|should)\b", re.I)
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
# Sentence ends: Chinese 。！？；… and line breaks; English . ! ? followed by space/end.
_ZH_SENTENCE_END = re.compile(r"[^。！？；!?;\n]*(?:[。！？；!?;]+[”’」』）)]*|\n|$)")
_EN_SENTENCE_END = re.compile(r".+?(?:[.!?]+[\"')\]]*(?=\s+[A-Z0-9\"'(]|\s*$)|\n|$)", re.S)
_EN_TOKEN = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
_CJK_RUNS = re.compile(r"[\u3400-\u9fff]{2,}")
_ZH_KEEP = re.compile(r"[\u3400-\u9fffA-Za-z0-9]")

EN_STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been
    before being below between both but by can could did do does doing down during each
    few for from further had has have having he her here hers herself him himself his
    how i if in into is it its itself just me more most my myself no nor not now of off
    on once only or other our ours out over own same she should so some such than that
    the their theirs them then there these they this those through to too under until
    up very was we were what when where which while who whom why will with would you
    your yours yourself s t don i'm it's what's""".split()
)
ZH_STOPWORDS = frozenset(
    """的 了 是 我 你 他 她 它 吗 呢 吧 啊 呀 么 什么 怎么 怎么办
    怎样 如何 为什么 请问 一下 有 没有 和 与 及 或 在 就 都 也 还
    又 很 会 要 能 可以 这 那 这个 那个 一个 这种 哪些 哪 些 得 地
    着 过 被 把 给 让 对 于 从 到 说 想 问 知道 谢谢 医生 您好
    你好 现在 目前 最近 时候 情况 问题 请 帮 能否 是否 应该 需要 一直
    总是 已经 自己 但是 而且 因为 所以 如果 然后 不 没 怎么回事 啥 咋""".split()
)


def detect_lang(text: str) -> Lang:
    """'zh' when the text is mostly Chinese characters, else 'en'."""
    cjk = len(_CJK.findall(text))
    latin = sum(len(w) for w in _LATIN_WORD.findall(text))
    # A Chinese character carries about as much as a 3-letter chunk of English.
    return "zh" if cjk and cjk * 3 >= latin else "en"


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


def is_follow_up(text: str, lang: Lang) -> bool:
    """Does this message lean on the previous one ("那怎么治疗", "When is surgery needed?")?
    It starts like a continuation, or it is short (Chinese: at most 8 characters; English:
    at most 5 words, or 8 with a pronoun)."""
    if _FOLLOW_UP_START.match(text):
        return True
    if lang == "zh":
        return len(re.sub(r"[^\u3400-\u9fffA-Za-z0-9]", "", text)) <= 8
    words = re.findall(r"[A-Za-z']+", text)
    return len(words) <= 5 or (len(words) <= 8 and bool(_EN_ANAPHORA.search(text)))


def same_words_key(text: str) -> str:
    """The text without punctuation, spacing or case: two wordings that differ only in
    those have the same key."""
    return re.sub(r"[\W_]+", "", text).lower()


def split_sentences(text: str, lang: Lang) -> list[tuple[int, int]]:
    """(start, end) spans of sentences in `text`, covering every non-space character."""
    pattern = _ZH_SENTENCE_END if lang == "zh" else _EN_SENTENCE_END
    spans = []
    for match in pattern.finditer(text):
        start, end = match.span()
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            spans.append((start, end))
    return spans


_DOMAIN_WORDS = Path(__file__).parent / "data" / "medical_words.txt"


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    for line in _DOMAIN_WORDS.read_text("utf-8").splitlines():
        parts = line.split()
        if parts and not line.startswith("#"):
            jieba.add_word(parts[0], int(parts[1]) if len(parts) > 1 else None)
    return jieba


def is_word(text: str) -> bool:
    """Is `text` a word of jieba's general dictionary (or our domain words)?"""
    return _jieba().dt.FREQ.get(text, 0) > 0


@lru_cache(maxsize=1)
def single_character_nouns() -> frozenset[str]:
    """The one-character words jieba's dictionary tags as nouns (药, 腰; not 吃): what
    jieba.posseg would say of them, without its tagger (~50 MB of tables per process)."""
    import jieba

    nouns = set()
    with open(Path(jieba.__file__).parent / "dict.txt", encoding="utf-8") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) >= 3 and len(parts[0]) == 1 and parts[2].startswith("n"):
                nouns.add(parts[0])
    return frozenset(nouns)


ZIPF_FLOOR = 3.0  # below this, how rare a word is makes no difference to the bot


def zipf(word: str, lang: str) -> float:
    """How common a word is (Zipf scale: 7 for "the", 3 for once a million words), from
    wordfreq's small lists: they hold every word at Zipf 3 and above, and every rule that
    reads frequencies treats all words below 3 alike (bot.coverage, bot.lexicon), so the
    answers are those of the large lists at a quarter of the memory (20 MB, not 88)."""
    from wordfreq import zipf_frequency

    return zipf_frequency(word, lang, wordlist="small")


def warm_up() -> None:
    """Load jieba's dictionary and the word-frequency lists now rather than on the first
    question that needs them."""
    _jieba()
    single_character_nouns()
    for lang in ("zh", "en"):
        zipf("腰" if lang == "zh" else "back", lang)


def keyword_tokens(text: str) -> list[str]:
    """Tokens for BM25: jieba words (search mode) plus character bigrams for Chinese,
    stemmed lower-cased words for English.

    Bigrams make matching robust to segmentation of colloquial or misspelt patient wording
    (they lifted Recall@1 on the Chinese patient set; docs/benchmarks.md). Mixed text is
    handled in one pass. Stopwords and punctuation are dropped.
    """
    tokens: list[str] = []
    lowered = text.lower()
    if has_cjk(lowered):
        for word in _jieba().cut_for_search(lowered):
            word = word.strip()
            if not word or not _ZH_KEEP.search(word):
                continue
            if has_cjk(word):
                if word not in ZH_STOPWORDS:
                    tokens.append(word)
            else:
                tokens.extend(_english_terms(word))
        for run in _CJK_RUNS.findall(lowered):
            tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
    else:
        tokens.extend(_english_terms(lowered))
    return tokens


def _english_terms(text: str) -> list[str]:
    return [stem(t) for t in _EN_TOKEN.findall(text) if t not in EN_STOPWORDS]


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=16384)
def stem(word: str) -> str:
    """An English word's family: its American spelling (breame's list: tumour -> tumor,
    oedema stays) stemmed by Snowball (cancerous -> cancer, treated -> treat)."""
    return _stemmer().stemWord(american(word))


def american(word: str) -> str:
    """The American spelling of a British one (breame's list), else the word."""
    from breame.data.spelling_constants import BRITISH_ENGLISH_SPELLINGS

    return BRITISH_ENGLISH_SPELLINGS.get(word, word)


def british(word: str) -> str:
    """The British spelling of an American one (breame's list), else the word."""
    from breame.data.spelling_constants import AMERICAN_ENGLISH_SPELLINGS

    return AMERICAN_ENGLISH_SPELLINGS.get(word, word)
