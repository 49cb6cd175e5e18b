"""Roster files as offices keep them: read, dry run and import, timed.

Run: python benchmarks/bench_roster_files.py [--rows 300 5000]
Targets: a 300-row .xlsx roster with a title row and mixed headers (手机号码, 所属专委会, √ marks,
a merged title) < 1 s end to end including the dry run; a 5,000-row file < 5 s. Each size is
measured on a fresh database (everyone new, the worst case) and again on the filled database
(a re-import: everyone compared, nobody written); also the command line's dry run in a new
process (`cppcc-bot members import FILE`, interpreter start included).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from office_files import roster_rows, xlsx  # noqa: E402

from bot.people.roles import CLI_CALLER  # noqa: E402
from bot.people.roster import apply_roster, preview_roster  # noqa: E402
from bot.storage import Storage  # noqa: E402


def import_once(storage: Storage, data: bytes) -> tuple[float, float, str]:
    """Seconds for the dry run (read + preview) and for the whole import; the summary."""
    started = time.perf_counter()
    preview = preview_roster(storage, CLI_CALLER, "member", data, "名册.xlsx")
    previewed = time.perf_counter() - started
    summary = apply_roster(storage, CLI_CALLER, preview)
    return previewed, time.perf_counter() - started, summary.describe()


def cli_dry_run(path: Path, db: Path) -> float:
    env = {**os.environ, "CPPCC_DB": str(db)}
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "members", "import", str(path)], env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[300, 5000])
    args = parser.parse_args()
    print("rows | file KB | dry run (new) | import (new) | re-import | CLI dry run (process)")
    with tempfile.TemporaryDirectory() as tmp:
        for rows in args.rows:
            data = xlsx(roster_rows(rows))
            path = Path(tmp) / f"roster-{rows}.xlsx"
            path.write_bytes(data)
            db = Path(tmp) / f"cppcc-{rows}.db"
            with Storage(db) as storage:
                dry, total, summary = import_once(storage, data)
                assert f"新增 {rows} 人" in summary, summary
                _, again, summary = import_once(storage, data)
                assert f"未变 {rows} 人" in summary, summary
            cli = cli_dry_run(path, db)
            print(f"{rows} | {len(data) / 1024:.0f} | {dry:.2f} s | {total:.2f} s | {again:.2f} s | {cli:.2f} s")


if __name__ == "__main__":
    main()
