"""One reminder pass: record each decision under its exactly-once key and hand the messages to the outbox; preview."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from bot.calendar.reminders.context import Reminder
from bot.calendar.reminders.messages import Message, fits, merge, supersede
from bot.calendar.reminders.occurrences import due_reminders
from bot.calendar.reminders.rules import MAX_LOOKBACK, SOURCE_KIND, RuleSet
from bot.notices.outbox import Outgoing, enqueue
from bot.plan.model import Plan
from bot.plan.term import TermSettings
from bot.storage import Storage

# ---- delivery ------------------------------------------------------------------------------

LAST_PASS = "last_pass"
SKIP_REASONS = {
    "unbound": "未绑定 Telegram",
    "expired": "免打扰时段顺延后已失去意义（例如活动已开始）",
    "late": "机器人停机期间到期，已超过补发时限",
    "superseded": "停机期间到期，已被同一事项较新的提醒取代",
}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PassResult:
    start: datetime
    end: datetime
    sent: list[Message]
    skipped: list[Reminder]
    digest_to: list[int]


def deliver_due(
    storage: Storage,
    rules: RuleSet,
    now: datetime,
    *,
    admin_ids: frozenset[int] = frozenset(),
    plan: Plan | None = None,
    term_settings: TermSettings | None = None,
) -> PassResult:
    """One reminder pass: everything due in (last pass, now] is decided exactly once.

    In one transaction: each reminder's (rule, occurrence, recipient) key is recorded as sent or
    skipped (unbound, late, superseded), the messages go into the outbox, the skips not yet
    reported go to the secretaries as one digest, and the pass's end is stored. A key already
    recorded is never sent again, so passes may overlap or repeat after a crash.
    """
    last = storage.reminder_state(LAST_PASS)
    start = datetime.fromisoformat(last) if last else now
    start = max(min(start, now), now - MAX_LOOKBACK)
    found = due_reminders(storage, rules, start, now, now, admin_ids=admin_ids, plan=plan, term_settings=term_settings)
    decided = storage.delivery_keys([r.key for r in found])
    fresh = [r for r in found if r.key not in decided]
    fresh, superseded = supersede(fresh)
    messages = merge(fresh)
    skipped = [r for r in fresh if r.status != "due"] + superseded
    with storage.atomic():
        for message in messages:
            for reminder in message.reminders:
                storage.record_delivery(
                    reminder.key,
                    outcome="sent",
                    due_at=reminder.due,
                    decided_at=now,
                    telegram_id=message.telegram_id,
                    recipient_name=reminder.recipient.name,
                    summary=reminder.summary,
                    outbox_key=message.outbox_id,
                )
            enqueue(
                storage,
                source_kind=SOURCE_KIND,
                source_id=message.outbox_id,
                messages=[Outgoing(f"tg:{message.telegram_id}", message.telegram_id, message.text, message.buttons)],
                now=now,
            )
        for reminder in skipped:
            storage.record_delivery(
                reminder.key,
                outcome="skipped",
                reason=reminder.status,
                due_at=reminder.due,
                decided_at=now,
                telegram_id=reminder.recipient.telegram_id,
                recipient_name=reminder.recipient.name,
                summary=reminder.summary,
            )
        digest_to = _enqueue_digest(storage, now, admin_ids)
        storage.set_reminder_state(LAST_PASS, now.isoformat())
    for reminder in skipped:
        log.info(
            "reminder skipped (%s): %s %s → %s",
            reminder.status,
            reminder.rule_id,
            reminder.occurrence,
            reminder.recipient.key,
        )
    return PassResult(start, now, messages, skipped, digest_to)


def skip_digest_text(skips: list) -> str:
    """The secretaries' list of reminders that could not be delivered, grouped by reason (one message)."""
    head = f"以下 {len(skips)} 条提醒未能发出："
    tail = "下一步：请提醒未绑定的人员发送 /start 验证身份；全部明细见 cppcc-bot reminders skipped。"
    lines = [head]
    shown = 0
    for reason, label in SKIP_REASONS.items():
        group = [f"· {s.recipient_name}：{s.summary}" for s in skips if s.reason == reason]
        for index, line in enumerate(group):
            added = [f"【{label}】", line] if index == 0 else [line]
            if not fits("\n".join([*lines, *added, "……另有 99999 条未列出", tail])):
                break
            lines += added
            shown += 1
    if shown < len(skips):
        lines.append(f"……另有 {len(skips) - shown} 条未列出")
    return "\n".join([*lines, tail])


