"""Dates and times as people write them, and calendar-month arithmetic.

One parser for /event, /record, 定时发送 and the command line (:func:`parse_when`):

* dates: 2027-03-05, 2027/3/5, 2027.3.5, 2027年3月5日, 20270305; 3月5日 (三月五日, 3月5号), 3/5, 3-5,
  and 3.5 (read as 3月5日, a guess that is echoed back); 今天, 明天, 后天, 大后天, 昨天, 前天;
  周三 / 星期三 / 礼拜三 (the next one, today included), 本周三 / 这周三, 下周三, 下下周三, 上周三;
* times: 15:30 (or 15：30), 9点, 9点半, 3点15分, 九点, with 上午 / 中午 / 下午 / 傍晚 / 晚上; a bare
  1点–6点 is read as the afternoon (meetings are not held at 3 a.m.), also echoed back.

A month and day without a year is this year's, moved to the next year when ``future`` and it has
passed (a meeting date), or to the previous year when not ``future`` and it is still to come (a
record of something done). Only ASCII and full-width digits count: NFKC would read ² as 2.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, time, timedelta

from bot.errors import UserError
from bot.numbers import has_foreign_digits

_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
WEEKDAYS = "一二三四五六日"
_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_NUM = r"\d{1,2}|[零〇一二两三四五六七八九十]{1,3}"
_END = r"(?=\s|$|[上中下傍晚早凌0-9])"
_DAY_FORMS = (
    ("ymd", re.compile(r"(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*[日号]?")),
    ("ymd", re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?=\s|$)")),
    ("md", re.compile(rf"(?P<m>{_NUM})\s*月\s*(?P<d>{_NUM})\s*[日号]?")),
    ("rel", re.compile(r"(?P<rel>大后天|后天|明天|明日|今天|今日|昨天|昨日|前天)")),
    ("week", re.compile(r"(?P<which>下下|下|这|本|上)?(?:个)?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天1-7])")),
    ("md", re.compile(rf"(?P<m>\d{{1,2}})\s*[-/]\s*(?P<d>\d{{1,2}}){_END}")),
    ("dot", re.compile(rf"(?P<m>\d{{1,2}})\.(?P<d>\d{{1,2}}){_END}")),
)
_RELATIVE = {"大后天": 3, "后天": 2, "明天": 1, "明日": 1, "今天": 0, "今日": 0, "昨天": -1, "昨日": -1, "前天": -2}
_WEEK_SHIFT = {"下下": 14, "下": 7, "这": 0, "本": 0, "上": -7}
_CLOCK = re.compile(
    rf"(?P<part>凌晨|早上|早晨|上午|中午|下午|傍晚|晚上)?\s*(?:(?P<h>{_NUM})\s*[:：]\s*(?P<mm>\d{{2}})"
    rf"|(?P<h2>{_NUM})\s*[点时]\s*(?:(?P<half>半)|(?P<min>{_NUM})\s*分?)?)"
)
_AFTERNOON = ("下午", "傍晚", "晚上")


class DateError(UserError, ValueError):
    """Text that is not a date or time. ``reason``: "foreign" (digits other than 0–9), "unknown",
    "no_such_date" or "bad_time"; ``message`` is a Chinese sentence with an example."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class When:
    day: date | None  # None when the text names only a time
    clock: time | None  # None when the text names only a day
    guesses: tuple[str, ...] = ()  # readings that were guesses, to echo back for confirmation

    def describe(self) -> str:
        """2027年3月5日（星期五）上午9:00, as it should be echoed back."""
        parts = [describe_day(self.day)] if self.day else []
        if self.clock:
            parts.append(describe_clock(self.clock))
        return " ".join(parts)

    def note(self) -> str:
        """“3.5”按3月5日理解 …, or an empty string."""
        return "；".join(self.guesses)


def describe_day(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日（星期{WEEKDAYS[day.weekday()]}）"


def describe_clock(clock: time) -> str:
    """上午9:00, 中午12:30, 下午3:30, 晚上8:00."""
    hour = clock.hour
    part = "凌晨" if hour < 6 else "上午" if hour < 12 else "中午" if hour < 13 else "下午" if hour < 18 else "晚上"
    return f"{part}{hour if hour <= 12 else hour - 12}:{clock.minute:02d}"


def _number(text: str) -> int:
    if text.isdigit():
        return int(text)
    if text == "十":
        return 10
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)
    value = 0
    for ch in text:
        value = value * 10 + _CN_DIGITS[ch]
    return value


