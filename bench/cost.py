"""Worst-case cost of one message (issue 11): CPU per `Bot.ask` on the seed corpus for
adversarial messages written to be expensive (long random CJK, long random Latin, the
corpus's own characters and words, repeated words, mixed scripts, emoji, misspelt
red-flag words, dictionary headwords, punctuation, invisible characters, long
narratives, a long follow-up), each at the longest length accepted. Every run uses new
text, so no memo helps. Then the wall time of an ordinary question asked while two of
the most expensive messages are being answered.

Usage: python bench/cost.py [--runs N] [--no-write]
"""

from __future__ import annotations

import argparse
import random
import threading
import time
from collections.abc import Callable

from common import report, seed_bot

from bot.core import Bot

TARGET_MS = 200.0
ORDINARY = ["腰椎间盘突出症的症状有哪些", "What is a meningioma?", "腰痛需要做什么检查",
            "How is spinal stenosis treated?", "脑膜瘤手术后多久能恢复"]
MISSPELT = ["numbnes", "incontinant", "fevr", "bladdr", "tinglng", "weaknes", "sciatca",
            "herniatd", "chemotherpy", "paralized", "shiverng", "buttoks", "lumbr", "spinel"]
INVISIBLE = ["\u200b", "\u200d", "\u200e", "\u200f", "\u202e", "\u2066", "\ufeff", "\u0301"]


def _fill(rng: random.Random, length: int, piece: Callable[[], str], sep: str = "") -> str:
    out = ""
    while len(out) < length:
        out += piece() + sep
    return out[:length]


def messages(bot: Bot, rng: random.Random, length: int) -> dict[str, str]:
    """One message of each kind, `length` characters long, new text for each `rng`."""
    chunks = bot.retriever.index.chunks
    text = "".join(c.text for c in chunks)
    zh_chars = [ch for ch in text if "\u4e00" <= ch <= "\u9fff"]
    en_words = [w for c in chunks if c.lang == "en" for w in c.text.split() if w.isalpha()]
    zh_sentences = [s for c in chunks if c.lang == "zh" for s in c.text.split("。") if s]
    en_sentences = [s for c in chunks if c.lang == "en" for s in c.text.split(". ") if s]
    headwords = sorted(bot.retriever.index.lexicon.entries)
    latin_word = lambda: "".join(rng.choice("abcdefghijklmnopqrstuvwxyz")  # noqa: E731
                                 for _ in range(rng.randint(2, 10)))
    alphabets = [(0x4E00, 0x9FFF), (0x61, 0x7A), (0x30, 0x39), (0x400, 0x4FF),
                 (0x600, 0x6FF), (0xAC00, 0xD7A3), (0x3040, 0x309F)]

    def mixed() -> str:
        low, high = rng.choice(alphabets)
        return "".join(chr(rng.randint(low, high)) for _ in range(rng.randint(1, 6)))

    kinds = {
        "random CJK characters": _fill(rng, length, lambda: chr(rng.randint(0x4E00, 0x9FFF))),
        "the corpus's Chinese characters, shuffled": _fill(rng, length,
                                                           lambda: rng.choice(zh_chars)),
        "random Latin words": _fill(rng, length, latin_word, " "),
        "the corpus's English words, shuffled": _fill(rng, length,
                                                      lambda: rng.choice(en_words), " "),
        "one English phrase repeated": f"{latin_word()} " + _fill(rng, length, lambda:
                                                                  "back pain", " "),
        "one Chinese word repeated": chr(rng.randint(0x4E00, 0x9FFF)) + _fill(
            rng, length, lambda: "腰痛"),
        "mixed scripts": _fill(rng, length, mixed, " "),
        "emoji": _fill(rng, length, lambda: chr(rng.randint(0x1F300, 0x1FAFF))),
        "misspelt red-flag words": _fill(rng, length, lambda: rng.choice(MISSPELT) +
                                         rng.choice("aeiou"), " "),
        "dictionary headwords": _fill(rng, length, lambda: rng.choice(headwords)),
        "punctuation and digits": _fill(rng, length, lambda: rng.choice("?!.,;:-()[]{}0123456789"
                                                                         "？！。，、")),
        "invisible and combining characters": _fill(rng, length, lambda: rng.choice(
            INVISIBLE) + rng.choice("ab腰痛")),
        "a long Chinese narrative": _fill(rng, length, lambda: rng.choice(zh_sentences), "。"),
        "a long English narrative": _fill(rng, length, lambda: rng.choice(en_sentences), ". "),
    }
    return {kind: message[:length] for kind, message in kinds.items()}


