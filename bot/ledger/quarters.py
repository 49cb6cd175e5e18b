"""Quarters (2027Q1), the ledger's reporting period; local dates and times; and the ledger's error
type, raised by every ledger module."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.errors import UserError
from bot.numbers import has_foreign_digits
from bot.storage import Storage

CN_NUMERALS = "〇一二三四五六七八九十"


class LedgerError(UserError, ValueError):
    """A ledger request was refused; ``message`` is Simplified Chinese for the user."""


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int  # 1–4

    @classmethod
    def of(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def code(self) -> str:
        """e.g. 2027Q1 (how the quarter is stored and typed on the command line)."""
        return f"{self.year}Q{self.number}"

    @property
    def label(self) -> str:
        """e.g. 2027年第一季度"""
        return f"{self.year}年第{CN_NUMERALS[self.number]}季度"

    @property
    def start(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def end(self) -> date:
        """The first day after the quarter."""
        return self.next().start

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def day_of_last_month(self, day: int) -> date:
        """e.g. day_of_last_month(20) → the 20th of March for Q1 (the reminder day)."""
        return date(self.year, 3 * self.number, day)

    def next(self) -> Quarter:
        return Quarter(self.year + 1, 1) if self.number == 4 else Quarter(self.year, self.number + 1)

    def previous(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)

    def __contains__(self, day: date) -> bool:
        return self.start <= day < self.end

    def __str__(self) -> str:
        return self.code


_QUARTER_RE = re.compile(r"(\d{4})\s*(?:年)?\s*[-/.]?\s*(?:q|第)?\s*([1-4一二三四])\s*(?:季度?)?", re.IGNORECASE)


def parse_quarter(text: str) -> Quarter:
    """2027Q1, 2027q1, 2027-Q1, 2027年第一季度, 2027年1季度 → Quarter; LedgerError otherwise."""
    cleaned = unicodedata.normalize("NFKC", text or "").strip()
    match = None if has_foreign_digits(text or "") else _QUARTER_RE.fullmatch(cleaned)
    year = int(match.group(1)) if match else 0
    if not match or not 2000 <= year <= 2100:
        raise LedgerError(f"无法识别的季度“{text}”：请写成 2027Q1 这样的形式（年份加 Q1–Q4）。")
    number = match.group(2)
    return Quarter(year, int(number) if number.isdigit() else CN_NUMERALS.index(number))


def as_quarter(value: Quarter | str) -> Quarter:
    return value if isinstance(value, Quarter) else parse_quarter(value)


def current_quarter(storage: Storage, now: datetime | None = None) -> Quarter:
    return Quarter.of(local_date(now or storage.now(), storage.tz))


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def when(moment: datetime, tz: ZoneInfo) -> str:
    """e.g. 2027-03-10 14:05 in the local time zone."""
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


# ---- the plan's responsibilities -----------------------------------------------------------
