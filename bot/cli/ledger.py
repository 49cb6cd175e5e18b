"""CLI commands for the task ledger: `ledger export`, `ledger show`, `ledger silent`, `ledger publish|hide`.

Each command opens the database named by CPPCC_DB and acts as the operator (a secretary).
Errors go to stderr in Chinese with exit code 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.support import Command, number_argument, operator, with_storage

if TYPE_CHECKING:  # imports are deferred so that `cppcc-bot ask` starts fast
    from bot.config import Settings
    from bot.storage import Storage


def _quarter(args: argparse.Namespace):
    from bot.ledger import parse_quarter

    return parse_quarter(args.quarter) if args.quarter else None


def cmd_export(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    from bot.ledger.export import export_ledger

    quarter = _quarter(args)
    data, count = export_ledger(storage, operator(), args.format, quarter)
    if args.output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0
    scope = quarter.code if quarter else storage.today().isoformat()
    path = Path(args.output or f"ledger-{scope}.{args.format}")
    path.write_bytes(data)
    print(f"已写入 {path}：{count} 行（每项任务的每个责任单位一行）")
    return 0


def cmd_show(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    from bot.ledger import format_overview, overview, task_detail

    quarter = _quarter(args)
    if args.task is None:
        print(format_overview(overview(storage, operator(), quarter)))
    else:
        print(task_detail(storage, operator(), args.task, quarter))
    return 0


def cmd_silent(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    from bot.ledger import current_quarter, silent_units_text

    print(silent_units_text(storage, _quarter(args) or current_quarter(storage)))
    return 0


def _set_public(public: bool) -> Command:
    def command(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
        from bot.ledger import set_public

        unit = set_public(storage, operator(), args.unit, public)
        state = "所有人（包括委员）都能看到" if public else "只有政协办秘书和本单位能看到"
        print(f"{unit.short}的任务进展现在{state}。")
        return 0

    return command


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this module's commands to the `cppcc-bot` parser."""
    ledger = subparsers.add_parser("ledger", help="任务台账：导出、查看、公开范围").add_subparsers(
        dest="ledger_command", required=True
    )
    export = ledger.add_parser("export", help="导出台账（序号、任务内容、责任单位、完成时限、进展情况、更新日期）")
    export.add_argument("--quarter", help="只导出该季度填报的进展，例如 2027Q1（默认：各单位最新进展）")
    export.add_argument("--format", choices=("xlsx", "csv"), default="xlsx", help="文件格式（默认 xlsx）")
    export.add_argument("-o", "--output", help="输出文件（默认 ledger-季度或日期.格式；- 表示标准输出）")
    export.set_defaults(func=with_storage(cmd_export))

    show = ledger.add_parser("show", help="查看台账概况（各任务大类的填报情况），或某项任务的进展和历史")
    show.add_argument("task", nargs="?", type=number_argument("任务编号"), help="任务编号，例如 33")
    show.add_argument("--quarter", help="季度，例如 2027Q1（默认本季度；查看单项任务时默认全部）")
    show.set_defaults(func=with_storage(cmd_show))

    silent = ledger.add_parser("silent", help="列出某季度尚未填报进展的单位")
    silent.add_argument("--quarter", help="季度，例如 2027Q1（默认本季度）")
    silent.set_defaults(func=with_storage(cmd_silent))

    for name, public, text in (("publish", True, "公开某单位的进展（所有人可见）"), ("hide", False, "取消公开")):
        sub = ledger.add_parser(name, help=text)
        sub.add_argument("unit", help="单位名称，例如 统战部")
        sub.set_defaults(func=with_storage(_set_public(public)))
