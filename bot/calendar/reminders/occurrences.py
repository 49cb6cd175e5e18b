"""The deterministic engine: the occurrences of each kind of rule in a time window, and :func:`due_reminders`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, time, timedelta

from bot.calendar.events import QUARTER_KIND, ends_at, one_line, starts_at, when_text
from bot.calendar.meeting_config import default_config as meeting_config
from bot.calendar.reminders.context import Context, Occurrence, Recipient, Reminder
from bot.calendar.reminders.rules import ORG_LIFE_KIND, Citation, Rule, RuleSet
from bot.dates import add_months
from bot.ledger import Quarter, reporting_contacts, silent_units, silent_units_text, unit_reminder_text
from bot.people.progress import PHRASES
from bot.people.records import unit_names
from bot.plan.model import Plan, default_plan
from bot.plan.term import TermSettings, default_term_settings
from bot.proposals.desk import reminder_buttons
from bot.reply import Button
from bot.storage import Record, Storage
from bot.storage.calendar import EventRow

# ---- occurrences per rule kind -------------------------------------------------------------


def _event_buttons(event: EventRow) -> tuple[Button, ...]:
    """A meeting's reminder carries 参加 / 请假 too (bot/calendar/replies.py)."""
    buttons = (Button("查看活动详情", f"e:v:{event.id}"), Button("加入手机日历", f"e:i:{event.id}"))
    if meeting_config().is_meeting(event.kind):
        buttons = (Button("参加", f"m:a:e{event.id}"), Button("请假", f"m:l:e{event.id}"), *buttons)
    return buttons


def _days_text(delta: timedelta) -> str:
    if delta >= timedelta(days=1):
        return f"{round(delta / timedelta(days=1))}天后"
    if delta >= timedelta(hours=1):
        return f"{round(delta / timedelta(hours=1))}小时后"
    if delta >= timedelta(minutes=1):
        return f"{round(delta / timedelta(minutes=1))}分钟后"
    return "即将开始"


def _event_text(event: EventRow, citation: Citation, lead: str) -> str:
    lines = [f"📅 活动提醒：{lead}", f"【{event.kind}】{event.title}", f"时间：{when_text(event)}"]
    if event.place:
        lines.append(f"地点：{event.place}")
    if event.notes:
        lines.append(f"备注：{event.notes}")
    if citation.text:
        lines.append(citation.text)
    action = "请按时提交。" if event.kind == "提案截止" else "请准时参加；如不能参加，请向政协办请假。"
    lines.append(f"下一步：{action}")
    return "\n".join(lines)


def _events_near(ctx: Context, lo: datetime, hi: datetime, lead: timedelta, kinds: Iterable[str]) -> list[EventRow]:
    """Scheduled events of ``kinds`` starting between lo and hi + lead (by date, generously)."""
    return ctx.storage.events_between(
        lo.date() - timedelta(days=1), hi.date() + lead + timedelta(days=2), kinds=tuple(kinds)
    )


def _event_occurrences(ctx: Context, rule: Rule, lo: datetime, hi: datetime) -> Iterator[Occurrence]:
    longest = max(o.delta for o in rule.offsets)
    for event in _events_near(ctx, lo, hi, longest, rule.event_kinds):
        start = starts_at(event, ctx.tz)
        for offset in rule.offsets:
            if offset.at is None and event.start_time is None:
                continue  # hour offsets make sense only for events with a time
            due = offset.due(start)
            if not lo < due <= hi or due < event.scheduled_at:
                continue

            def build(
                at: datetime | None = None, event=event, start=start, due=due, offset=offset
            ) -> list[tuple[Recipient, str, tuple[Button, ...]]]:
                sent = at or due  # late (quiet hours, downtime): the lead counts from the sending
                lead = _day_lead(start.date(), sent.date()) if offset.at else _days_text(start - sent)
                text = _event_text(event, rule.event_kinds[event.kind], f"{lead}（{when_text(event)}）")
                return [(r, text, _event_buttons(event)) for r in ctx.audience(event.audience)]

            occurrence = f"{event.id}@{event.start_date}T{event.start_time or ''}:{offset.label}"
            yield Occurrence(occurrence, due, min(start, due + rule.grace), f"event:{event.id}", build, timely=True)


