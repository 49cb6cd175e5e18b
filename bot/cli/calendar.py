"""CLI commands for the calendar and reminders: `events add|change|list|cancel|import|ics|notify|
attendance|mark|code`, `reminders preview|rules|set|reset|skipped`.

Each command opens the database named by CPPCC_DB and acts as the operator (a secretary).
Errors go to stderr in Chinese with exit code 1; a refused change or import saves nothing.
"""

from __future__ import annotations

import argparse
import json
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

EVENT_FIELDS = ("kind", "title", "date", "time", "end_date", "end_time", "place", "audience", "notes", "quarter")


def _day(text: str | None, what: str):
    from bot.calendar.events import parse_day

    return parse_day(text, what) if text else None


# ---- events ---------------------------------------------------------------------------------


def cmd_events_add(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    from bot.calendar.events import add_event, describe

    fields = {name: getattr(args, name) for name in EVENT_FIELDS}
    event = add_event(storage, operator(), **fields)
    print(f"已添加活动：\n{describe(event)}")
    return 0


def cmd_events_change(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    from bot.calendar.events import describe
    from bot.calendar.invitations import change_and_tell

    changes = {name: getattr(args, name) for name in EVENT_FIELDS if getattr(args, name) is not None}
    if not changes:
        return error("请至少指定一项要修改的内容，例如 --date 2027-03-12")
    now, admins = storage.now(), settings.admin_ids
    event, told = change_and_tell(storage, operator(), args.id, now=now, admin_ids=admins, **changes)
    print(f"已修改活动：\n{describe(event)}" + _told(told))
    return 0


def _told(told: int) -> str:
    return f"\n已排入通知 {told} 位参会人员（运行中的机器人会发出）。" if told else ""


def cmd_events_cancel(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    from bot.calendar.events import one_line
    from bot.calendar.invitations import cancel_and_tell

    event, told = cancel_and_tell(storage, operator(), args.id, now=storage.now(), admin_ids=settings.admin_ids)
    print(f"已取消活动（编号 {event.id}）：{one_line(event)}" + _told(told))
    return 0


def cmd_events_list(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    from bot.calendar.events import audience_label, list_events, one_line

    start = _day(args.date_from, "开始日期") or storage.today()
    end = _day(args.date_to, "结束日期")
    events = list_events(storage, operator(), start, end and _next(end), include_cancelled=args.all)
    if not events:
        print("没有符合条件的活动。")
    for event in events:
        state = "【已取消】" if event.status == "cancelled" else ""
        print(f"{event.id:>4}  {state}{one_line(event)}  对象：{audience_label(event.audience)}")
    return 0


def _next(day):
    from datetime import timedelta

    return day + timedelta(days=1)


def cmd_events_import(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    """Without --yes: print the dry run (the bot's preview). With --yes: import in one transaction,
    audited with the file's SHA-256 (rows with problems refuse the file unless --skip-bad)."""
    import hashlib

    from bot.calendar.events import audience_label, import_events, read_event_rows
    from bot.people.roster import SHOWN_SKIPPED, skipped_lines
    from bot.tables import open_table

    data = read_file(args.file)
    rows, problems = read_event_rows(storage, open_table(data, args.file), storage.now())
    skipped = problems.by_line()
    if not args.yes:
        print(f"活动预览：可导入 {len(rows)} 项（与已有活动完全相同的不会重复添加）")
        for e in rows[:SHOWN_SKIPPED]:
            print(f"  {e.start_date} {e.start_time or ''} {e.kind}《{e.title}》 {audience_label(e.audience)}")
        if len(rows) > SHOWN_SKIPPED:
            print(f"  （只列出前 {SHOWN_SKIPPED} 项）")
        for line in skipped_lines(skipped):
            print(line)
        dry_run_hint(bool(skipped))
        return 0
    refuse_skipped(skipped, args.skip_bad)
    digest = hashlib.sha256(data).hexdigest()
    summary = import_events(storage, operator(), b"", rows=rows, file_hash=digest)
    print(f"活动已导入：{summary.describe()}")
    return 0


def cmd_events_ics(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    from datetime import timedelta

    from bot.calendar.ics import calendar_bytes

    start = _day(args.date_from, "开始日期") or storage.today() - timedelta(days=31)
    end = _day(args.date_to, "结束日期")
    events = storage.events_between(start, end and _next(end), include_cancelled=True)
    data = calendar_bytes(events, storage.tz, storage.now())
    if args.output:
        Path(args.output).write_bytes(data)
        print(f"已写入 {args.output}：{len(events)} 项活动")
    else:
        sys.stdout.buffer.write(data)
    return 0


def cmd_events_notify(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    from bot.calendar.invitations import send_with_notice

    notice_id = send_with_notice(storage, operator(), args.id, now=storage.now(), admin_ids=settings.admin_ids)
    print(f"会议通知 #{notice_id} 已排入发送队列（运行中的机器人会发出）。")
    return 0


def cmd_events_attendance(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    from bot.calendar.attendance import detail

    text, _ = detail(storage, operator(), f"e{args.id}", admin_ids=settings.admin_ids)
    print(text)
    return 0


def cmd_events_mark(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    from bot.calendar.meetings import invitees, meeting_of
    from bot.calendar.signin import mark

    found = [
        r for r in invitees(storage, meeting_of(storage, f"e{args.id}"), settings.admin_ids) if r.name == args.name
    ]
    if len(found) != 1:
        return error(f"活动（编号 {args.id}）的参会人员中{'没有' if not found else '有多位'}名为“{args.name}”的人员")
    present = not args.absent
    print(mark(storage, operator(), args.id, found[0].key, present, now=storage.now(), admin_ids=settings.admin_ids))
    return 0


def cmd_events_code(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    from bot.calendar.signin import set_code

    code = set_code(storage, operator(), args.id, now=storage.now(), on=args.state == "on")
    print(f"签到码：{code}（请在会场公布）" if code else "已关闭签到码")
    return 0


# ---- reminders -------------------------------------------------------------------------------


def cmd_reminders_preview(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    from bot.calendar.reminders import preview, preview_json, preview_text, rules_for

    first, last = _day(args.date_from, "开始日期"), _day(args.date_to, "结束日期")
    if last < first:
        return error("结束日期早于开始日期")
    if (last - first).days > 3 * 366:
        return error("预览范围最多三年")
    messages, skipped = preview(storage, rules_for(storage), first, last, admin_ids=settings.admin_ids)
    if args.json:
        print(json.dumps(preview_json(messages, skipped), ensure_ascii=False, indent=2))
    else:
        print(preview_text(messages, skipped))
    return 0


def cmd_reminders_rules(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    from bot.calendar.reminders import rules_for

    rules = rules_for(storage)
    print(f"规则文件：{rules.source}；免打扰时段：{rules.quiet.describe()}")
    for rule in rules.rules:
        print(rule.summary())
    overrides = storage.reminder_overrides()
    if overrides:
        print("数据库中的覆盖设置（reminders reset 规则 可恢复默认）：")
        for item in overrides:
            print(f"  {item.rule_id}.{item.key} = {json.dumps(item.value, ensure_ascii=False)}（{item.set_at}）")
    return 0


def cmd_reminders_set(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    from bot.calendar.reminders import parse_assignment, set_override

    values = dict(parse_assignment(text) for text in args.assignments)
    rules = set_override(storage, operator(), args.rule, values)
    rule = rules.rule(args.rule)
    print(f"已保存。{rule.summary() if rule else '免打扰时段：' + rules.quiet.describe()}")
    return 0


def cmd_reminders_reset(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    from bot.calendar.reminders import reset_override

    removed = reset_override(storage, operator(), args.rule, args.key)
    print(f"已删除 {removed} 项覆盖设置，恢复规则文件中的默认值。")
    return 0


def cmd_reminders_skipped(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    from datetime import timedelta

    from bot.calendar.reminders import SKIP_REASONS

    since = storage.now() - timedelta(days=args.days)
    skips = storage.deliveries(outcome="skipped", since=since)
    if not skips:
        print(f"最近 {args.days} 天没有未能发出的提醒。")
    for skip in skips:
        reason = SKIP_REASONS.get(skip.reason or "", skip.reason)
        print(f"{skip.due_at:%Y-%m-%d %H:%M}  {skip.recipient_name}  [{skip.rule_id}]  {reason}：{skip.summary}")
    return 0


# ---- parser ---------------------------------------------------------------------------------


def _event_arguments(parser: argparse.ArgumentParser, *, required: bool) -> None:
    kinds = "协商活动、常委会会议、全体会议、培训、提案截止、视察调研、组织生活会"  # bot.calendar.events.EVENT_KINDS
    parser.add_argument("--kind", required=required, help=f"类型：{kinds}")
    parser.add_argument("--date", required=required, help="日期，例如 2027-03-10")
    parser.add_argument("--time", help="时间，例如 14:30 或 14:30-16:30（不写则为全天）")
    parser.add_argument("--end-date", dest="end_date", help="结束日期（跨天的活动）")
    parser.add_argument("--end-time", dest="end_time", help="结束时间")
    parser.add_argument("--title", help="活动名称（默认与类型相同）")
    parser.add_argument("--place", help="地点")
    parser.add_argument("--audience", required=required, help="对象，例如 全体委员、常委、经济委、习岗镇、财政局、秘书")
    parser.add_argument("--notes", help="备注")
    parser.add_argument("--quarter", help="协商活动计入的季度，例如 2027Q1（默认按日期）")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this module's commands to the `cppcc-bot` parser."""
    events = subparsers.add_parser("events", help="活动日程：添加、修改、列出、取消、导入、导出日历")
    sub = events.add_subparsers(dest="events_command", required=True)
    add = sub.add_parser("add", help="添加活动")
    _event_arguments(add, required=True)
    add.set_defaults(func=with_storage(cmd_events_add))
    change = sub.add_parser("change", help="修改活动（只改给出的项目）")
    change.add_argument("id", type=number_argument("活动编号"))
    _event_arguments(change, required=False)
    change.set_defaults(func=with_storage(cmd_events_change))
    cancel = sub.add_parser("cancel", help="取消活动")
    cancel.add_argument("id", type=number_argument("活动编号"))
    cancel.set_defaults(func=with_storage(cmd_events_cancel))
    listing = sub.add_parser("list", help="列出活动（默认从今天起）")
    listing.add_argument("--from", dest="date_from")
    listing.add_argument("--to", dest="date_to")
    listing.add_argument("--all", action="store_true", help="包括已取消的活动")
    listing.set_defaults(func=with_storage(cmd_events_list))
    importing = sub.add_parser(
        "import", help="从 .xlsx/.xls/.csv 导入活动（默认只预览；--yes 导入，全部成功或全部不导入）"
    )
    import_arguments(importing)
    importing.set_defaults(func=with_storage(cmd_events_import))
    ics = sub.add_parser("ics", help="导出 .ics 日历文件（默认输出到屏幕）")
    ics.add_argument("-o", "--output")
    ics.add_argument("--from", dest="date_from", help="默认一个月前")
    ics.add_argument("--to", dest="date_to")
    ics.set_defaults(func=with_storage(cmd_events_ics))

    notify = sub.add_parser("notify", help="为活动发送会议通知（参加/请假按钮）")
    notify.add_argument("id", type=number_argument("活动编号"))
    notify.set_defaults(func=with_storage(cmd_events_notify))
    roll = sub.add_parser("attendance", help="活动的回复、请假、签到和缺席名单")
    roll.add_argument("id", type=number_argument("活动编号"))
    roll.set_defaults(func=with_storage(cmd_events_attendance))
    marking = sub.add_parser("mark", help="补登或撤销某人的签到（结束后同步履职记录）")
    marking.add_argument("id", type=number_argument("活动编号"))
    marking.add_argument("name", help="参会人员姓名")
    marking.add_argument("--absent", action="store_true", help="撤销签到")
    marking.set_defaults(func=with_storage(cmd_events_mark))
    code = sub.add_parser("code", help="开启或关闭签到码")
    code.add_argument("id", type=number_argument("活动编号"))
    code.add_argument("state", choices=("on", "off"))
    code.set_defaults(func=with_storage(cmd_events_code))

    reminders = subparsers.add_parser("reminders", help="提醒：预览、查看和调整规则、查看未能发出的提醒")
    sub = reminders.add_subparsers(dest="reminders_command", required=True)
    preview = sub.add_parser("preview", help="列出某段时间内将要发出的全部提醒（不发送）")
    preview.add_argument("--from", dest="date_from", required=True)
    preview.add_argument("--to", dest="date_to", required=True)
    preview.add_argument("--json", action="store_true")
    preview.set_defaults(func=with_storage(cmd_reminders_preview))
    sub.add_parser("rules", help="列出生效的提醒规则").set_defaults(func=with_storage(cmd_reminders_rules))
    setting = sub.add_parser("set", help="调整规则，例如 reminders set yearly_minimums dates='[\"09-01\"]'")
    setting.add_argument("rule", help="规则 id（quiet_hours 为免打扰时段）")
    setting.add_argument("assignments", nargs="+", metavar="字段=值")
    setting.set_defaults(func=with_storage(cmd_reminders_set))
    reset = sub.add_parser("reset", help="恢复规则的默认设置")
    reset.add_argument("rule")
    reset.add_argument("key", nargs="?")
    reset.set_defaults(func=with_storage(cmd_reminders_reset))
    skipped = sub.add_parser("skipped", help="列出未能发出的提醒（未绑定、超过补发时限等）")
    skipped.add_argument("--days", type=number_argument("天数", high=3660), default=30)
    skipped.set_defaults(func=with_storage(cmd_reminders_skipped))
