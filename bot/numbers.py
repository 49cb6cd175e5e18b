"""Numbers typed by people: the one parser for every number argument (ids, task numbers, indexes).

Accepted: ASCII digits and full-width digits (１２), optionally surrounded by spaces. Refused:
everything else, including characters that ``str.isdigit()`` or ``re``'s ``\\d`` accept (superscripts
such as ², circled ①, Arabic-Indic ٣ and other scripts' digits), signs, spaces or separators inside,
and values outside the range asked for — by default SQLite's 64-bit integers, so an id never
overflows on its way into the database. Refusals are :class:`NumberError` with a Chinese message that
ends with the command's usage.
"""

from __future__ import annotations

import re
import unicodedata

from bot.errors import UserError

SQLITE_MAX = 2**63 - 1  # the largest INTEGER SQLite stores
SHOWN = 24  # characters of the user's input quoted back in a message

_FULL_WIDTH = str.maketrans("０１２３４５６７８９", "0123456789")
_ASCII_DIGITS = re.compile(r"[0-9]+")  # not \d: that matches every script's digits


class NumberError(UserError, ValueError):
    """A number argument was refused; ``message`` (Chinese) says why and how to write it."""


def shown(text: str) -> str:
    """User input as quoted back in a message: stripped, and cut short when long."""
    text = text.strip()
    return text if len(text) <= SHOWN else text[:SHOWN] + "…"


def digits_of(text: str) -> str | None:
    """The ASCII digits of ``text`` when it is a run of ASCII or full-width digits (spaces around
    allowed), else None. Leading zeros are kept; the value is not checked."""
    raw = text.strip().translate(_FULL_WIDTH)
    return raw if _ASCII_DIGITS.fullmatch(raw) else None


def _value(digits: str, low: int, high: int) -> int | None:
    """The value of a digit string when ``low <= value <= high``; never converts a huge string."""
    significant = digits.lstrip("0") or "0"
    if len(significant) > len(str(high)):
        return None
    value = int(significant)
    return value if low <= value <= high else None


def read_number(text: str | None, *, low: int = 1, high: int = SQLITE_MAX) -> int | None:
    """The number in ``text`` if it is one (see the module docstring) within ``low``–``high``, else None.

    For input that is refused silently or by a message of its own, such as callback data."""
    digits = digits_of(text or "")
    return None if digits is None else _value(digits, low, high)


def parse_number(text: str, *, usage: str = "", what: str = "编号", low: int = 1, high: int = SQLITE_MAX) -> int:
    """The number in ``text``, or NumberError saying what is wrong with it, followed by ``usage``."""
    digits = digits_of(text)
    value = None if digits is None else _value(digits, low, high)
    if value is not None:
        return value
    if digits is None:
        problem = f"“{shown(text)}”不是有效的{what}：{what}只能用数字 0–9 书写。"
    else:
        problem = f"{what}“{shown(text)}”超出范围，应在 {low} 到 {high} 之间。"
    raise NumberError(f"{problem}\n{usage}" if usage else problem)


def looks_numeric(text: str) -> bool:
    """True when ``text`` is made of digits of any kind (², ٣, １ …) and nothing else: meant as a
    number, even if not one :func:`parse_number` accepts."""
    text = text.strip()
    return bool(text) and all(unicodedata.category(ch) in ("Nd", "No") for ch in text)


def has_foreign_digits(text: str) -> bool:
    """True when ``text`` holds a digit that is neither ASCII nor full-width (², ①, ٣ …): text that
    must not be read as a number even after NFKC, which turns ² into 2."""
    return any(unicodedata.category(ch) in ("Nd", "No") and digits_of(ch) is None for ch in text)