def _day_lead(day: date, today: date) -> str:
    days = (day - today).days
    return {0: "今天", 1: "明天", 2: "后天"}.get(days, f"{days}天后")


def _training_occurrences(ctx: Context, rule: Rule, lo: datetime, hi: datetime) -> Iterator[Occurrence]:
    for event in ctx.storage.events_between(lo.date() - timedelta(days=1), None, kinds=("培训",)):
        announced = event.scheduled_at  # when it was announced (or last moved; the key is per event)
        start = starts_at(event, ctx.tz)
        if not lo < announced <= hi or announced >= start:
            continue

        def build(event=event, start=start) -> list[tuple[Recipient, str, tuple[Button, ...]]]:
            term = ctx.term_settings.term_on(event.start_date)
            trained = ctx.counts(term.start, term.end)
            wanted = {r.key for r in ctx.audience(event.audience)}
            text = "\n".join(
                [
                    "🎓 培训提醒：新的委员培训已安排",
                    one_line(event),
                    f"{rule.citation.text}您本届（{term.label()}）还没有培训记录。",
                    "下一步：请安排时间参加；参加后点下面的按钮登记。",
                ]
            )
            buttons = (Button("查看活动详情", f"e:v:{event.id}"), Button("登记培训", "r:k:培训"))
            return [
                (ctx.person(m), text, buttons)
                for m in ctx.members
                if f"member:{m.id}" in wanted and not trained.get(m.id, {}).get("培训")
            ]

        yield Occurrence(str(event.id), announced, start, f"training:{event.id}", build)


def _quarters(lo: datetime, hi: datetime) -> Iterator[Quarter]:
    quarter = Quarter.of(lo.date() - timedelta(days=1))
    while quarter.start <= hi.date():
        yield quarter
        quarter = quarter.next()


def _quarter_day(quarter: Quarter, spec: tuple[int, int | None]) -> date:
    month, day = spec
    first = add_months(quarter.start, month - 1)
    return add_months(first, 1) - timedelta(days=1) if day is None else first.replace(day=day)


def _quarter_occurrences(ctx: Context, rule: Rule, lo: datetime, hi: datetime) -> Iterator[tuple[Quarter, datetime]]:
    for quarter in _quarters(lo, hi):
        due = ctx.at(_quarter_day(quarter, rule.quarter_day), rule.at)
        if lo < due <= hi:
            yield quarter, due


def _consultation_occurrences(ctx: Context, rule: Rule, lo: datetime, hi: datetime) -> Iterator[Occurrence]:
    for quarter, due in _quarter_occurrences(ctx, rule, lo, hi):

        def build(quarter=quarter, due=due) -> list[tuple[Recipient, str, tuple[Button, ...]]]:
            events = ctx.storage.events_in_quarter(quarter.code, QUARTER_KIND)
            if rule.check == "held":
                if any(e.start_date <= due.date() for e in events):
                    return []
                text = (
                    f"❗ {quarter.label}没有举行重要协商活动\n{rule.citation.text}\n"
                    f"本季度日程中没有已举行的{QUARTER_KIND}，未达到方案要求。\n"
                    f"下一步：请在下季度尽早安排，并在日程中登记（/event）。"
                )
            else:
                if events:
                    return []
                day_number = (due.date() - quarter.start).days + 1
                text = (
                    f"⚠️ {quarter.label}尚未安排重要协商活动\n{rule.citation.text}\n"
                    f"今天是本季度第{day_number}天，日程中还没有本季度的{QUARTER_KIND}。\n"
                    f"下一步：请确定时间和议题，由政协办秘书在日程中登记（/event）。"
                )
            recipients = ctx.named(rule.recipients)
            return [(r, text, (Button("安排协商活动", "e:new"),) if r.secretary else ()) for r in recipients]

        yield Occurrence(quarter.code, due, due + rule.grace, f"consultation:{quarter.code}", build)


def _yearly_days(rule: Rule, lo: datetime, hi: datetime) -> Iterator[date]:
    for year in range(lo.year, hi.year + 1):
        for month, day in rule.dates:
            if month == 2 and day == 29 and not _leap(year):
                day = 28
            yield date(year, month, day)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _missing_text(missing: list[tuple[str, int]]) -> str:
    return "；".join(PHRASES[kind].format(n=n) for kind, n in missing)


