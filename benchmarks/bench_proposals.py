"""Proposals through the whole cycle: 300 members, 600 proposals, 30 units.

Run: python benchmarks/bench_proposals.py [--members 300] [--proposals 600] [--units 30]
Targets: each state change (one transaction: status, timeline, linked record, outbox rows,
audit) < 5 ms; the export of a year (xlsx and csv) < 1 s.

Every proposal is written (title, two body messages, one co-signer), submitted, agreed by its
co-signer, 立案, 交办 to a lead and a helper unit, signed, given a 协办意见, replied (with a
result), rated; one in five is rated 不满意, reopened and replied again, then rated 满意.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.people.roles import CLI_CALLER, resolve_caller  # noqa: E402
from bot.people.roster import import_members, import_unit_contacts  # noqa: E402
from bot.plan.model import default_plan  # noqa: E402
from bot.proposals import drafts, flow  # noqa: E402
from bot.proposals.config import default_config  # noqa: E402
from bot.proposals.desk import Desk  # noqa: E402
from bot.proposals.export import statistics as year_statistics  # noqa: E402
from bot.proposals.export import to_csv, to_xlsx  # noqa: E402
from bot.storage import Storage  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
SECRETARY = 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--proposals", type=int, default=600)
    parser.add_argument("--units", type=int, default=30)
    parser.add_argument("--keep", help="copy the database here at the end (to profile the export)")
    args = parser.parse_args()
    plan = default_plan()
    config = default_config()
    catalogue = plan.catalogue  # collective units (各乡镇) cannot be 主办 or 协办
    units = [u for u in catalogue.units.values() if not u.member_of and not catalogue.members(u.id)][: args.units]
    timings: dict[str, list[float]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        storage = Storage(Path(tmp) / "bench.db", TZ)
        now = datetime(2027, 3, 1, 9, 0, tzinfo=TZ)
        members = "".join(f"委员{i:03d},138{i:08d},界别{i % 30},,,,否\n" for i in range(args.members))
        import_members(storage, CLI_CALLER, ("姓名,手机号,界别,专委会,乡镇街道,党派,是否常委\n" + members).encode())
        contacts = "".join(f"{u.full},联络员{i},136{i:08d}\n" for i, u in enumerate(units))
        import_unit_contacts(storage, CLI_CALLER, ("单位,姓名,手机号\n" + contacts).encode())
        for index, member in enumerate(storage.people("member")):
            storage.bind(10_000 + index, "member", member.id, "code", now)
        for index, contact in enumerate(storage.people("unit_contact")):
            storage.bind(20_000 + index, "unit_contact", contact.id, "code", now)
        members_tg = [10_000 + i for i in range(args.members)]
        units_tg = {c.unit_id: 20_000 + i for i, c in enumerate(storage.people("unit_contact"))}
        callers: dict[int, object] = {}

        def who(telegram_id: int):
            if telegram_id not in callers:
                callers[telegram_id] = resolve_caller(storage, telegram_id, {SECRETARY})
            return callers[telegram_id]

        def desk() -> Desk:
            return Desk(storage, plan, config, frozenset({SECRETARY}), now)

        def act(name: str, user: int, call, *args) -> object:
            t0 = time.perf_counter()
            result = call(desk(), who(user), *args)
            timings[name].append((time.perf_counter() - t0) * 1000)
            if getattr(result, "refusal", False):
                raise SystemExit(f"{name} refused: {result.text}")
            return result

        t_all = time.perf_counter()
        for n in range(args.proposals):
            author = members_tg[n % args.members]
            cosigner = members_tg[(n + 1) % args.members]
            lead, helper = units[n % len(units)], units[(n + 7) % len(units)]
            reply = act("start draft", author, drafts.start, "proposal")
            pid = int(reply.buttons[0][0].data.split(":")[2])
            act("title", author, flow.on_text, f"关于第{n}项民生问题的建议")
            act("body message", author, flow.on_text, "一、现状。" * 40)
            act("body message", author, flow.on_text, "二、建议。" * 40)
            act("body done", author, flow.on_button, f"pp:bd:{pid}")
            name = storage.person("member", who(cosigner).member_id).name
            act("co-signer names", author, flow.on_text, name)
            act("preview", author, flow.on_button, f"pp:nc:{pid}")
            act("submit", author, flow.on_button, f"pp:sb:{pid}")
            act("co-sign", cosigner, flow.on_button, f"pp:ya:{pid}")
            act("立案", SECRETARY, flow.on_button, f"pp:la:{pid}")
            act("主办单位", SECRETARY, flow.on_button, f"pp:lu:{pid}:{lead.id}")
            act("协办单位", SECRETARY, flow.on_button, f"pp:hu:{pid}:{helper.id}")
            act("交办 preview", SECRETARY, flow.on_button, f"pp:hn:{pid}")
            act("交办", SECRETARY, flow.on_button, f"pp:as:{pid}")
            act("签收", units_tg[lead.id], flow.on_button, f"pp:sg:{pid}")
            act("协办意见 start", units_tg[helper.id], flow.on_button, f"pp:ho:{pid}")
            act("协办意见", units_tg[helper.id], flow.on_text, "同意主办单位意见。")
            rounds = 2 if n % 5 == 0 else 1
            for round_ in range(1, rounds + 1):
                unit = units_tg[lead.id]
                act("答复 start", unit, flow.on_button, f"pp:ra:{pid}")
                act("答复 text", unit, flow.on_text, "已列入年度计划。" * 20)
                act("答复 content done", unit, flow.on_button, f"pp:rd:{pid}")
                act("答复 result", unit, flow.on_button, f"pp:rr:{pid}:B")
                act("答复 submit", unit, flow.on_button, f"pp:rq:{pid}")
                if round_ < rounds:
                    act("不满意", author, flow.on_button, f"pp:rv:{pid}:{round_}:3")
                    act("reopen", author, flow.on_text, "未说明完成时间")
                else:
                    act("满意", author, flow.on_button, f"pp:rv:{pid}:{round_}:1")
            now += timedelta(minutes=5)
        cycle = time.perf_counter() - t_all

        exports = {}
        for name, function in (("xlsx", to_xlsx), ("csv", to_csv)):
            t0 = time.perf_counter()
            content = function(desk(), 2027)
            exports[name] = ((time.perf_counter() - t0) * 1000, len(content))
        t0 = time.perf_counter()
        stats = year_statistics(desk(), 2027)
        stats_ms = (time.perf_counter() - t0) * 1000
        outbox = len(storage.outbox_rows("proposal"))
        storage.close()
        if args.keep:
            shutil.copy(Path(tmp) / "bench.db", args.keep)

    print(f"{args.members} members, {args.proposals} proposals, {len(units)} units; whole cycle {cycle:.1f} s")
    print(f"{'step':<20}{'n':>6}{'median ms':>12}{'p99 ms':>10}{'max ms':>10}")
    worst = 0.0
    for name, values in timings.items():
        values.sort()
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        worst = max(worst, statistics.median(values))
        print(f"{name:<20}{len(values):>6}{statistics.median(values):>12.2f}{p99:>10.2f}{values[-1]:>10.2f}")
    for name, (ms, size) in exports.items():
        print(f"export {name}: {ms:.0f} ms ({size // 1024} KB)")
    print(
        f"statistics: {stats_ms:.0f} ms ({stats.submitted} submitted, {stats.replied} replies, {stats.rated} ratings)"
    )
    print(f"outbox rows queued: {outbox}")
    ok = worst < 5 and all(ms < 1000 for ms, _ in exports.values())
    print("targets met" if ok else "TARGETS MISSED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
