"""Bounds on the work one message can cause, whatever its text.

A visitor's message is at most `Settings.max_message_chars` long, but its cost must not
grow with what it holds: 1,000 random Chinese characters once took 10-15 s of CPU, because
the encoder read all of them (its cost grows with the square of the tokens) and every
character pair became a search term. Real questions are far inside these bounds (the
longest of the 300 evaluation questions is 27 tokens), so they change no answer; the
worst case is measured in docs/benchmarks.md (section "cost"). What stays linear in the
message (the red-flag patterns, cutting it into words) grows with
FAQBOT_MAX_MESSAGE_CHARS, measured at its default of 1,000.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    query_tokens: int = 64  # tokens of the question the first encoding reads (rest cut)
    second_tokens: int = 32  # of the second: the translated terms, or a follow-up's message
    terms: int = 24  # question terms scored (the rarest kept)
    translated_terms: int = 16  # terms whose translations are looked up and searched
    keyword_chars: int = 400  # characters of a question cut into BM25 tokens
    keyword_tokens: int = 96  # distinct BM25 query tokens


LIMITS = Limits()