def _normalise(text: str) -> str:
    if has_foreign_digits(text or ""):
        raise DateError("foreign", f"“{text}”中有无法识别的数字，请用数字 0–9 书写")
    return unicodedata.normalize("NFKC", text or "").strip()


def _day(kind: str, groups: dict, source: str, today: date, future: bool | None) -> tuple[date, str | None]:
    if kind == "rel":
        return today + timedelta(days=_RELATIVE[groups["rel"]]), None
    if kind == "week":
        weekday = "一二三四五六日".find(groups["wd"]) if not groups["wd"].isdigit() else int(groups["wd"]) - 1
        weekday = 6 if groups["wd"] == "天" else weekday
        monday = today - timedelta(days=today.weekday())
        which = groups.get("which")
        if which:
            return monday + timedelta(days=_WEEK_SHIFT[which] + weekday), None
        ahead = (weekday - today.weekday()) % 7
        guess = f"“{source}”按今天（{describe_day(today)}）理解" if ahead == 0 else None
        return today + timedelta(days=ahead), guess
    try:
        month, day_of_month = _number(groups["m"]), _number(groups["d"])
        year = int(groups["y"]) if groups.get("y") else today.year
        found = date(year, month, day_of_month)
    except (KeyError, ValueError) as exc:
        raise DateError("no_such_date", f"“{source}”中的日期不存在，请核对年月日") from exc
    guess = f"“{groups['m']}.{groups['d']}”按{month}月{day_of_month}日理解" if kind == "dot" else None
    if not groups.get("y") and future is not None:
        shift = 1 if future and found < today else -1 if not future and found > today else 0
        if shift:
            try:
                found = found.replace(year=found.year + shift)
            except ValueError as exc:  # 2月29日
                raise DateError(
                    "no_such_date", f"“{source}”中的日期在{found.year + shift}年不存在，请写上年份"
                ) from exc
    return found, guess


def parse_clock(text: str) -> tuple[time, str | None] | None:
    """A time of day and a guess to echo back (or None); None when ``text`` is not a time."""
    match = _CLOCK.fullmatch(_normalise(text))
    if not match:
        return None
    part = match["part"]
    try:
        hour = _number(match["h"] or match["h2"])
        minute = (
            int(match["mm"]) if match["mm"] else 30 if match["half"] else _number(match["min"]) if match["min"] else 0
        )
    except KeyError:
        return None
    guess = None
    if (part in _AFTERNOON and hour < 12) or (part == "中午" and hour < 3):
        hour += 12
    elif part is None and match["h2"] and 1 <= hour <= 6:
        hour += 12
        guess = f"“{match.group(0).strip()}”按{{clock}}理解"
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise DateError("bad_time", f"“{text}”不是有效的时刻，请写成 14:30 或 下午2点半")
    clock = time(hour, minute)
    return clock, guess.format(clock=describe_clock(clock)) if guess else None


def parse_when(text: str, today: date, *, future: bool | None = True) -> When:
    """A day and/or a time of day from what people write (see the module docstring); DateError
    when the text is neither."""
    source = _normalise(text)
    if not source:
        raise DateError("unknown", "请写日期或时间，例如 3月5日、明天、下周三、下午3点半")
    day: date | None = None
    guesses: list[str] = []
    rest = source
    for kind, form in _DAY_FORMS:
        match = form.match(source)
        if match:
            day, guess = _day(kind, match.groupdict(), match.group(0).strip(), today, future)
            guesses += [guess] if guess else []
            rest = source[match.end() :].strip()
            break
    clock = None
    if rest:
        parsed = parse_clock(rest)
        if parsed is None:
            raise DateError("unknown", f"没有看懂“{source}”，例如：2027-03-05、3月5日、明天、下周三 上午9点、15:30")
        clock, guess = parsed
        guesses += [guess] if guess else []
    return When(day, clock, tuple(guesses))


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