def _record_buttons(missing: list[tuple[str, int]]) -> tuple[Button, ...]:
    labels = {"提案": "登记提案", "社情民意": "登记社情民意", "活动": "登记活动", "培训": "登记培训"}
    return tuple(Button(labels[kind], f"r:k:{kind}") for kind, _ in missing)


def _minimum_occurrences(ctx: Context, rule: Rule, lo: datetime, hi: datetime) -> Iterator[Occurrence]:
    for day in _yearly_days(rule, lo, hi):
        due = ctx.at(day, rule.at)
        if not lo < due <= hi:
            continue

        def build(day=day) -> list[tuple[Recipient, str, tuple[Button, ...]]]:
            found = []
            for member in ctx.members:
                missing = ctx.missing(member, day.year, rule.record_kinds)
                if missing:
                    text = (
                        f"📋 年度履职提醒（截至 {day.isoformat()}）\n{rule.citation.text}\n"
                        f"您{day.year}年还需：{_missing_text(missing)}。\n"
                        "下一步：完成后请点下面的按钮登记（也可发送 /record）。"
                    )
                    found.append((ctx.person(member), text, _record_buttons(missing)))
            return found

        yield Occurrence(day.isoformat(), due, due + rule.grace, f"minimums:{day.year}", build)


def _deadline_occurrences(ctx: Context, rule: Rule, lo: datetime, hi: datetime) -> Iterator[Occurrence]:
    lead = timedelta(days=max(rule.days_before))
    for event in _events_near(ctx, lo, hi, lead, ("提案截止",)):
        for days in rule.days_before:
            due = ctx.at(event.start_date - timedelta(days=days), rule.at)
            if not lo < due <= hi or due < event.scheduled_at:
                continue

            def build(
                at: datetime | None = None, event=event, due=due
            ) -> list[tuple[Recipient, str, tuple[Button, ...]]]:
                left = (event.start_date - (at or due).date()).days  # counted from the sending
                when = f"还有 {left} 天" if left > 0 else "今天截止"
                found = []
                for member in ctx.members:
                    missing = ctx.missing(member, event.start_date.year, rule.record_kinds)
                    if missing:
                        text = (
                            f"📋 提案截止提醒：{event.start_date.isoformat()} 截止，{when}\n"
                            f"{rule.citation.text}\n"
                            f"您{event.start_date.year}年还需：{_missing_text(missing)}。\n"
                            "下一步：请在截止前提交；提交后点下面的按钮登记。"
                        )
                        found.append((ctx.person(member), text, _record_buttons(missing)))
                return found

            occurrence = f"{event.id}@{event.start_date}:{days}d"
            expires = min(due + rule.grace, ends_at(event, ctx.tz))
            yield Occurrence(occurrence, due, expires, f"deadline:{event.id}", build, timely=True)


def _proposal_line(record: Record, ctx: Context) -> str:
    author = ctx.storage.person("member", record.member_id)
    by = f"（{author.name}委员提出）" if author else ""
    return f"《{record.title}》{by}"


def _reply_occurrences(ctx: Context, rule: Rule, lo: datetime, hi: datetime) -> Iterator[Occurrence]:
    for record in ctx.storage.open_proposals():
        for days in rule.days_before:
            due = ctx.at(record.reply_due - timedelta(days=days), rule.at)
            if not lo < due <= hi:
                continue

            def build(record=record, days=days) -> list[tuple[Recipient, str, tuple[Button, ...]]]:
                text = (
                    f"📨 提案答复提醒：答复期限还有 {days} 天\n"
                    f"提案{_proposal_line(record, ctx)}由贵单位承办，交办日期 {record.assigned_on.isoformat()}，"
                    f"答复期限 {record.reply_due.isoformat()}。\n{rule.citation.text}\n"
                    "下一步：请在期限前答复提案人，并将答复情况告知政协办。"
                )
                return [
                    (r, text, reminder_buttons(record.ref, r.secretary) or (Button("查看方案第（18）项", "t:18"),))
                    for r in ctx.named(rule.recipients, record.units)
                ]

            occurrence = f"{record.id}@{record.reply_due}:{days}d"
            expires = min(due + rule.grace, ctx.at(record.reply_due + timedelta(days=1), time(0)))
            yield Occurrence(occurrence, due, expires, f"reply:{record.id}", build)


