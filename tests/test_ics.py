"""The .ics export: parses back, local times with TZID and VTIMEZONE, stable UIDs, escaping, folding, cancellations."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import icalendar
import pytest

from bot.calendar.events import cancel_event, change_event
from bot.calendar.ics import calendar_bytes, event_uid
from bot.people.roles import CLI_CALLER
from bot.storage import Storage
from tests.test_calendar import NOW, TZ, meeting, seed


@pytest.fixture
def storage(tmp_path):
    with Storage(tmp_path / "cppcc.db", TZ) as store:
        yield seed(store)


def _events(data: bytes) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(data)
    return {str(e["uid"]): e for e in calendar.walk("VEVENT")}


def test_timed_event_has_local_time_with_vtimezone(storage):
    event = meeting(storage, notes="请带身份证；材料见附件,谢谢\n第二行")
    data = calendar_bytes([event], TZ, NOW)
    text = data.decode()
    assert "DTSTART;TZID=Asia/Shanghai:20270310T143000" in text
    assert "DTEND;TZID=Asia/Shanghai:20270310T163000" in text
    calendar = icalendar.Calendar.from_ical(data)
    (zone,) = calendar.walk("VTIMEZONE")
    assert str(zone["tzid"]) == "Asia/Shanghai"
    parsed = _events(data)[event_uid(event)]
    assert parsed.decoded("dtstart") == datetime(2027, 3, 10, 14, 30, tzinfo=TZ)
    assert parsed.decoded("dtstart").utcoffset() == timedelta(hours=8)
    assert str(parsed["summary"]) == "【协商活动】优化营商环境专题协商会"
    assert str(parsed["location"]) == "县政协三楼会议室"
    assert "请带身份证；材料见附件,谢谢\n第二行" in str(parsed["description"])
    assert "\\,谢谢\\n第二行" in text  # RFC 5545 escaping of comma and line break
    assert str(parsed["status"]) == "CONFIRMED" and int(parsed["sequence"]) == 0


def test_lines_are_folded_at_75_octets(storage):
    event = meeting(storage, title="关于进一步优化营商环境、促进民营经济高质量发展的专题协商会议" * 2)
    data = calendar_bytes([event], TZ, NOW)
    lines = data.split(b"\r\n")
    assert all(len(line) <= 75 for line in lines)
    assert any(line.startswith(b" ") for line in lines)
    assert str(_events(data)[event_uid(event)]["summary"]).endswith("专题协商会议")


def test_all_day_event_is_a_date_with_exclusive_end(storage):
    deadline = meeting(storage, kind="提案截止", title="年度提案截止", time=None, date="2027-02-28")
    trip = meeting(storage, kind="视察调研", time=None, date="2028-02-28", end_date="2028-02-29")
    parsed = _events(calendar_bytes([deadline, trip], TZ, NOW))
    assert parsed[event_uid(deadline)].decoded("dtstart") == date(2027, 2, 28)
    assert parsed[event_uid(deadline)].decoded("dtend") == date(2027, 3, 1)
    assert parsed[event_uid(trip)].decoded("dtend") == date(2028, 3, 1)  # leap year


def test_uid_is_stable_and_changes_raise_sequence(storage):
    event = meeting(storage)
    first = _events(calendar_bytes([event], TZ, NOW))
    moved = change_event(storage, CLI_CALLER, event.id, date="2027-03-17", now=NOW)
    second = _events(calendar_bytes([moved], TZ, NOW + timedelta(days=1)))
    assert set(first) == set(second) == {f"event-{event.id}@cppcc-bot"}
    assert int(second[event_uid(moved)]["sequence"]) == 1
    assert second[event_uid(moved)].decoded("dtstart").date() == date(2027, 3, 17)


def test_cancelled_event_is_marked_cancelled(storage):
    event = meeting(storage)
    cancelled = cancel_event(storage, CLI_CALLER, event.id, now=NOW)
    parsed = _events(calendar_bytes([cancelled], TZ, NOW))[event_uid(event)]
    assert str(parsed["status"]) == "CANCELLED" and int(parsed["sequence"]) == 1


@pytest.mark.parametrize("count", [0, 3])
def test_calendar_envelope(storage, count):
    events = [meeting(storage, date=f"2027-03-1{i}") for i in range(count)]
    calendar = icalendar.Calendar.from_ical(calendar_bytes(events, TZ, NOW))
    assert str(calendar["version"]) == "2.0" and "cppcc-bot" in str(calendar["prodid"])
    assert str(calendar["x-wr-timezone"]) == "Asia/Shanghai"
    assert len(calendar.walk("VEVENT")) == count
