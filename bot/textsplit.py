"""Splitting long replies into messages that fit Telegram's limit."""

from __future__ import annotations

from collections.abc import Callable

TELEGRAM_LIMIT = 4096  # UTF-16 code units per message
_SEPARATORS = ("\n\n", "\n")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_message(
    text: str,
    limit: int = TELEGRAM_LIMIT,
    measure: Callable[[str], int] = utf16_len,
    _level: int = 0,
) -> list[str]:
    """Split at paragraph boundaries, then line breaks, then characters, so each part measures ≤ limit.

    ``measure`` is how the transport counts a part, e.g. the UTF-16 length of
    its HTML-escaped form.
    """
    if measure(text) <= limit:
        return [text] if text.strip() else []
    if _level >= len(_SEPARATORS):
        cut = _longest_prefix(text, limit, measure)
        return [text[:cut], *split_message(text[cut:], limit, measure, _level)]
    separator = _SEPARATORS[_level]
    parts: list[str] = []
    current = ""
    for chunk in text.split(separator):
        candidate = f"{current}{separator}{chunk}" if current else chunk
        if measure(candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        if measure(chunk) <= limit:
            current = chunk
        else:
            parts.extend(split_message(chunk, limit, measure, _level + 1))
            current = ""
    if current:
        parts.append(current)
    return [p for p in parts if p.strip()]


def _longest_prefix(text: str, limit: int, measure: Callable[[str], int]) -> int:
    low, high = 1, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if measure(text[:mid]) <= limit:
            low = mid
        else:
            high = mid - 1
    return low
