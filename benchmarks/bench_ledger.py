"""Task ledger speed with several years of reports: filing, the secretaries' views, the export.

Run: python benchmarks/bench_ledger.py [--years 3] [--per-slot 3]
Targets: filing a report < 20 ms; /ledger overview, /ledger 33 and a progress answer < 100 ms;
export of the whole ledger (xlsx) < 2 s — all with every unit contact reporting on every one
of their tasks several times a quarter for several years.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import ledger  # noqa: E402
from bot.ledger.export import export_ledger  # noqa: E402
from bot.people.identity import bind_by_contact  # noqa: E402
from bot.people.roles import CLI_CALLER, resolve_caller  # noqa: E402
from bot.people.roster import import_unit_contacts  # noqa: E402
from bot.plan.model import default_plan  # noqa: E402
from bot.storage import Storage  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")


def timed(function, repeat: int = 5) -> tuple[float, object]:
    """Median milliseconds over ``repeat`` calls, and the last result."""
    timings, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = function()
        timings.append((time.perf_counter() - t0) * 1000)
    return statistics.median(timings), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--per-slot", type=int, default=3, help="reports per unit and task each quarter")
    args = parser.parse_args()
    plan = default_plan()
    units = [unit for unit in plan.catalogue.units.values() if ledger.reportable_tasks(plan, unit.id)]
    with tempfile.TemporaryDirectory() as tmp:
        storage = Storage(Path(tmp) / "bench.db", TZ)
        start = datetime(2027, 1, 5, 9, 0, tzinfo=TZ)
        rows = "".join(f"{unit.short},联络员{i},136{i:08d}\n" for i, unit in enumerate(units))
        import_unit_contacts(storage, CLI_CALLER, ("单位,姓名,手机号\n" + rows).encode(), now=start)
        callers = []
        for i, unit in enumerate(units):
            bind_by_contact(storage, 1000 + i, 1000 + i, f"86136{i:08d}", now=start)
            callers.append((resolve_caller(storage, 1000 + i, ()), ledger.reportable_tasks(plan, unit.id)))

        filing = []
        for quarter in range(args.years * 4):
            day = start + timedelta(days=91 * quarter)
            for round_ in range(args.per_slot):
                for caller, numbers in callers:
                    for number in numbers:
                        moment = day + timedelta(days=round_ * 20, minutes=number)
                        t0 = time.perf_counter()
                        text = f"第{round_ + 1}次进展：" + "落实" * 60
                        ledger.submit_report(storage, caller, number, text, now=moment)
                        filing.append((time.perf_counter() - t0) * 1000)
        total = len(storage.ledger_reports())
        last = ledger.Quarter.of((start + timedelta(days=91 * (args.years * 4 - 1))).date())
        print(f"{total} reports ({args.years} years, {len(callers)} units, {args.per_slot} per task and quarter)")
        print(f"file a report: median {statistics.median(filing):.2f} ms, max {max(filing):.2f} ms")
        view_ms, _ = timed(lambda: ledger.format_overview(ledger.overview(storage, CLI_CALLER, last, plan=plan)))
        print(f"/ledger overview of {last.code}: {view_ms:.1f} ms")
        detail_ms, _ = timed(lambda: ledger.task_detail(storage, CLI_CALLER, 33, history_limit=10, plan=plan))
        print(f"/ledger 33 (latest per unit + 10 newest of the history): {detail_ms:.1f} ms")
        answer_ms, _ = timed(lambda: ledger.progress_answer(storage, CLI_CALLER, 33, plan=plan))
        print(f"'（33）落实得怎么样' answer: {answer_ms:.1f} ms")
        silent_ms, _ = timed(lambda: ledger.silent_units(storage, last, plan))
        print(f"silent_units({last.code}): {silent_ms:.1f} ms")
        for fmt in ("xlsx", "csv"):
            for quarter in (last, None):
                ms, (data, count) = timed(lambda f=fmt, q=quarter: export_ledger(storage, CLI_CALLER, f, q), 3)
                scope = quarter.code if quarter else "latest ever"
                print(f"export {fmt} ({scope}): {ms:.0f} ms, {count} rows, {len(data) / 1024:.0f} KiB")
        storage.close()


if __name__ == "__main__":
    main()
