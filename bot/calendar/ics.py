"""Calendar export (RFC 5545) so members can put the CPPCC's events in their phone calendars.

Built with the ``icalendar`` package: text escaping, line folding at 75 octets and the
VTIMEZONE for the local zone are done by the library. Timed events carry TZID (Asia/Shanghai
by default) with a matching VTIMEZONE; all-day events are DATE values. UIDs are stable
(the event id and the instance's name), SEQUENCE counts changes, and a cancelled event is
exported with STATUS:CANCELLED so calendars that imported it earlier drop it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar

from bot.calendar.events import audience_label, ends_at, quarter_label, starts_at
from bot.storage.calendar import EventRow

PRODID = "-//cppcc-bot//政协履职助手//ZH"
UID_DOMAIN = "cppcc-bot"


def event_uid(event: EventRow) -> str:
    return f"event-{event.id}@{UID_DOMAIN}"


def _description(event: EventRow) -> str:
    lines = [f"类型：{event.kind}", f"对象：{audience_label(event.audience)}"]
    if event.quarter:
        lines.append(f"计入：{quarter_label(event.quarter)}重要协商活动")
    if event.notes:
        lines.append(f"备注：{event.notes}")
    return "\n".join(lines)


def _component(event: EventRow, tz: ZoneInfo, stamp: datetime) -> icalendar.Event:
    item = icalendar.Event()
    item.add("uid", event_uid(event))
    item.add("dtstamp", stamp.astimezone(ZoneInfo("UTC")))
    item.add("created", datetime.fromisoformat(event.created_at).astimezone(ZoneInfo("UTC")))
    item.add("last-modified", datetime.fromisoformat(event.updated_at).astimezone(ZoneInfo("UTC")))
    item.add("sequence", event.sequence)
    item.add("summary", f"【{event.kind}】{event.title}")
    if event.start_time is None and event.end_time is None:
        item.add("dtstart", event.start_date)
        item.add("dtend", (event.end_date or event.start_date) + timedelta(days=1))  # DTEND is exclusive
    else:
        item.add("dtstart", starts_at(event, tz))
        item.add("dtend", ends_at(event, tz))
    if event.place:
        item.add("location", event.place)
    item.add("description", _description(event))
    item.add("categories", [event.kind])
    item.add("status", "CANCELLED" if event.status == "cancelled" else "CONFIRMED")
    item.add("transp", "OPAQUE")
    return item


def calendar_bytes(events: Iterable[EventRow], tz: ZoneInfo, now: datetime, name: str = "政协履职日程") -> bytes:
    """An .ics file with the given events (cancelled ones marked CANCELLED)."""
    events = list(events)
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", tz.key)
    for event in events:
        cal.add_component(_component(event, tz, now))
    days = [e.start_date for e in events] + [now.date()]
    cal.add_missing_timezones(first_date=date(min(days).year - 1, 1, 1), last_date=date(max(days).year + 2, 1, 1))
    return cal.to_ical()