def cpu_ms(bot: Bot, message: str, session: str | None = None) -> tuple[float, float, str]:
    cpu, wall = time.process_time(), time.perf_counter()
    reply = bot.ask(message, session)
    return ((time.process_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000,
            reply.kind)


def ordinary_under_load(bot: Bot, heavy: list[str]) -> float:
    """Wall ms of an ordinary question asked while `heavy` messages are being answered."""
    threads = [threading.Thread(target=bot.ask, args=(m,)) for m in heavy]
    for thread in threads:
        thread.start()
    time.sleep(0.005)
    started = time.perf_counter()
    bot.ask(random.choice(ORDINARY) + f" {random.randint(0, 10**6)}")
    waited = (time.perf_counter() - started) * 1000
    for thread in threads:
        thread.join()
    return waited


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    bot = seed_bot()
    length = bot.settings.max_message_chars
    for question in ORDINARY:  # warm: first-use costs are not what this measures
        bot.ask(question)
    results: dict[str, list[tuple[float, float, str]]] = {}
    for run in range(args.runs):
        for kind, message in messages(bot, random.Random(run), length).items():
            results.setdefault(kind, []).append(cpu_ms(bot, message))
        # A long follow-up: the question with its context and the message, two encodings.
        session = bot.ask(ORDINARY[run % len(ORDINARY)]).session_id
        follow = "那" + messages(bot, random.Random(100 + run), length - 1)[
            "a long Chinese narrative"]
        results.setdefault("a long follow-up (zh)", []).append(cpu_ms(bot, follow, session))
    rows = []
    for kind, runs in results.items():
        worst = max(runs, key=lambda r: r[0])
        kinds = ", ".join(sorted({r[2] for r in runs}))
        rows.append(f"| {kind} | {max(r[0] for r in runs):.1f} | "
                    f"{sorted(r[0] for r in runs)[len(runs) // 2]:.1f} | {worst[1]:.1f} | "
                    f"{kinds} |")
    worst = max(r[0] for runs in results.values() for r in runs)
    heavy_kinds = sorted((k for k in results if "follow-up" not in k),
                         key=lambda k: -max(r[0] for r in results[k]))[:2]
    waits = []
    for run in range(5):
        fresh = messages(bot, random.Random(1000 + run), length)
        waits.append(ordinary_under_load(bot, [fresh[k] for k in heavy_kinds]))
    body = (f"Each kind {args.runs} times with new text, {length} characters (the longest "
            f"accepted, `FAQBOT_MAX_MESSAGE_CHARS`); CPU of the whole process (all threads) "
            f"per `Bot.ask`, warm bot, seed corpus. Bounds in `bot/limits.py`.\n\n"
            "| message | CPU ms, worst | CPU ms, median | wall ms of the worst | reply |\n"
            "|---|---:|---:|---:|---|\n" + "\n".join(rows) +
            f"\n\nWorst CPU per message: **{worst:.1f} ms** (target ≤ {TARGET_MS:.0f} ms: "
            f"{'met' if worst <= TARGET_MS else 'NOT met'}). Before the bounds, 1,000 random "
            f"Chinese characters took 9.6-14.7 s.\n\nAn ordinary question asked while two "
            f"of the most expensive messages ({' and '.join(heavy_kinds)}) are being "
            f"answered, in one process: wall {min(waits):.0f}-{max(waits):.0f} ms over "
            f"{len(waits)} tries (was 11 s).")
    report("cost", body, args.no_write)


if __name__ == "__main__":
    main()
