"""bot/dates.py: one parser for dates and times as people write them."""

from __future__ import annotations

from datetime import date, time

import pytest

from bot.calendar.events import parse_day, parse_time
from bot.dates import DateError, parse_when
from bot.people.records import valid_date

TODAY = date(2026, 12, 3)  # a Thursday


@pytest.mark.parametrize(
    ("text", "day", "clock"),
    [
        ("2027-03-05", date(2027, 3, 5), None),
        ("2027年3月5日", date(2027, 3, 5), None),
        ("３月５日", date(2027, 3, 5), None),  # passed this year: next year's
        ("三月五日", date(2027, 3, 5), None),
        ("3/5", date(2027, 3, 5), None),
        ("12月20号", date(2026, 12, 20), None),
        ("明天", date(2026, 12, 4), None),
        ("后天", date(2026, 12, 5), None),
        ("大后天", date(2026, 12, 6), None),
        ("下周三", date(2026, 12, 9), None),
        ("本周一", date(2026, 11, 30), None),
        ("星期六", date(2026, 12, 5), None),
        ("下下周日", date(2026, 12, 20), None),
        ("上午9点", None, time(9)),
        ("下午3点半", None, time(15, 30)),
        ("15:30", None, time(15, 30)),
        ("晚上八点", None, time(20)),
        ("中午12点", None, time(12)),
        ("明天上午九点", date(2026, 12, 4), time(9)),
        ("下周三 下午2点", date(2026, 12, 9), time(14)),
        ("2027年7月1日9:00", date(2027, 7, 1), time(9)),
    ],
)
def test_what_people_write(text, day, clock):
    when = parse_when(text, TODAY)
    assert (when.day, when.clock, when.guesses) == (day, clock, ())


@pytest.mark.parametrize(
    ("text", "day", "clock", "echo"),
    [
        ("3.5", date(2027, 3, 5), None, "“3.5”按3月5日理解"),
        ("3点", None, time(15), "“3点”按下午3:00理解"),
        ("周四", TODAY, None, "按今天（2026年12月3日（星期四））理解"),
    ],
)
def test_guesses_are_echoed_back(text, day, clock, echo):
    when = parse_when(text, TODAY)
    assert (when.day, when.clock) == (day, clock) and echo in when.note()


def test_the_reading_is_described_for_confirmation():
    assert parse_when("下周三 下午3点半", TODAY).describe() == "2026年12月9日（星期三） 下午3:30"


def test_a_record_date_without_a_year_is_the_last_one_passed():
    assert parse_when("12月20日", TODAY, future=False).day == date(2025, 12, 20)
    assert valid_date("3月5日", TODAY) == date(2026, 3, 5)
    assert valid_date("昨天", TODAY) == date(2026, 12, 2)
    assert valid_date("上周三", TODAY) == date(2026, 11, 25)


def test_events_take_the_same_forms():
    assert parse_day("下周三", today=TODAY) == date(2026, 12, 9)
    assert parse_day("3.5", today=TODAY) == date(2027, 3, 5)
    assert parse_time("下午3点半") == time(15, 30) and parse_time("14点30") == time(14, 30)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "unknown"),
        ("尽快", "unknown"),
        ("2027-02-30", "no_such_date"),
        ("2月30日", "no_such_date"),
        ("25:00", "bad_time"),
        ("明天 ²:00", "foreign"),
        ("٣月5日", "foreign"),
    ],
)
def test_what_is_not_a_date(text, reason):
    with pytest.raises(DateError) as refused:
        parse_when(text, TODAY)
    assert refused.value.reason == reason and refused.value.message
