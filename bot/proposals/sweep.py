"""The periodic pass (every minute in the bot; idempotent): co-sign waits that ended go to
review, unfinished drafts get one reminder and are discarded after ``draft_days``, and once a
day the secretaries get a digest of what has waited longer than N working days."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.notices.outbox import enqueue
from bot.people.roles import Caller
from bot.proposals.desk import (
    KIND_LABELS,
    SOURCE,
    Desk,
    ProposalError,
    button,
    change,
    name_of,
    outgoing,
    to_member,
    to_secretaries,
)
from bot.proposals.drafts import cosign_deadline

log = logging.getLogger(__name__)
SYSTEM = Caller(telegram_id=None, name="助手", role="admin")
DIGEST_AT = time(9, 0)
DAY_START, DAY_END = time(8, 0), time(21, 0)


@dataclass(frozen=True)
class SweepResult:
    to_review: int = 0
    reminded: int = 0
    discarded: int = 0
    digest: int = 0


def is_workday(day: date) -> bool:
    """China's statutory holidays and 调休 working days when the optional `chinese-calendar`
    package is installed and covers the year; otherwise Monday to Friday."""
    try:
        import chinese_calendar  # optional: not a dependency
    except ImportError:
        return day.weekday() < 5
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:  # a year the installed release does not cover
        log.warning("chinese-calendar does not cover %s; counting weekends only", day.year)
        return day.weekday() < 5


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end``."""
    days, day = 0, start
    while day < end:
        day += timedelta(days=1)
        days += is_workday(day)
    return days


def sweep(desk: Desk) -> SweepResult:
    """Nothing at night (21:00–08:00, like the reminders' quiet hours): what falls due then is
    done at 08:00, so nobody gets a draft reminder or a review card in the middle of the night."""
    if not DAY_START <= desk.now.time() < DAY_END:
        return SweepResult()
    storage = desk.storage
    to_review = reminded = discarded = 0
    for p in storage.proposals_where(statuses=("cosigning",)):
        if p.cosign_until and datetime.fromisoformat(p.cosign_until) <= desk.now:
            try:
                cosign_deadline(desk, SYSTEM, p)
                to_review += 1
            except ProposalError:
                pass  # answered meanwhile
    for p in storage.proposals_where(statuses=("draft",)):
        idle = desk.now - datetime.fromisoformat(p.updated_at)
        what, title = KIND_LABELS[p.kind], p.title or "未写标题"
        try:
            if idle >= timedelta(days=desk.config.draft_days):
                change(
                    desk,
                    SYSTEM,
                    p,
                    "expire",
                    "",
                    {"status": "discarded"},
                    when=("draft",),
                    notices=to_member(
                        storage,
                        p.member_id,
                        desk.config.text("draft_expired", kind=what, title=title, days=desk.config.draft_days),
                    ),
                )
                storage.proposal_inputs_clear(p.id, ("title", "body", "cosigners"))
                discarded += 1
            elif idle >= timedelta(days=desk.config.draft_reminder_days) and not p.draft_reminded:
                left = desk.config.draft_days - desk.config.draft_reminder_days
                change(
                    desk,
                    SYSTEM,
                    p,
                    "draft_reminder",
                    "",
                    {"draft_reminded": 1},
                    when=("draft",),
                    touch=False,
                    notices=to_member(
                        storage,
                        p.member_id,
                        desk.config.text("draft_reminder", kind=what, title=title, days=left),
                        [[button("继续编辑", "rs", p.id), button("放弃草稿", "dx", p.id)]],
                    ),
                )
                reminded += 1
        except ProposalError:
            continue  # edited meanwhile
    return SweepResult(to_review, reminded, discarded, digest(desk))


def digest(desk: Desk) -> int:
    """Once a day after 09:00: what has waited for review more than N working days."""
    if desk.now.time() < DIGEST_AT:
        return 0
    limit = desk.config.review_digest_working_days
    late = [
        p
        for p in desk.storage.proposals_where(statuses=("review", "accepted"))
        if working_days_between(datetime.fromisoformat(p.review_since or p.updated_at).date(), desk.today) > limit
    ]
    if not late:
        return 0
    lines = [f"【提案审查提醒】以下 {len(late)} 件已等待超过 {limit} 个工作日："]
    lines += [f"· {name_of(p)}（{'待交办' if p.status == 'accepted' else '待审查'}）" for p in late[:30]]
    lines.append("发送 /review 处理。")
    rows = [row for notice in to_secretaries(desk, "\n".join(lines)) for row in outgoing(notice)]
    return enqueue(
        desk.storage, source_kind=f"{SOURCE}-digest", source_id=desk.today.isoformat(), messages=rows, now=desk.now
    )
