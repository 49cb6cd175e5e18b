"""CLI commands for proposals and 社情民意: `proposals export|stats|list|show`.

Each command opens the database named by CPPCC_DB and acts as the operator (a secretary).
Errors go to stderr in Chinese with exit code 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.support import number_argument, operator, with_storage

if TYPE_CHECKING:  # imports are deferred so that `cppcc-bot ask` starts fast
    from bot.config import Settings
    from bot.proposals.desk import Desk
    from bot.storage import Storage


def _desk(settings: Settings, storage: Storage) -> Desk:
    from bot.plan.model import default_plan
    from bot.proposals.config import default_config
    from bot.proposals.desk import Desk

    return Desk(storage, default_plan(), default_config(), frozenset(settings.admin_ids))


def cmd_export(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    from bot.proposals.export import export

    desk = _desk(settings, storage)
    year = args.year or desk.today.year
    name, data = export(desk, operator(), year, args.format)
    if args.output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0
    path = Path(args.output or name)
    path.write_bytes(data)
    print(f"已写入 {path}（{year}年提案办理情况汇总表和社情民意采用情况表）")
    return 0


def cmd_stats(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    from bot.people.roles import authorize
    from bot.proposals.export import statistics, statistics_text

    desk = _desk(settings, storage)
    authorize(storage, operator(), "export_proposals")
    print(statistics_text(statistics(desk, args.year or desk.today.year)))
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    from bot.people.roles import authorize
    from bot.proposals.desk import label, member_name, name_of

    authorize(storage, operator(), "review_proposal")
    items = storage.proposals_where(year=args.year, statuses=tuple(args.status or ()))
    shown = [p for p in items if p.status not in ("draft", "discarded")]
    for p in shown:
        due = f"，答复期限 {p.reply_due}" if p.reply_due else ""
        print(f"{p.id}\t{name_of(p)}\t{member_name(storage, p.member_id)}\t{label(p)}{due}")
    print(f"共 {len(shown)} 件")
    return 0


def cmd_show(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    from bot.proposals.views import detail

    print(detail(_desk(settings, storage), operator(), args.id).text)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this module's commands to the `cppcc-bot` parser."""
    proposals = subparsers.add_parser("proposals", help="提案和社情民意：导出、统计、列表、详情").add_subparsers(
        dest="proposals_command", required=True
    )
    export = proposals.add_parser("export", help="导出提案办理情况汇总表和社情民意采用情况表")
    export.add_argument("--year", type=number_argument("年份", 2000, 2100), help="年份（默认今年）")
    export.add_argument("--format", choices=("xlsx", "csv"), default="xlsx", help="文件格式（默认 xlsx）")
    export.add_argument("-o", "--output", help="输出文件（默认 提案办理情况汇总表-年份.格式；- 表示标准输出）")
    export.set_defaults(func=with_storage(cmd_export))

    stats = proposals.add_parser("stats", help="全年统计：提交、立案率、联名比例、按期答复率、满意率")
    stats.add_argument("--year", type=number_argument("年份", 2000, 2100), help="年份（默认今年）")
    stats.set_defaults(func=with_storage(cmd_stats))

    listing = proposals.add_parser("list", help="列出提案和社情民意（编号、案由、提案人、状态）")
    listing.add_argument("--year", type=number_argument("年份", 2000, 2100), help="只列出该年提交的")
    listing.add_argument("--status", action="append", help="只列出该状态，例如 review、assigned（可重复）")
    listing.set_defaults(func=with_storage(cmd_list))

    show = proposals.add_parser("show", help="一件提案或社情民意的全文、答复和办理过程")
    show.add_argument("id", type=number_argument("编号"), help="助手中的编号（list 第一列）")
    show.set_defaults(func=with_storage(cmd_show))
