"""Mainland mobile numbers: normalisation, validation and masking."""

from __future__ import annotations

import re
import unicodedata

_NOISE = re.compile(r"[\s\-‐‑–—－()（）]")
_MOBILE = re.compile(r"1[3-9]\d{9}")


def normalize_phone(raw: str) -> str | None:
    """The 11-digit mobile number in ``raw``, or None if it is not a valid mainland mobile.

    Full-width digits, spaces, dashes and parentheses are ignored, and a +86 / 0086 / 86
    country prefix is removed.
    """
    digits = _NOISE.sub("", unicodedata.normalize("NFKC", raw or ""))
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix) :]
            break
    return digits if _MOBILE.fullmatch(digits) else None


def mask_phone(phone: str) -> str:
    """138****5678: enough to recognise, not enough to copy."""
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) == 11 else phone
