"""Personal data visitors type into questions (phone numbers, Chinese ID-card numbers,
e-mail addresses) is masked before anything is stored. Pure functions."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# 18-digit ID (last may be X) and the old 15-digit form; checked before phone numbers,
# which they contain.
_ID_CARD = re.compile(r"(?<![0-9])(?:[1-9][0-9]{16}[0-9Xx]|[1-9][0-9]{14})(?![0-9A-Za-z])")
_PHONE = re.compile(
    r"(?<![0-9])(?:"
    r"(?:\+|00)?86[ -]?1[3-9][0-9](?:[ -]?[0-9]{4}){2}"  # +86 mobile
    r"|1[3-9][0-9](?:[ -]?[0-9]{4}){2}"  # mobile, also 138 1234 5678
    r"|0[0-9]{2,3}[ -]?[0-9]{7,8}"  # landline with area code
    r"|\+[0-9][0-9 ()-]{7,18}[0-9]"  # international
    r")(?![0-9])")


def mask_personal_data(text: str) -> str:
    text = _EMAIL.sub("[email]", text)
    text = _ID_CARD.sub("[id]", text)
    return _PHONE.sub("[phone]", text)
