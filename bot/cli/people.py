"""CLI commands for people, records and progress: `members`, `units`, `admins`, `records`, `progress`.

Each command opens the database named by CPPCC_DB and acts as the operator (a secretary).
Errors go to stderr in Chinese with exit code 1; a refused import changes nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.support import (
    dry_run_hint,
    error,
    import_arguments,
    number_argument,
    operator,
    read_file,
    refuse_skipped,
    with_storage,
)

if TYPE_CHECKING:  # imports are deferred so that `cppcc-bot ask` starts fast
    from bot.config import Settings
    from bot.storage import Storage


def _import_roster(kind: str, args: argparse.Namespace, storage: Storage) -> int:
    """Without --yes: print the dry run. With --yes: apply it (rows with problems refuse the file
    unless --skip-bad; --full also deactivates people missing from the file)."""
    from bot.people.roster import apply_roster, preview_roster

    preview = preview_roster(storage, operator(), kind, read_file(args.file), args.file, full=args.full)
    if not args.yes:
        print(preview.describe())
        partial = "；这是部分更新，如是完整名册、要停用不在文件中的人，请加 --full"
        dry_run_hint(bool(preview.skipped), partial if not args.full and preview.absent else "")
        return 0
    summary = apply_roster(storage, operator(), preview, skip_bad=args.skip_bad)
    print(f"{preview.label}已导入：{summary.describe()}")
    return 0


def cmd_members_import(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    return _import_roster("member", args, storage)


def cmd_units_import(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    return _import_roster("unit_contact", args, storage)


def cmd_members_codes(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    from bot.people.identity import issue_codes
    from bot.phone import mask_phone

    if args.days < 1:
        return error("--days 至少为 1")
    codes = issue_codes(storage, operator(), args.days)
    print("身份,姓名,单位或界别,手机号,绑定码,有效期至")
    for issued in codes:
        who = issued.identity
        expires = issued.expires_at.strftime("%Y-%m-%d %H:%M")
        print(f"{who.role_label},{who.name},{who.detail},{mask_phone(who.phone)},{issued.code},{expires}")
    print(
        f"共 {len(codes)} 个绑定码（只显示这一次；这些人此前未使用的绑定码已作废）。"
        "请逐一发给本人：在机器人中发送 /bind 绑定码。",
        file=sys.stderr,
    )
    return 0


def cmd_admins_add(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    from bot.people.identity import add_admin

    added = add_admin(storage, operator(), args.id)
    print(f"已添加秘书 {args.id}" if added else f"{args.id} 已经是秘书")
    return 0


def cmd_admins_remove(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    from bot.people.identity import remove_admin

    remove_admin(storage, operator(), args.id, settings.admin_ids)
    print(f"已移除秘书 {args.id}")
    return 0


def cmd_admins_list(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    from bot.people.identity import list_admins

    entries = list_admins(storage, settings.admin_ids)
    if not entries:
        print("尚无秘书。可设置环境变量 CPPCC_ADMIN_IDS，或运行 admins add ID。")
    for entry in entries:
        if entry.source == "env":
            print(f"{entry.telegram_id}  （环境变量 CPPCC_ADMIN_IDS）")
        else:
            print(f"{entry.telegram_id}  （{entry.added_at} 由 {entry.added_by} 添加）")
    return 0


def cmd_records_import(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    """Without --yes: print the dry run (the bot's preview). With --yes: import in one transaction,
    audited with the file's SHA-256 (rows with problems refuse the file unless --skip-bad)."""
    import hashlib

    from bot.csvfile import ImportProblems
    from bot.people.records import import_records, preview_records
    from bot.plan.model import default_plan
    from bot.tables import open_table

    data = read_file(args.file)
    found = preview_records(storage, operator(), open_table(data, args.file), storage.today(), default_plan())
    if not args.yes:
        print(found.describe())
        dry_run_hint(bool(found.skipped))
        return 0
    refuse_skipped(found.skipped, args.skip_bad)
    if not found.rows:
        raise ImportProblems(["文件中没有可以导入的行"])
    digest = hashlib.sha256(data).hexdigest()
    summary = import_records(storage, operator(), b"", rows=found.rows, file_hash=digest)
    print(f"履职记录已导入：{summary.describe()}")
    return 0


def cmd_records_list(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    from bot.people.records import STATUS_LABELS, list_records, unit_names

    members = storage.people("member")
    if args.member:
        members = [m for m in members if m.name == args.member]
        if len(members) != 1:
            return error(f"名册中{'没有' if not members else '有多位'}名为“{args.member}”的委员")
    names = {m.id: m.name for m in members}
    records = [r for m in members for r in list_records(storage, operator(), m.id, args.year)]
    print("编号,委员,类型,标题,日期,办理状态,承办单位,答复期限")
    for r in records:
        status = STATUS_LABELS.get(r.status, "") if r.status else ""
        due = r.reply_due.isoformat() if r.reply_due else ""
        units = "、".join(unit_names(r))
        print(f"{r.id},{names.get(r.member_id, r.member_id)},{r.kind},{r.title},{r.date},{status},{units},{due}")
    return 0


def cmd_records_correct(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    from bot.people.records import correct_record

    record = correct_record(storage, operator(), args.id, kind=args.kind, title=args.title, date=args.date)
    print(f"已更正记录 {record.id}：{record.kind}《{record.title}》（{record.date}）")
    return 0


def cmd_records_remove(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    from bot.people.records import remove_record

    record = remove_record(storage, operator(), args.id)
    print(f"已删除记录 {record.id}：{record.kind}《{record.title}》（审计日志保留了副本）")
    return 0


def cmd_proposal_step(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    from bot.people.records import STATUS_LABELS, accept_proposal, assign_proposal, reply_proposal, split_units

    if args.step == "accept":
        record = accept_proposal(storage, operator(), args.id)
    elif args.step == "assign":
        record = assign_proposal(storage, operator(), args.id, split_units(args.units), args.on)
    else:
        record = reply_proposal(storage, operator(), args.id, args.on)
    due = f"，答复期限 {record.reply_due}" if record.reply_due and record.status == "assigned" else ""
    print(f"提案 {record.id}《{record.title}》：{STATUS_LABELS[record.status]}{due}")
    return 0


def cmd_progress(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    from bot.people.statistics import duty_statistics, format_statistics, statistics_csv, statistics_xlsx

    year = args.year or storage.today().year
    chosen = {"committee": args.committee, "sector": args.sector, "township": args.township}
    stats = duty_statistics(storage, year, **chosen)
    if args.format == "csv":  # the same columns as the xlsx
        sys.stdout.write(statistics_csv(stats))
    elif args.format == "xlsx":
        path = Path(args.output or f"duties-{year}.xlsx")
        path.write_bytes(statistics_xlsx(stats))
        print(f"已导出 {year} 年委员履职统计：{path}（{len(stats.rows)} 人）")
    else:
        print(format_statistics(stats, limit=len(stats.rows)))
    return 0


def _roster_arguments(parser: argparse.ArgumentParser) -> None:
    import_arguments(parser)
    parser.add_argument("--full", action="store_true", help="这是完整名册：停用不在文件中的人")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this module's commands to the `cppcc-bot` parser."""
    members = subparsers.add_parser("members", help="委员名册与绑定码").add_subparsers(
        dest="members_command", required=True
    )
    imp = members.add_parser(
        "import", help="导入委员名册 .xlsx/.xls/.csv（姓名,手机号,界别,专委会,乡镇街道,党派,是否常委）；默认只预览"
    )
    _roster_arguments(imp)
    imp.set_defaults(func=with_storage(cmd_members_import))
    codes = members.add_parser("codes", help="为尚未绑定的委员和联络员生成一次性绑定码")
    codes.add_argument(
        "--days", type=number_argument("有效天数", low=0, high=3660), default=7, help="有效天数（默认 7）"
    )
    codes.set_defaults(func=with_storage(cmd_members_codes))

    units = subparsers.add_parser("units", help="单位联络员名单").add_subparsers(dest="units_command", required=True)
    uimp = units.add_parser("import", help="导入单位联络员 .xlsx/.xls/.csv（单位,姓名,手机号）；默认只预览")
    _roster_arguments(uimp)
    uimp.set_defaults(func=with_storage(cmd_units_import))

    admins = subparsers.add_parser("admins", help="政协办秘书名单").add_subparsers(dest="admins_command", required=True)
    for name, func, text in (("add", cmd_admins_add, "添加秘书"), ("remove", cmd_admins_remove, "移除秘书")):
        sub = admins.add_parser(name, help=text)
        sub.add_argument("id", type=number_argument("Telegram 用户 id"), help="Telegram 用户 id")
        sub.set_defaults(func=with_storage(func))
    admins.add_parser("list", help="列出秘书").set_defaults(func=with_storage(cmd_admins_list))

    records = subparsers.add_parser("records", help="履职记录").add_subparsers(dest="records_command", required=True)
    rimp = records.add_parser(
        "import", help="导入提案系统导出的 .xlsx/.xls/.csv（姓名或手机号,类型,标题,日期,…）；默认只预览"
    )
    import_arguments(rimp)
    rimp.set_defaults(func=with_storage(cmd_records_import))

    rlist = records.add_parser("list", help="列出履职记录")
    rlist.add_argument("--member", help="只看某位委员（姓名）")
    rlist.add_argument("--year", type=number_argument("年份", 1900, 2200), help="只看某一年")
    rlist.set_defaults(func=with_storage(cmd_records_list))
    correct = records.add_parser("correct", help="更正一条记录的类型、标题或日期")
    correct.add_argument("id", type=number_argument("记录编号"))
    correct.add_argument("--kind")
    correct.add_argument("--title")
    correct.add_argument("--date")
    correct.set_defaults(func=with_storage(cmd_records_correct))
    remove = records.add_parser("remove", help="删除一条误登的记录")
    remove.add_argument("id", type=number_argument("记录编号"))
    remove.set_defaults(func=with_storage(cmd_records_remove))
    for step, text in (("accept", "提案立案"), ("assign", "提案交办承办单位"), ("reply", "登记提案已答复")):
        sub = records.add_parser(step, help=text)
        sub.add_argument("id", type=number_argument("记录编号"))
        if step == "assign":
            sub.add_argument("--units", required=True, help="承办单位，用顿号或逗号分隔")
        if step != "accept":
            sub.add_argument("--on", help="日期（默认今天）")
        sub.set_defaults(func=with_storage(cmd_proposal_step), step=step)

    progress = subparsers.add_parser("progress", help="委员年度履职统计")
    progress.add_argument("--year", type=number_argument("年份", 1900, 2200), help="年份（默认今年）")
    progress.add_argument("--format", choices=("text", "csv", "xlsx"), default="text")
    progress.add_argument("--output", help="xlsx 文件路径（默认 duties-年份.xlsx）")
    progress.add_argument("--committee", help="只看某专委会")
    progress.add_argument("--sector", help="只看某界别")
    progress.add_argument("--township", help="只看某乡镇街道")
    progress.set_defaults(func=with_storage(cmd_progress))