def _enqueue_digest(storage: Storage, now: datetime, admin_ids: frozenset[int]) -> list[int]:
    """One message to every secretary listing the skips not yet reported; returns their ids."""
    skips = storage.unreported_skips()
    secretaries = sorted(set(admin_ids) | {admin.telegram_id for admin in storage.admins()})
    if not skips or not secretaries:
        return []
    text = skip_digest_text(skips)
    digest_id = f"skips-{skips[-1].id}"
    enqueue(
        storage,
        source_kind=SOURCE_KIND,
        source_id=digest_id,
        messages=[Outgoing(f"secretary:{telegram_id}", telegram_id, text) for telegram_id in secretaries],
        now=now,
    )
    storage.mark_skips_reported([s.id for s in skips])
    return secretaries


def next_due(
    storage: Storage,
    rules: RuleSet,
    now: datetime,
    horizon: timedelta = timedelta(days=2),
    **kwargs: Any,
) -> datetime | None:
    """The delivery time of the next reminder after ``now`` within ``horizon`` (for precise wake-ups)."""
    upcoming = due_reminders(storage, rules, now, now + horizon, now, **kwargs)
    return min((r.when for r in upcoming), default=None)


# ---- preview ------------------------------------------------------------------------------


def preview(
    storage: Storage,
    rules: RuleSet,
    first: date,
    last: date,
    *,
    admin_ids: frozenset[int] = frozenset(),
    plan: Plan | None = None,
    term_settings: TermSettings | None = None,
) -> tuple[list[Message], list[Reminder]]:
    """Messages that would go out on the days first..last, and reminders that could not be delivered."""
    start = datetime.combine(first, time(0), storage.tz) - timedelta(microseconds=1)
    end = datetime.combine(last + timedelta(days=1), time(0), storage.tz) - timedelta(microseconds=1)
    found = due_reminders(
        storage, rules, start, end, start, admin_ids=admin_ids, plan=plan, term_settings=term_settings
    )
    return merge(found), [r for r in found if r.status != "due"]


def preview_json(messages: list[Message], skipped: list[Reminder]) -> dict[str, Any]:
    return {
        "messages": [
            {
                "when": m.when.isoformat(),
                "telegram_id": m.telegram_id,
                "recipients": sorted({r.recipient.key for r in m.reminders}),
                "names": sorted({r.recipient.name for r in m.reminders}),
                "rules": [r.rule_id for r in m.reminders],
                "occurrences": [r.occurrence for r in m.reminders],
                "text": m.text,
                "buttons": [b.text for row in m.buttons for b in row],
            }
            for m in messages
        ],
        "skipped": [
            {
                "when": r.when.isoformat(),
                "recipient": r.recipient.key,
                "name": r.recipient.name,
                "rule": r.rule_id,
                "occurrence": r.occurrence,
                "reason": r.status,
                "summary": r.summary,
            }
            for r in skipped
        ],
    }


def preview_text(messages: list[Message], skipped: list[Reminder]) -> str:
    lines = []
    for m in messages:
        names = "、".join(sorted({r.recipient.name for r in m.reminders}))
        rules = "、".join(r.rule_id for r in m.reminders)
        lines.append(f"{m.when:%Y-%m-%d %H:%M} → {names} · chat {m.telegram_id} [{rules}]")
        lines += [f"    {line}" for line in m.text.splitlines()]
    if skipped:
        lines.append(f"无法送达的提醒（{len(skipped)} 条）：")
        for r in skipped:
            reason = SKIP_REASONS.get(r.status, r.status)
            lines.append(f"{r.when:%Y-%m-%d %H:%M} ✗ {r.recipient.name} [{r.rule_id}] {reason}：{r.summary}")
    lines.append(f"共 {len(messages)} 条消息，{sum(len(m.reminders) for m in messages)} 条提醒。")
    return "\n".join(lines)
