"""Delivery and receipt reports of a notice (text, buttons, CSV) and the list of recent notices."""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from bot.notices.config import KIND_LABELS, NoticeConfig, NoticeError, default_config, format_time, local_time
from bot.people.roles import Caller, authorize
from bot.reply import Button
from bot.storage import Storage
from bot.storage.outbox import NoticeRecord, OutboxRecord

# ---- reports ---------------------------------------------------------------------------------------


DELIVERY_LABELS = {
    "sent": "已送达",
    "pending": "待发送",
    "failed": "发送失败",
    "unreachable": "无法送达（已屏蔽机器人或账号停用）",
    "uncertain": "可能已送达（Telegram 应答超时）",
    "unbound": "未绑定 Telegram",
    "cancelled": "已取消",
}
NOTICE_STATUS_LABELS = {
    "scheduled": "定时发送",
    "sending": "发送中",
    "done": "已发送完毕",
    "cancelled": "已取消",
    "draft": "草稿",
    "discarded": "已放弃",
}


@dataclass(frozen=True)
class RecipientStatus:
    key: str
    name: str
    person_kind: str
    delivery: str  # a DELIVERY_LABELS key
    delivered_at: str | None
    error: str | None
    confirmed_at: str | None
    attendance: str | None
    reason: str | None
    timed_out: bool = False  # an attempt timed out and was repeated: possibly two copies


@dataclass(frozen=True)
class Report:
    notice: NoticeRecord
    rows: list[RecipientStatus]
    attachment_problems: int = 0
    nudge_rows: dict[str, int] = field(default_factory=dict)

    def with_delivery(self, *deliveries: str) -> list[RecipientStatus]:
        return [r for r in self.rows if r.delivery in deliveries]

    @property
    def unconfirmed(self) -> list[RecipientStatus]:
        """Delivered but not confirmed: the people a nudge goes to."""
        return [r for r in self.rows if r.delivery == "sent" and r.confirmed_at is None]


def _delivery(row: OutboxRecord | None) -> str:
    if row is None:
        return "unbound"
    return "pending" if row.status in ("pending", "sending") else row.status


def build_report(storage: Storage, notice: NoticeRecord) -> Report:
    rows = storage.notice_delivery(notice.id)
    receipts = storage.receipts(notice.id)
    statuses = []
    for recipient in storage.notice_recipients(notice.id):
        row = rows.get(recipient.recipient_key) if recipient.chat_id is not None else None
        if recipient.chat_id is not None and row is None:
            delivery = "cancelled" if notice.status == "cancelled" else "pending"
        else:
            delivery = _delivery(row)
        receipt = receipts.get(recipient.recipient_key)
        statuses.append(
            RecipientStatus(
                key=recipient.recipient_key,
                name=recipient.name,
                person_kind=recipient.person_kind,
                delivery=delivery,
                delivered_at=row.finished_at if row is not None and row.status == "sent" else None,
                error=row.last_error if row is not None and row.status in ("failed", "unreachable") else None,
                timed_out=row is not None and row.uncertain > 0,
                confirmed_at=receipt.confirmed_at if receipt else None,
                attendance=receipt.attendance if receipt else None,
                reason=receipt.reason if receipt else None,
            )
        )
    problems = sum(1 for key, row in rows.items() if key.endswith("/file") and row.status in ("failed", "unreachable"))
    return Report(notice, statuses, problems)


def notice_report(storage: Storage, caller: Caller, notice_id: int) -> Report:
    authorize(storage, caller, "view_notices")
    notice = storage.notice(notice_id)
    if notice is None or notice.status in ("draft", "discarded"):
        raise NoticeError(f"没有编号为 {notice_id} 的通知。发送 /notices 查看最近的通知。")
    return build_report(storage, notice)


def report_counts(report: Report) -> Counter:
    counts: Counter = Counter({key: 0 for key in (*DELIVERY_LABELS, "confirmed", "attend", "leave")})
    counts["total"] = len(report.rows)
    for row in report.rows:
        counts[row.delivery] += 1
        if row.confirmed_at:
            counts["confirmed"] += 1
        if row.attendance:
            counts[row.attendance] += 1
        counts["timed_out"] += row.timed_out
    return counts


def _status_text(notice: NoticeRecord, tz, now: datetime | None) -> str:
    label = NOTICE_STATUS_LABELS[notice.status]
    if notice.status == "scheduled" and notice.send_at:
        send_at = datetime.fromisoformat(notice.send_at).astimezone(tz)
        if now is None or send_at > now:
            return f"{label}（{format_time(send_at, now)}）"
        return "发送中"
    return label


