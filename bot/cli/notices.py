"""CLI commands for notices: `notice send | list | report | cancel`.

The command line only writes to the outbox in the database named by CPPCC_DB; the running
bot's sender delivers (it looks at the outbox every second). It acts as a secretary.
Errors go to stderr in Chinese with exit code 1.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.support import number_argument, operator, with_storage

if TYPE_CHECKING:  # imports are deferred so that `cppcc-bot ask` starts fast
    from bot.config import Settings
    from bot.storage import Storage


def _read_text(path: str) -> str:
    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise OSError(f"无法读取文件 {path}：{exc.strerror}") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise OSError(f"{path} 不是 UTF-8 文本") from exc


def cmd_send(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    from bot import notices

    now = storage.now()
    send_at = None
    if args.at:
        send_at = notices.parse_send_time(re.sub(r"(?<=\d)T(?=\d)", " ", args.at), now)
    kind = {True: "meeting", False: "notice", None: None}[args.meeting]
    preview = notices.compose(
        storage,
        operator(),
        args.audience,
        _read_text(args.text_file),
        now=now,
        kind=kind,
        admin_ids=settings.admin_ids,
    )
    print(notices.render_preview(preview))
    print()
    if args.dry_run:
        notices.discard(storage, operator(), preview.notice.id, now=now)
        print("（预览模式：未发送）")
        return 0
    confirmation = notices.confirm(storage, operator(), preview.notice.id, now=now, send_at=send_at)
    notice_id = preview.notice.id
    print(
        confirmation.describe(
            now,
            report_hint=f"用 cppcc-bot notice report {notice_id} 查看送达和回执情况。",
            cancel_hint=f"发出前可以用 cppcc-bot notice cancel {notice_id} 取消。",
        )
    )
    print("消息已写入发送队列，由运行中的机器人发出（机器人未运行时，在下次启动后发出）。")
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    from bot import notices

    reports = notices.recent_notices(storage, operator(), limit=args.limit)
    print(notices.render_list(reports, tz=storage.tz, now=storage.now()).replace("发送 /notice", "用 notice send"))
    return 0


def cmd_report(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    from bot import notices

    report = notices.notice_report(storage, operator(), args.id)
    if args.format == "csv":
        sys.stdout.write(notices.report_csv(report, tz=storage.tz))
    else:
        print(notices.render_report(report, tz=storage.tz, now=storage.now()))
    return 0


def cmd_cancel(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    from bot import notices

    result = notices.cancel_notice(storage, operator(), args.id, now=storage.now())
    sent = f"，已有 {result.already_sent} 人收到" if result.already_sent else ""
    print(f"通知 #{args.id} 已取消：{result.cancelled} 人的消息不再发送{sent}。")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this module's commands to the `cppcc-bot` parser."""
    notice = subparsers.add_parser("notice", help="政协办通知：发送、查看回执、取消").add_subparsers(
        dest="notice_command", required=True
    )
    send = notice.add_parser("send", help="发送通知（写入发送队列，由运行中的机器人发出）")
    send.add_argument("--audience", required=True, help="通知对象，例如 全体委员、常委+经济委、习岗镇、财政局")
    send.add_argument("--text-file", required=True, help="通知正文文件（UTF-8；- 表示标准输入）")
    send.add_argument("--at", help="定时发送时间，例如 '2024-06-20 15:30' 或 '明天 9:00'")
    kind = send.add_mutually_exclusive_group()
    kind.add_argument("--meeting", dest="meeting", action="store_true", default=None, help="会议通知（参加/请假）")
    kind.add_argument("--plain", dest="meeting", action="store_false", help="普通通知（只需收到）")
    send.add_argument("--dry-run", action="store_true", help="只显示预览，不发送")
    send.set_defaults(func=with_storage(cmd_send))
    listing = notice.add_parser("list", help="最近的通知")
    listing.add_argument("--limit", type=number_argument("条数", high=10_000), default=20)
    listing.set_defaults(func=with_storage(cmd_list))
    report = notice.add_parser("report", help="某条通知的送达和回执情况")
    report.add_argument("id", type=number_argument("通知编号"))
    report.add_argument("--format", choices=("text", "csv"), default="text")
    report.set_defaults(func=with_storage(cmd_report))
    cancel = notice.add_parser("cancel", help="取消尚未发出的通知")
    cancel.add_argument("id", type=number_argument("通知编号"))
    cancel.set_defaults(func=with_storage(cmd_cancel))
