"""Dates as people write them, and calendar-month arithmetic."""

from __future__ import annotations

import calendar
import re
import unicodedata
from datetime import date

from bot.numbers import has_foreign_digits

_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")


def parse_date(text: str) -> date | None:
    """2024-03-05, 2024/3/5, 2024.3.5, 2024年3月5日 or 20240305 (ASCII or full-width digits); None if
    not a real date."""
    if has_foreign_digits(text or ""):  # NFKC would read ² as 2
        return None
    text = unicodedata.normalize("NFKC", text or "").strip()
    match = _DATE.fullmatch(text) or _COMPACT.fullmatch(text)
    if not match:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def add_months(day: date, months: int) -> date:
    """``day`` plus whole calendar months, clamped to the month's end (Nov 30 + 3 → Feb 28/29)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
