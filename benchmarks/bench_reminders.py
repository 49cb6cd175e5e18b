"""Reminder engine cost on a county-sized database.

Run: python benchmarks/bench_reminders.py [--members 300] [--events 60] [--proposals 150]

Builds a temporary database: members (5 in 6 bound to Telegram), one contact per unit of
the plan, events spread over a year, assigned proposals (a third overdue), then times

* the scheduler's per-minute pass when nothing is due (window of one minute),
* the wake-up planning query (next reminder within two days), also run every minute,
* `reminders preview` for a whole year (every rule, every person),
* the catch-up pass after a week of downtime (decisions recorded, outbox rows written).

Targets: the per-minute work well under 100 ms, a year's preview in seconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.calendar.events import EVENT_KINDS, add_event  # noqa: E402
from bot.calendar.reminders import deliver_due, due_reminders, next_due, preview, rules_for  # noqa: E402
from bot.people.records import add_record, assign_proposal  # noqa: E402
from bot.people.roles import CLI_CALLER  # noqa: E402
from bot.people.roster import import_members, import_unit_contacts  # noqa: E402
from bot.plan.model import default_plan  # noqa: E402
from bot.storage import Storage  # noqa: E402

ADMINS = frozenset({900001, 900002})


def build(storage: Storage, members: int, events: int, proposals: int, now: datetime) -> None:
    sectors = ["经济界", "农业界", "教育界", "医卫界", "科技界", "社会福利界"]
    committees = ["提案委", "经济委", "文史委", "社法委"]
    towns = ["习岗镇", "立岗镇", "洪广镇", "金贵镇", "暖泉农场"]
    rows = ["姓名,手机号,界别,专委会,乡镇街道,党派,是否常委"]
    for i in range(members):
        rows.append(
            f"委员{i:03d},139{i:08d},{sectors[i % 6]},{committees[i % 4]},{towns[i % 5]},,"
            + ("是" if i % 7 == 0 else "否")
        )
    import_members(storage, CLI_CALLER, "\n".join(rows).encode(), now=now)
    units = list(default_plan().catalogue.units.values())
    contacts = ["单位,姓名,手机号"] + [f"{u.short},联络员{i:02d},137{i:08d}" for i, u in enumerate(units)]
    import_unit_contacts(storage, CLI_CALLER, "\n".join(contacts).encode(), now=now)
    for member in storage.people("member"):
        if member.id % 6:
            storage.bind(100000 + member.id, "member", member.id, "code", now)
    for contact in storage.people("unit_contact"):
        storage.bind(200000 + contact.id, "unit_contact", contact.id, "code", now)
    audiences = ["全体委员", "常委", "专委会:经济委", "专委会:提案委", "习岗镇", "财政局"]
    for i in range(events):
        day = now.date() + timedelta(days=1 + i * 365 // events)
        kind = EVENT_KINDS[i % len(EVENT_KINDS)]
        add_event(
            storage,
            CLI_CALLER,
            kind=kind,
            title=f"{kind}{i}",
            date=day,
            time="14:30",
            audience=audiences[i % 6],
            now=now,
        )
    for i in range(proposals):
        member_id = 1 + i % members
        record = add_record(
            storage, CLI_CALLER, "提案", f"提案{i}", now.date() - timedelta(days=120), member_id, now=now
        )
        on = now.date() - timedelta(days=100 if i % 3 == 0 else 10)
        assign_proposal(storage, CLI_CALLER, record.id, [units[i % len(units)].short], on, now=now)


def timed(function, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--events", type=int, default=60)
    parser.add_argument("--proposals", type=int, default=150)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Storage(Path(tmp) / "bench.db") as storage:
        now = datetime(2027, 1, 4, 10, 0, tzinfo=storage.tz)
        started = time.perf_counter()
        build(storage, args.members, args.events, args.proposals, now)
        print(
            f"database: {args.members} members, {len(storage.people('unit_contact'))} unit contacts, "
            f"{args.events} events, {args.proposals} proposals (built in {time.perf_counter() - started:.1f} s)"
        )
        rules = rules_for(storage)
        minute = now + timedelta(days=30)
        quiet = timed(
            lambda: due_reminders(storage, rules, minute, minute + timedelta(minutes=1), minute, admin_ids=ADMINS), 20
        )
        print(f"per-minute pass, nothing due:         {quiet:8.1f} ms (median of 20)")
        wake = timed(lambda: next_due(storage, rules, minute, admin_ids=ADMINS), 10)
        print(f"next wake-up (2-day horizon):         {wake:8.1f} ms (median of 10)")
        start = time.perf_counter()
        messages, skipped = preview(storage, rules, date(2027, 1, 1), date(2027, 12, 31), admin_ids=ADMINS)
        year = time.perf_counter() - start
        reminders = sum(len(m.reminders) for m in messages)
        print(
            f"preview of a year:                    {year * 1000:8.0f} ms ({len(messages)} messages, "
            f"{reminders} reminders, {len(skipped)} undeliverable)"
        )
        storage.set_reminder_state("last_pass", (now + timedelta(days=60)).isoformat())
        start = time.perf_counter()
        result = deliver_due(storage, rules, now + timedelta(days=67), admin_ids=ADMINS)
        catch_up = time.perf_counter() - start
        print(
            f"catch-up pass after a week down:      {catch_up * 1000:8.0f} ms ({len(result.sent)} messages queued, "
            f"{len(result.skipped)} skips recorded)"
        )


if __name__ == "__main__":
    main()