def render_report(report: Report, *, tz, now: datetime | None = None, name_limit: int | None = None) -> str:
    """The status view: counts, then the names that need attention."""
    notice = report.notice
    c = report_counts(report)
    limit = name_limit or max(len(report.rows), 1)
    sent_at = local_time(notice.send_at or notice.created_at, tz)
    text = " ".join(notice.text.split("\n"))
    text = text if len(text) <= 60 else text[:60] + "…"
    lines = [
        f"通知 #{notice.id}（{KIND_LABELS[notice.kind]}）· {_status_text(notice, tz, now)}",
        f"发送时间：{format_time(sent_at, now)} · 对象：{notice.audience_label}",
        f"内容：{text}",
        "",
        f"收件人 {c['total']} · 已送达 {c['sent']} · 已确认 {c['confirmed']}"
        + (f" · 参加 {c['attend']} · 请假 {c['leave']}" if notice.kind == "meeting" else "")
        + f" · 无法送达 {c['unreachable']} · 未绑定 {c['unbound']} · 发送失败 {c['failed']} · 待发送 {c['pending']}"
        + (f" · 已取消 {c['cancelled']}" if c["cancelled"] else "")
        + (f" · 可能已送达 {c['uncertain']}" if c["uncertain"] else ""),
    ]
    if c["timed_out"]:
        lines.append(f"其中 {c['timed_out']} 人因 Telegram 应答超时重发过一次，可能收到两份。")
    if notice.nudges:
        lines.append(
            f"已提醒未确认者 {notice.nudges} 次，最近一次 {format_time(local_time(notice.last_nudge_at, tz), now)}"
        )

    def section(title: str, rows: list[RecipientStatus], detail=None) -> None:
        if not rows:
            return
        shown = [f"{r.name}{detail(r) if detail else ''}" for r in rows[:limit]]
        more = f" 等 {len(rows)} 人" if len(rows) > limit else ""
        lines.append(f"{title}（{len(rows)}）：" + "、".join(shown) + more)

    lines.append("")
    section("未确认", report.unconfirmed)
    if notice.kind == "meeting":
        section(
            "请假", [r for r in report.rows if r.attendance == "leave"], lambda r: f"（{r.reason}）" if r.reason else ""
        )
    section("无法送达（已屏蔽机器人或账号停用）", report.with_delivery("unreachable"))
    section("发送失败", report.with_delivery("failed"), lambda r: f"（{r.error}）" if r.error else "")
    section("可能已送达（Telegram 应答超时）", report.with_delivery("uncertain"))
    section("未绑定 Telegram", report.with_delivery("unbound"))
    section("待发送", report.with_delivery("pending"))
    if report.attachment_problems:
        lines.append(f"另有 {report.attachment_problems} 人的附件未能送达。")
    return "\n".join(line for line in lines).rstrip()


def report_buttons(report: Report) -> list[list[Button]]:
    notice = report.notice
    rows: list[list[Button]] = []
    if report.unconfirmed and notice.status in ("sending", "done", "scheduled"):
        rows.append([Button(f"提醒未确认（{len(report.unconfirmed)}）", f"n:u:{notice.id}")])
    if notice.status in ("scheduled", "sending") and report.with_delivery("pending"):
        rows.append([Button("取消发送", f"n:c:{notice.id}")])
    rows.append([Button("导出", f"n:e:{notice.id}"), Button("刷新", f"n:v:{notice.id}"), Button("全部通知", "n:ls")])
    return rows


CSV_HEADER = ["通知编号", "姓名", "身份", "送达状态", "送达时间", "确认收到时间", "参加情况", "请假原因", "说明"]
_PERSON_LABELS = {"member": "委员", "unit_contact": "单位联络员", "secretary": "秘书"}
_ATTENDANCE_LABELS = {"attend": "参加", "leave": "请假"}


def report_csv(report: Report, *, tz) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for r in report.rows:
        writer.writerow(
            [
                report.notice.id,
                r.name,
                _PERSON_LABELS.get(r.person_kind, r.person_kind),
                DELIVERY_LABELS[r.delivery],
                local_time(r.delivered_at, tz).strftime("%Y-%m-%d %H:%M:%S") if r.delivered_at else "",
                local_time(r.confirmed_at, tz).strftime("%Y-%m-%d %H:%M:%S") if r.confirmed_at else "",
                _ATTENDANCE_LABELS.get(r.attendance or "", ""),
                r.reason or "",
                r.error or "",
            ]
        )
    return out.getvalue()


# ---- listing ---------------------------------------------------------------------------------------


def recent_notices(
    storage: Storage, caller: Caller, *, limit: int | None = None, config: NoticeConfig | None = None
) -> list[Report]:
    authorize(storage, caller, "view_notices")
    config = config or default_config()
    return [build_report(storage, n) for n in storage.notices_recent(limit or config.recent_notices)]


def render_list(reports: list[Report], *, tz, now: datetime | None = None) -> str:
    if not reports:
        return "还没有发送过通知。发送 /notice 开始编写一条通知。"
    lines = ["最近的通知："]
    for report in reports:
        n = report.notice
        c = report_counts(report)
        text = n.text.replace("\n", " ")
        text = text if len(text) <= 20 else text[:20] + "…"
        when = format_time(local_time(n.send_at or n.created_at, tz), now)
        lines.append(
            f"#{n.id} {when} · {n.audience_label} · {_status_text(n, tz, now)} · "
            f"已送达 {c['sent']}/{c['total']} · 已确认 {c['confirmed']} · {text}"
        )
    return "\n".join(lines)


def list_buttons(reports: list[Report]) -> list[list[Button]]:
    return [[Button(f"#{r.notice.id} 详情", f"n:v:{r.notice.id}")] for r in reports]
