"""Meetings that count: 300 members, 100 events over a year.

Run: python benchmarks/bench_meetings.py [--members 300] [--events 100] [--rate 50]

1. Core timings (one process, no Telegram): each state change — 参加/请假 (``replies.reply``),
   签到 (``signin.sign_in``) — for every member on one event (target < 5 ms each); closing an
   event with every member signed in (attendance → duty records, target < 100 ms); the duty
   statistics of the year after all events closed (``/progress``, target < 200 ms).
2. Through the real Application and the fake Bot API enforcing Telegram's limits (30/s overall,
   1/s per chat): the event's meeting notice to everyone, then every member presses 参加 at
   ``--rate`` per second, then (the meeting about to start) presses 签到 at the same rate.
   Reported: presses answered, 429s (target 0), time from first press to last answer.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

from bot.calendar.attendance import close_event  # noqa: E402
from bot.calendar.events import add_event  # noqa: E402
from bot.calendar.invitations import send_with_notice  # noqa: E402
from bot.calendar.replies import reply  # noqa: E402
from bot.calendar.signin import sign_in  # noqa: E402
from bot.people.roles import CLI_CALLER  # noqa: E402
from bot.people.statistics import duty_statistics, format_statistics  # noqa: E402
from bot.storage import Storage  # noqa: E402
from handlers.app import build_application  # noqa: E402
from handlers.calendar import MEETINGS_KEY  # noqa: E402
from tests.conftest import make_settings, running  # noqa: E402
from tests.fakeapi import FakeTelegramServer  # noqa: E402

FIRST_CHAT = 1_000_000


def roster(storage: Storage, count: int) -> list[int]:
    now = storage.now()
    with storage.atomic():
        for i in range(count):
            person = storage.insert_person("member", {"name": f"委员{i:04d}", "phone": f"138{i:08d}"}, now)
            storage.bind(FIRST_CHAT + i, "member", person, "code", now)
    return [FIRST_CHAT + i for i in range(count)]


def year_of_events(storage: Storage, count: int, year: int) -> list:
    kinds = ("协商活动", "视察调研", "常委会会议", "培训", "全体会议")
    before = datetime(year - 1, 12, 1, tzinfo=storage.tz)
    events = []
    for i in range(count):
        day = datetime(year, 1, 3, tzinfo=storage.tz) + timedelta(days=i * 360 // count)
        fields = {"kind": kinds[i % len(kinds)], "title": f"第{i + 1}次活动", "audience": "全体委员"}
        events.append(add_event(storage, CLI_CALLER, date=day.date(), time="09:00-11:00", now=before, **fields))
    return events


def ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered):.2f} ms, p99 {p99:.2f} ms, max {ordered[-1]:.2f} ms"


def core(members: int, events: int) -> None:
    year = 2027
    with tempfile.TemporaryDirectory() as tmp, Storage(Path(tmp) / "cppcc.db") as storage:
        chats = roster(storage, members)
        schedule = year_of_events(storage, events, year)
        rng = random.Random(7)
        replies, signins, closes = [], [], []
        for event in schedule:
            start = datetime.combine(event.start_date, datetime.min.time(), storage.tz).replace(hour=9)
            before = start - timedelta(days=1)
            for chat in chats:
                began = time.perf_counter()
                reply(storage, f"e{event.id}", chat, "leave" if rng.random() < 0.1 else "attend", now=before)
                replies.append((time.perf_counter() - began) * 1000)
            present = chats if event is schedule[0] else [c for c in chats if rng.random() < 0.8]
            for chat in present:
                began = time.perf_counter()
                sign_in(storage, event.id, chat, now=start)
                signins.append((time.perf_counter() - began) * 1000)
            began = time.perf_counter()
            closed = close_event(storage, storage.event(event.id), now=start + timedelta(hours=3))
            closes.append(((time.perf_counter() - began) * 1000, closed.records))
            if event is schedule[2]:
                break  # three events timed in full; the rest are filled in bulk below
        fill(storage, schedule[3:], chats, rng)
        print(f"state change 参加/请假 ({len(replies)}): {ms(replies)} (target < 5 ms)")
        print(f"state change 签到 ({len(signins)}): {ms(signins)} (target < 5 ms)")
        print(f"end-of-event conversion of {closes[0][1]} attendees: {closes[0][0]:.1f} ms (target < 100 ms)")
        runs = []
        for _ in range(5):
            began = time.perf_counter()
            stats = duty_statistics(storage, year, today=datetime(year, 12, 31).date())
            format_statistics(stats)
            runs.append((time.perf_counter() - began) * 1000)
        total = sum(sum(row.counts.values()) for row in stats.rows)
        print(
            f"/progress for {year} ({len(stats.rows)} members, {total} records, {events} events): "
            f"median {statistics.median(runs):.1f} ms (target < 200 ms)"
        )


def fill(storage: Storage, events: list, chats: list[int], rng: random.Random) -> None:
    """The other events of the year: 80 % signed in, then closed (not timed)."""
    with storage.atomic():
        for event in events:
            start = datetime.combine(event.start_date, datetime.min.time(), storage.tz).replace(hour=9)
            for number, chat in enumerate(chats, start=1):
                if rng.random() < 0.8:
                    storage.sign_in(
                        {
                            "event_id": event.id,
                            "recipient_key": f"member:{number}",
                            "name": f"委员{number - 1:04d}",
                            "member_id": number,
                            "signed_at": start.isoformat(),
                            "method": "button",
                            "marked_by": str(chat),
                        }
                    )
            close_event(storage, storage.event(event.id), now=start + timedelta(hours=3))


async def through_telegram(members: int, rate: float) -> None:
    with tempfile.TemporaryDirectory() as tmp, FakeTelegramServer(bot_username="cppcc_helper_bot") as tg:
        db = Path(tmp) / "cppcc.db"
        with Storage(db) as storage:
            chats = roster(storage, members)
            now = storage.now()
            day = (now + timedelta(days=2)).date()
            event = add_event(
                storage,
                CLI_CALLER,
                kind="协商活动",
                title="专题协商会",
                date=day,
                time="09:00-11:00",
                audience="全体委员",
                now=now,
            )
            send_with_notice(storage, CLI_CALLER, event.id, now=now)
        tg.enforce_limits(global_per_sec=30, per_chat_per_sec=1)
        settings = make_settings(tg, db, per_chat_interval=1.05, send_rate=28.0, flood_limit=1000)
        app = build_application(settings)
        async with running(app):
            await tg.wait_for(lambda: all(tg.sent_messages(c) for c in chats), timeout=members / 20 + 30)
            notices = {c: tg.sent_messages(c)[0] for c in chats}
            answered, seconds = await presses(tg, chats, rate, lambda c: (notices[c].callback_data("参加"), notices[c]))
            print(f"参加 at {rate:.0f}/s: {answered}/{members} answered in {seconds:.1f} s, 429s: {tg.stats['429']}")
            with Storage(db) as storage:
                soon = storage.now() + timedelta(minutes=10)
                storage.update_event(event.id, {"start_date": soon.date(), "start_time": soon.strftime("%H:%M")})
                storage.update_event(
                    event.id, {"end_date": None, "end_time": (soon + timedelta(hours=1)).strftime("%H:%M")}
                )
            app.bot_data[MEETINGS_KEY].run_pass()

            def signin_message(chat):
                found = [m for m in tg.sent_messages(chat) if "签到" in m.button_texts]
                return found[-1] if found else None

            await tg.wait_for(lambda: all(signin_message(c) for c in chats), timeout=members / 20 + 30)
            prompt = {c: signin_message(c) for c in chats}
            before = tg.stats["429"]
            answered, seconds = await presses(tg, chats, rate, lambda c: (prompt[c].callback_data("签到"), prompt[c]))
            with Storage(db) as storage:
                signed = len(storage.attendance(event.id))
            print(
                f"签到 at {rate:.0f}/s: {answered}/{members} answered in {seconds:.1f} s, {signed} signed in, "
                f"429s: {tg.stats['429'] - before}"
            )


async def presses(tg, chats: list[int], rate: float, button) -> tuple[int, float]:
    """Inject one press per chat at ``rate`` per second; wait for every answerCallbackQuery."""
    mark = tg.mark()
    began = time.perf_counter()
    for i, chat in enumerate(chats):
        data, message = button(chat)
        tg.inject_callback(chat, data, message)
        await asyncio.sleep(max(0.0, began + (i + 1) / rate - time.perf_counter()))
    done = await tg.wait_for(lambda: len(tg.requests("answerCallbackQuery", since=mark)) >= len(chats), timeout=120)
    return len(tg.requests("answerCallbackQuery", since=mark)), time.perf_counter() - began if done else -1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--rate", type=float, default=50.0)
    args = parser.parse_args()
    core(args.members, args.events)
    asyncio.run(through_telegram(args.members, args.rate))


if __name__ == "__main__":
    main()