def _overdue_occurrences(ctx: Context, rule: Rule, lo: datetime, hi: datetime) -> Iterator[Occurrence]:
    for record in ctx.storage.open_proposals():
        first = record.reply_due + timedelta(days=rule.days_after)
        step = rule.repeat_days
        skip = max(0, ((lo.date() - first).days // step) - 1) if step else 0
        number = skip
        while True:
            day = first + timedelta(days=number * step)
            due = ctx.at(day, rule.at)
            if due > hi:
                break
            if due > lo:

                def build(record=record, day=day) -> list[tuple[Recipient, str, tuple[Button, ...]]]:
                    late = (day - record.reply_due).days
                    text = (
                        f"❗ 提案答复已超期 {late} 天\n提案{_proposal_line(record, ctx)}，"
                        f"承办单位：{'、'.join(unit_names(record, ctx.plan))}，"
                        f"答复期限 {record.reply_due.isoformat()}，"
                        f"至今未登记答复。\n{rule.citation.text}\n"
                    )
                    found = []
                    for r in ctx.named(rule.recipients, record.units):
                        if r.secretary:
                            action = "下一步：请督促承办单位答复；收到答复后点下面的按钮登记。"
                            buttons = reminder_buttons(record.ref, True) or (Button("登记已答复", f"r:rp:{record.id}"),)
                            found.append((r, text + action, buttons))
                        else:
                            action = "下一步：请尽快答复提案人，并将答复情况告知政协办。"
                            buttons = reminder_buttons(record.ref, False) or (Button("查看方案第（18）项", "t:18"),)
                            found.append((r, text + action, buttons))
                    return found

                occurrence = f"{record.id}@{record.reply_due}:overdue{number}"
                yield Occurrence(occurrence, due, due + rule.grace, f"overdue:{record.id}", build)
            if not step:
                break
            number += 1


def _org_life_recorded(ctx: Context, year: int) -> bool:
    """A 组织生活会 event in the year (scheduled, not cancelled), or a ledger report on the task."""
    if ctx.storage.events_between(date(year, 1, 1), date(year + 1, 1, 1), kinds=(ORG_LIFE_KIND,)):
        return True
    task = ctx.plan.setting("branch_organisational_life").task
    return any(report.quarter.startswith(str(year)) for report in ctx.storage.ledger_reports(task=task))


def _org_life_occurrences(ctx: Context, rule: Rule, lo: datetime, hi: datetime) -> Iterator[Occurrence]:
    for day in _yearly_days(rule, lo, hi):
        due = ctx.at(day, rule.at)
        if not lo < due <= hi:
            continue

        def build(day=day) -> list[tuple[Recipient, str, tuple[Button, ...]]]:
            if _org_life_recorded(ctx, day.year):
                return []
            task = ctx.plan.setting("branch_organisational_life").task
            text = (
                f"🏛 组织生活会提醒\n{rule.citation.text}\n{day.year}年尚未登记功能型党支部组织生活会。\n"
                f"下一步：请安排召开；召开后发送 /report {task} 填报情况，"
                f"或请政协办在日程中登记（类型“{ORG_LIFE_KIND}”）。"
            )
            return [(r, text, (Button(f"查看方案第（{task}）项", f"t:{task}"),)) for r in ctx.named(rule.recipients)]

        yield Occurrence(day.isoformat(), due, due + rule.grace, f"orglife:{day.year}", build)


def _ledger_unit_occurrences(ctx: Context, rule: Rule, lo: datetime, hi: datetime) -> Iterator[Occurrence]:
    for quarter, due in _quarter_occurrences(ctx, rule, lo, hi):

        def build(quarter=quarter) -> list[tuple[Recipient, str, tuple[Button, ...]]]:
            found = []
            for unit_id, numbers in silent_units(ctx.storage, quarter, ctx.plan):
                text = f"{unit_reminder_text(unit_id, numbers, quarter, ctx.plan)}\n{rule.citation.text}"
                for person in reporting_contacts(ctx.storage, unit_id, ctx.plan):
                    found.append((ctx.person(person), text, ()))
            return _first_per_recipient(found)

        yield Occurrence(quarter.code, due, due + rule.grace, f"ledger:{quarter.code}", build)


def _first_per_recipient(
    items: list[tuple[Recipient, str, tuple[Button, ...]]],
) -> list[tuple[Recipient, str, tuple[Button, ...]]]:
    """One reminder per person under one occurrence (a contact may report for several units)."""
    found: dict[str, tuple[Recipient, str, tuple[Button, ...]]] = {}
    for recipient, text, buttons in items:
        if recipient.key in found:
            previous = found[recipient.key]
            found[recipient.key] = (recipient, f"{previous[1]}\n\n{text}", previous[2])
        else:
            found[recipient.key] = (recipient, text, buttons)
    return list(found.values())


def _ledger_summary_occurrences(ctx: Context, rule: Rule, lo: datetime, hi: datetime) -> Iterator[Occurrence]:
    for quarter, due in _quarter_occurrences(ctx, rule, lo, hi):

        def build(quarter=quarter) -> list[tuple[Recipient, str, tuple[Button, ...]]]:
            if not silent_units(ctx.storage, quarter, ctx.plan):
                return []
            text = (
                f"🗂 任务台账季度小结\n{silent_units_text(ctx.storage, quarter, ctx.plan)}\n{rule.citation.text}\n"
                "下一步：发送 /ledger 查看全貌，并督促以上单位填报。"
            )
            return [(r, text, ()) for r in ctx.named(rule.recipients)]

        yield Occurrence(quarter.code, due, due + rule.grace, f"ledger-summary:{quarter.code}", build)


GENERATORS: dict[str, Callable[[Context, Rule, datetime, datetime], Iterator[Occurrence]]] = {
    "event": _event_occurrences,
    "training_announced": _training_occurrences,
    "quarterly_consultation": _consultation_occurrences,
    "member_minimums": _minimum_occurrences,
    "proposal_deadline": _deadline_occurrences,
    "proposal_reply": _reply_occurrences,
    "proposal_overdue": _overdue_occurrences,
    "organisational_life": _org_life_occurrences,
    "ledger_units": _ledger_unit_occurrences,
    "ledger_summary": _ledger_summary_occurrences,
}


def due_reminders(
    storage: Storage,
    rules: RuleSet,
    start: datetime,
    end: datetime,
    now: datetime,
    *,
    admin_ids: frozenset[int] = frozenset(),
    plan: Plan | None = None,
    term_settings: TermSettings | None = None,
) -> list[Reminder]:
    """Every reminder the rules produce with a delivery time in (start, end], in time order.

    Deterministic: depends only on the database, the rules and the arguments. ``now`` decides
    which are already past their grace (status "late"); people without a Telegram account get
    status "unbound". Conditions (who still lacks a proposal, whether a consultation is
    scheduled …) are evaluated on the database as it is now.
    """
    if start.tzinfo is None or end.tzinfo is None or now.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    ctx = Context(storage, frozenset(admin_ids), plan or default_plan(), term_settings or default_term_settings())
    # A reminder due up to a day before the window can be moved into it by the quiet hours.
    lo = start - timedelta(days=1) if rules.quiet.active else start
    found: list[Reminder] = []
    for rule in rules.enabled():
        for occ in GENERATORS[rule.kind](ctx, rule, lo, end):
            when = rules.quiet.shift(occ.due.astimezone(ctx.tz))
            if not start < when <= end:
                continue
            for recipient, text, buttons in occ.build(at=max(when, now)) if occ.timely else occ.build():
                if when > occ.expires:
                    status = "expired"  # the quiet hours pushed it past its use
                elif now > occ.expires:
                    status = "late"
                else:
                    status = "due" if recipient.telegram_id is not None else "unbound"
                found.append(
                    Reminder(
                        when, occ.due, occ.expires, recipient, rule.id, occ.occurrence, occ.topic, text, buttons, status
                    )
                )
    found.sort(key=lambda r: (r.when, r.recipient.key, r.rule_id, r.occurrence))
    return found
