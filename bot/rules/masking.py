"""Masking of personal numbers in citizen text shown on group cards.

Group chats hold many officers; a citizen's mobile, landline or ID-card number is shown in full only
to the item's holder and supervisors in a private chat (``/show N``).
"""

from __future__ import annotations

import re

# 18-digit resident ID (last may be X), checked before phones so its digits are not read as a phone.
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])([1-9]\d{5})(\d{8})(\d{3}[\dXx])(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[- ]?(\d{3,4})(\d{4})(?!\d)")


# every number above holds three digits, at most one separator, then four more digits
_CANDIDATE = re.compile(r"\d{3}[- ]?\d{4}")


def mask_personal_numbers(text: str) -> str:
    """Keep the first and last digits that help a reader tell numbers apart, hide the rest."""
    if not _CANDIDATE.search(text):  # most texts: nothing that could be a number to hide
        return text
    text = _ID_CARD.sub(lambda m: m.group(1)[:4] + "*" * 10 + m.group(3)[-4:], text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    text = _LANDLINE.sub(lambda m: f"{m.group(1)}-****{m.group(3)}", text)
    return text
