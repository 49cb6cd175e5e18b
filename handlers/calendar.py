"""Telegram handlers for the calendar and reminders (thin: updates → bot/ calls → messages).

* ``/events``: upcoming events concerning the caller; ``/calendar``: an .ics file of them.
* ``/event``: a secretary's guided flow (type → name → date → time → place → audience →
  notes → confirmation), with buttons at every step.
* Buttons (prefix ``e:`` for events, ``r:`` for recording a duty from a reminder): see an
  event, add it to the phone calendar, change or cancel it (secretaries), record a proposal /
  social-conditions item / activity / training, register a proposal's reply (secretaries).
* Start-up: the reminder scheduler (see scheduler/reminders.py) runs its catch-up pass and
  creates its jobs; reminder messages go into the shared outbox, whose sender (started by
  handlers/notices.py) delivers them.

Open steps live in ``user_data`` under one key; a message filter routes a user's next
private text here only while a step is open, so questions keep going to the QA handlers.
"""

from __future__ import annotations

import time
from typing import Any

from telegram import BotCommand, InputFile, Message, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot.calendar.events import (
    EVENT_KINDS,
    EventError,
    add_event,
    audience_spec,
    day_guesses,
    describe,
    event_argument,
    get_event,
    list_events,
    one_line,
    parse_day,
    parse_time_range,
    preview_change,
    starts_at,
    time_guesses,
    upcoming_for,
    validate,
)
from bot.calendar.ics import calendar_bytes
from bot.calendar.invitations import cancel_and_tell, change_and_tell, send_with_notice
from bot.calendar.meeting_config import default_config as default_meeting_config
from bot.calendar.meetings import invitee, meeting_of, person_key, reply_buttons
from bot.calendar.signin import window as signin_window
from bot.numbers import read_number
from bot.people.records import RecordError, add_record, reply_proposal
from bot.people.roles import Caller, PermissionDenied, authorize
from bot.reply import Button, Reply
from bot.storage import RECORD_KINDS
from handlers import meetings
from handlers.common import SERVICES_KEY, AwaitingStep, caller, is_private, permitted, services
from handlers.privacy import acknowledge, send_file
from handlers.render import send_reply
from scheduler.meetings import MeetingScheduler
from scheduler.reminders import ReminderScheduler

COMMANDS = [
    BotCommand("events", "近期与我有关的活动"),
    BotCommand("calendar", "把活动加入手机日历（.ics 文件）"),
]
SECRETARY_COMMANDS = [BotCommand("event", "安排或修改活动（政协办秘书）")]

SCHEDULER_KEY = "events.scheduler"
MEETINGS_KEY = "events.meetings"
DRAFT_KEY = "events.draft"  # in user_data: {"what": "event" | "change" | "record", "step": …, "until": …}
DRAFT_TTL = 30 * 60
UPCOMING_DAYS = 90
MAX_LISTED = 8
AUDIENCE_CHOICES = ("全体委员", "常委", "秘书")
RECORD_HINTS = {
    "提案": "提案标题",
    "社情民意": "社情民意信息的标题",
    "活动": "参加的会议或视察调研活动名称",
    "培训": "参加的培训名称",
}
CHANGE_FIELDS = {
    "date": ("日期", "请发送新的日期，例如 2027-03-12（时间不变）。"),
    "time": ("时间", "请发送新的时间，例如 14:30 或 14:30-16:30；写“全天”表示不定时间。"),
    "place": ("地点", "请发送新的地点。"),
    "audience": ("对象", "请发送新的活动对象，例如：全体委员、常委、经济委、习岗镇、财政局。"),
    "title": ("名称", "请发送新的活动名称。"),
    "notes": ("备注", "请发送新的备注；写“无”表示清空。"),
}
QUIT = [Button("取消", "e:q")]


# ---- start-up and shut-down -------------------------------------------------------------------


def scheduler_of(app: Application) -> ReminderScheduler | None:
    return app.bot_data.get(SCHEDULER_KEY)


def _wake_outbox(app: Application) -> None:
    """Tell the outbox sender (handlers/notices.py) to look now; it also polls every second."""
    from handlers import notices

    sender = app.bot_data.get(notices.SENDER_KEY)
    if sender is not None:
        sender.wake()


async def startup(app: Application) -> None:
    """Validate the rules (a broken rules file stops the start), catch up, start the jobs."""
    svc = app.bot_data[SERVICES_KEY]
    scheduler = ReminderScheduler(svc.storage, svc.settings.admin_ids, on_enqueued=lambda: _wake_outbox(app))
    app.bot_data[SCHEDULER_KEY] = scheduler
    scheduler.start(app.job_queue)
    passes = MeetingScheduler(svc.storage, svc.settings.admin_ids, on_enqueued=lambda: _wake_outbox(app))
    app.bot_data[MEETINGS_KEY] = passes
    passes.start(app.job_queue)


async def shutdown(app: Application) -> None:
    passes = app.bot_data.pop(MEETINGS_KEY, None)
    if passes is not None:
        passes.stop()
    scheduler = app.bot_data.pop(SCHEDULER_KEY, None)
    if scheduler is not None:
        scheduler.stop()


def _after_change(context: ContextTypes.DEFAULT_TYPE) -> None:
    """An event was added or changed: reminders that are due now (e.g. a training announcement) go
    out at once, and the next wake-up is re-planned."""
    scheduler = scheduler_of(context.application)
    if scheduler is None:
        return
    try:
        scheduler.run_pass()
    finally:
        scheduler.replan()


# ---- small helpers --------------------------------------------------------------------------------


async def _say(message: Message, text: str, buttons: list[list[Button]] | None = None, *, personal=True) -> None:
    """One's events, records and the secretaries' event work: personal unless said otherwise."""
    await send_reply(message, Reply(text, buttons or [], personal=personal))


async def _refuse(message: Message, text: str, buttons: list[list[Button]] | None = None) -> None:
    """A short "no" about the asker's own request (not permitted, stale button, step over)."""
    await send_reply(message, Reply(text, buttons or [], refusal=True))


def _await(context: ContextTypes.DEFAULT_TYPE, what: str, step: str, **values: Any) -> None:
    context.user_data[DRAFT_KEY] = {"what": what, "step": step, "until": time.monotonic() + DRAFT_TTL, **values}


def _state(context: ContextTypes.DEFAULT_TYPE) -> dict:
    state = context.user_data.get(DRAFT_KEY)
    return state if state and time.monotonic() < state["until"] else {}


def _done(context: ContextTypes.DEFAULT_TYPE) -> None:
    context.user_data.pop(DRAFT_KEY, None)


async def _ics(message: Message, data: bytes, filename: str, caption: str) -> None:
    await send_file(message, InputFile(data, filename=filename), caption=caption)


# ---- /events and /calendar ---------------------------------------------------------------------


async def events_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    svc = services(context)
    who = caller(update, context)
    if not await permitted(message, context, who, "view_events"):
        return
    events = upcoming_for(svc.storage, who, svc.storage.now(), UPCOMING_DAYS)
    if not events:
        await _say(message, f"未来{UPCOMING_DAYS}天没有与您有关的活动。")
        return
    lines = [f"近期活动（{len(events)} 项）："] + [f"· {one_line(e)}（编号 {e.id}）" for e in events]
    buttons = [[Button(f"详情：{e.title[:20]}（{e.start_date:%m-%d}）", f"e:v:{e.id}")] for e in events[:MAX_LISTED]]
    buttons.append([Button("全部加入手机日历", "e:ics")])
    await _say(message, "\n".join(lines), buttons)


def _calendar_events(svc, who: Caller) -> list:
    """Events concerning the caller from a month ago on, cancelled ones included (so phone
    calendars that imported them earlier drop them)."""
    from datetime import timedelta

    today = svc.storage.today()
    return list_events(svc.storage, who, today - timedelta(days=31), None, include_cancelled=True)


async def _send_calendar(message: Message, context: ContextTypes.DEFAULT_TYPE, who: Caller) -> None:
    svc = services(context)
    if not await permitted(message, context, who, "view_events"):
        return
    events = _calendar_events(svc, who)
    live = sum(1 for e in events if e.status == "scheduled")
    data = calendar_bytes(events, svc.storage.tz, svc.storage.now())
    caption = f"共 {live} 项活动。在手机上打开此文件即可加入日历；活动有变动时重新发送 /calendar 即可更新。"
    await _ics(message, data, "cppcc-events.ics", caption)


async def calendar_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _send_calendar(update.effective_message, context, caller(update, context))


# ---- /event: the guided flow ---------------------------------------------------------------------

PROMPTS = {
    "title": ("请发送活动名称（例如：优化营商环境专题协商会），或点“用类型作名称”。", [Button("用类型作名称", "e:s")]),
    "date": ("请发送日期，例如 2027-03-10。", []),
    "time": ("请发送时间，例如 14:30 或 14:30-16:30；全天的活动点“全天”。", [Button("全天", "e:s")]),
    "place": ("请发送地点，或点“跳过”。", [Button("跳过", "e:s")]),
    "audience": (
        "请选择或发送活动对象，例如：全体委员、常委、经济委、习岗镇、财政局、秘书；多个对象用“+”连接。",
        [Button(word, f"e:a:{i}") for i, word in enumerate(AUDIENCE_CHOICES)],
    ),
    "notes": ("请发送备注（例如材料、着装要求），或点“跳过”。", [Button("跳过", "e:s")]),
}
STEPS = ("kind", "title", "date", "time", "place", "audience", "notes", "confirm")


async def event_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    who = caller(update, context)
    if not await permitted(message, context, who, "manage_events"):
        return
    if not is_private(message):
        await _say(message, "请在与我的私聊中安排活动。", personal=False)
        return
    try:
        event_id = event_argument(" ".join(context.args or []))
        if event_id is not None:
            await _show_event(message, context, who, event_id)
            return
    except (EventError, PermissionDenied) as exc:
        await _say(message, exc.message)
        return
    await _ask_kind(message, context)


async def _ask_kind(message: Message, context: ContextTypes.DEFAULT_TYPE) -> None:
    _await(context, "event", "kind", fields={})
    rows = [[Button(kind, f"e:k:{i}")] for i, kind in enumerate(EVENT_KINDS)]
    await _say(message, "安排新活动。请选择活动类型：", [*rows, QUIT])


async def _ask(message: Message, context: ContextTypes.DEFAULT_TYPE, state: dict, step: str, note: str = "") -> None:
    """The next step's prompt; ``note``: how the last answer was read, when that was a guess."""
    if step == "confirm":
        await _confirm(message, context, state)
        return
    _await(context, "event", step, fields=state["fields"], guesses=state.get("guesses", {}))
    text, buttons = PROMPTS[step]
    text = f"已记下：{note}。\n{text}" if note else text
    await _say(message, text, [buttons, QUIT] if buttons else [QUIT])


def _guesses(svc, step: str, text: str) -> list[str]:
    """Readings of a date or time that were guesses (3.5 → 3月5日, 3点 → 下午3:00), to echo back."""
    if step == "date":
        return day_guesses(text, svc.storage.today())
    if step == "time" and text.strip() not in ("全天", "无"):
        return time_guesses(text)
    return []


def _next_step(step: str) -> str:
    return STEPS[STEPS.index(step) + 1]


async def _confirm(message: Message, context: ContextTypes.DEFAULT_TYPE, state: dict) -> None:
    svc = services(context)
    try:
        checked = validate(svc.storage, now=svc.storage.now(), **state["fields"])
    except EventError as exc:
        _await(context, "event", "date", fields=state["fields"])
        await _say(message, f"{exc.message}\n请重新发送日期。", [QUIT])
        return
    guesses = state.get("guesses", {})
    _await(context, "event", "confirm", fields={**state["fields"], "audience": checked.audience}, guesses=guesses)
    text = f"请确认：\n{describe(checked, with_id=False)}"
    noted = [guess for step in ("date", "time") for guess in guesses.get(step, [])]
    if noted:
        text += f"\n请核对：{'；'.join(noted)}。不对请点“取消”后重新安排。"
    rows = [[Button("确认安排", "e:ok")]]
    if default_meeting_config().is_meeting(checked.kind):
        rows.append([Button("确认安排，同时发送会议通知", "e:okn")])
    await _say(message, text, [*rows, QUIT])


def _check_step(svc, step: str, text: str) -> Any:
    """The value for a step from what the secretary typed; EventError says why not."""
    if step == "date":
        day = parse_day(text)
        if day < svc.storage.today():
            raise EventError(f"日期 {day.isoformat()} 已经过去，不能安排")
        return day.isoformat()
    if step == "time":
        if text.strip() in ("全天", "无"):
            return None
        parse_time_range(text)
        return text.strip()
    if step == "audience":
        return audience_spec(svc.storage, text)
    return text.strip()


async def _event_text(message: Message, context: ContextTypes.DEFAULT_TYPE, state: dict) -> None:
    step = state["step"]
    if step in ("kind", "confirm"):
        await _say(message, "请点上面的按钮继续，或点“取消”。", [QUIT])
        return
    svc = services(context)
    try:
        value = _check_step(svc, step, message.text or "")
    except EventError as exc:
        await _say(message, f"{exc.message}\n{PROMPTS[step][0]}", [PROMPTS[step][1], QUIT])
        return
    state["fields"][step] = value
    guesses = _guesses(svc, step, message.text or "")
    state["guesses"] = {**state.get("guesses", {}), step: guesses}
    await _ask(message, context, state, _next_step(step), "；".join(guesses))


async def _event_button(message: Message, context: ContextTypes.DEFAULT_TYPE, who: Caller, data: str) -> None:
    state = _state(context)
    if state.get("what") != "event":
        await _refuse(message, "这一步已经结束。发送 /event 重新安排活动。")
        return
    step = state["step"]
    if data.startswith("e:k:") and step == "kind":
        index = read_number(data[4:], low=0, high=len(EVENT_KINDS) - 1)
        if index is None:
            await _refuse(message, "这个按钮已失效，请重新发送 /event。")
            return
        state["fields"]["kind"] = EVENT_KINDS[index]
        await _ask(message, context, state, "title")
    elif data == "e:s" and step in ("title", "time", "place", "notes"):
        state["fields"][step] = None
        await _ask(message, context, state, _next_step(step))
    elif data.startswith("e:a:") and step == "audience":
        index = read_number(data[4:], low=0, high=len(AUDIENCE_CHOICES) - 1)
        if index is None:
            await _refuse(message, "这个按钮已失效。", [QUIT])
            return
        state["fields"]["audience"] = audience_spec(services(context).storage, AUDIENCE_CHOICES[index])
        await _ask(message, context, state, "notes")
    elif data in ("e:ok", "e:okn") and step == "confirm":
        svc = services(context)
        event = add_event(svc.storage, who, **state["fields"])
        _done(context)
        text = f"已安排：\n{describe(event)}"
        if data == "e:okn":
            text += "\n" + _send_notice(svc, who, event.id)
            meetings.wake_outbox(context)
        await _say(message, text, [[Button("查看活动", f"e:v:{event.id}")]])
        _after_change(context)
    else:
        await _refuse(message, "这个按钮不属于当前这一步，请按提示继续，或点“取消”。", [QUIT])


# ---- one event: details, calendar file, change, cancel ---------------------------------------------


def _send_notice(svc, who: Caller, event_id: int) -> str:
    """同时发送会议通知; the line that says what happened."""
    try:
        notice_id = send_with_notice(
            svc.storage, who, event_id, now=svc.storage.now(), admin_ids=svc.settings.admin_ids, plan=svc.plan
        )
    except EventError as exc:
        return f"会议通知未发送：{exc.message}"
    return f"会议通知 #{notice_id} 正在发送，参会人员可直接点“参加”或“请假”回复。"


def _invitation_buttons(svc, event, telegram_id: int) -> list[list[Button]] | None:
    """参加 / 请假 (and 签到 while sign-in is open) for an invitee of a meeting; None for others."""
    meeting = meeting_of(svc.storage, f"e{event.id}")
    if invitee(svc.storage, meeting, telegram_id, svc.settings.admin_ids) is None:
        return None
    now = svc.storage.now()
    rows = []
    if now < starts_at(event, svc.storage.tz):
        rows = reply_buttons(meeting, svc.storage.meeting_reply(meeting.ref, person_key(svc.storage, telegram_id)))
    opens, closes = signin_window(event, svc.storage.tz, default_meeting_config())
    if opens <= now <= closes:
        rows.append([Button("签到", f"m:s:e{event.id}")])
    return rows or None


async def _show_event(message: Message, context: ContextTypes.DEFAULT_TYPE, who: Caller, event_id: int) -> None:
    svc = services(context)
    event = get_event(svc.storage, who, event_id)
    buttons = [[Button("加入手机日历", f"e:i:{event.id}")]]
    meeting = event.status == "scheduled" and default_meeting_config().is_meeting(event.kind)
    invited = meeting and who.telegram_id is not None and _invitation_buttons(svc, event, who.telegram_id)
    if invited:
        buttons = invited
    if "admin" in who.capacities and event.status == "scheduled":
        if meeting:
            buttons.append([Button("回复与出勤", f"m:v:e{event.id}")])
            if not event.notice_id:
                buttons.append([Button("发送会议通知", f"e:n:{event.id}")])
        buttons.append([Button("修改", f"e:c:{event.id}"), Button("取消活动", f"e:x:{event.id}")])
    await _say(message, describe(event), buttons)


async def _event_file(message: Message, context: ContextTypes.DEFAULT_TYPE, who: Caller, event_id: int) -> None:
    svc = services(context)
    event = get_event(svc.storage, who, event_id)
    data = calendar_bytes([event], svc.storage.tz, svc.storage.now())
    await _ics(message, data, f"cppcc-event-{event.id}.ics", f"{one_line(event)}\n在手机上打开此文件即可加入日历。")


async def _change_menu(message: Message, context: ContextTypes.DEFAULT_TYPE, who: Caller, event_id: int) -> None:
    svc = services(context)
    authorize(svc.storage, who, "manage_events")
    event = get_event(svc.storage, who, event_id)
    rows = [[Button(label, f"e:cf:{event.id}:{field}")] for field, (label, _) in CHANGE_FIELDS.items()]
    await _say(message, f"要修改哪一项？\n{describe(event)}", [*rows, QUIT])


async def _change_field(message: Message, context: ContextTypes.DEFAULT_TYPE, who: Caller, rest: str) -> None:
    authorize(services(context).storage, who, "manage_events")
    written, _, field = rest.partition(":")
    event_id = read_number(written)
    if event_id is None or field not in CHANGE_FIELDS:
        await _refuse(message, "这个按钮已失效。")
        return
    _await(context, "change", "value", event_id=event_id, field=field)
    await _say(message, CHANGE_FIELDS[field][1], [QUIT])


def _change_value(field: str, text: str) -> Any:
    text = text.strip()
    if field == "time" and text in ("全天", "无"):
        return None
    if field == "notes" and text == "无":
        return ""
    return text


async def _change_text(message: Message, context: ContextTypes.DEFAULT_TYPE, state: dict) -> None:
    svc = services(context)
    field = state["field"]
    value = _change_value(field, message.text or "")
    try:
        checked = preview_change(svc.storage, state["event_id"], now=svc.storage.now(), **{field: value})
    except EventError as exc:
        await _say(message, f"{exc.message}\n{CHANGE_FIELDS[field][1]}", [QUIT])
        return
    _await(context, "change", "confirm", event_id=state["event_id"], field=field, value=value)
    text = f"修改后：\n{describe(checked, with_id=False)}"
    noted = _guesses(svc, field, value) if isinstance(value, str) else []
    if noted:
        text += f"\n请核对：{'；'.join(noted)}。"
    await _say(message, text, [[Button("确认修改", "e:ok")], QUIT])


async def _change_confirmed(message: Message, context: ContextTypes.DEFAULT_TYPE, who: Caller) -> None:
    state = _state(context)
    if state.get("what") != "change" or state.get("step") != "confirm":
        await _refuse(message, "这一步已经结束。")
        return
    svc = services(context)
    changes = {state["field"]: state["value"]}
    event, told = change_and_tell(
        svc.storage, who, state["event_id"], now=svc.storage.now(), admin_ids=svc.settings.admin_ids, **changes
    )
    _done(context)
    await _say(message, f"已修改：\n{describe(event)}\n{_told_line(told)}")
    meetings.wake_outbox(context)
    _after_change(context)


def _told_line(told: int) -> str:
    if told:
        return f"已通知 {told} 位参会人员。"
    return "（没有需要通知的参会人员；如需另行通知，请用 /notice 发送通知。）"


async def _cancel_ask(message: Message, context: ContextTypes.DEFAULT_TYPE, who: Caller, event_id: int) -> None:
    svc = services(context)
    authorize(svc.storage, who, "manage_events")
    event = get_event(svc.storage, who, event_id)
    await _say(
        message,
        f"确认取消这项活动？已安排的提醒将不再发送。\n{describe(event)}",
        [[Button("确认取消活动", f"e:xy:{event.id}")], [Button("不取消", "e:q")]],
    )


async def _cancel_confirmed(message: Message, context: ContextTypes.DEFAULT_TYPE, who: Caller, event_id: int) -> None:
    svc = services(context)
    event, told = cancel_and_tell(svc.storage, who, event_id, now=svc.storage.now(), admin_ids=svc.settings.admin_ids)
    await _say(message, f"已取消：{one_line(event)}\n{_told_line(told)}")
    meetings.wake_outbox(context)
    _after_change(context)


# ---- recording a duty from a reminder (r:) -----------------------------------------------------------


async def _record_ask(message: Message, context: ContextTypes.DEFAULT_TYPE, who: Caller, kind: str) -> None:
    authorize(services(context).storage, who, "record_own")
    if kind not in RECORD_KINDS:
        await _refuse(message, "这个按钮已失效。")
        return
    _await(context, "record", "title", kind=kind)
    await _say(message, f"请发送{RECORD_HINTS[kind]}（登记日期为今天；其他日期请用 /record）。", [QUIT])


async def _record_text(message: Message, context: ContextTypes.DEFAULT_TYPE, who: Caller, state: dict) -> None:
    try:
        record = add_record(services(context).storage, who, state["kind"], message.text or "")
    except RecordError as exc:
        await _say(message, f"{exc.message}\n请重新发送，或点“取消”。", [QUIT])
        return
    _done(context)
    await _say(message, f"已登记{record.kind}：{record.title}（{record.date.isoformat()}）。发送 /mine 查看履职情况。")


async def _reply_ask(message: Message, context: ContextTypes.DEFAULT_TYPE, who: Caller, record_id: int) -> None:
    svc = services(context)
    authorize(svc.storage, who, "manage_records")
    record = svc.storage.record(record_id)
    if record is None or record.kind != "提案":
        await _say(message, "没有找到这件提案。")
        return
    await _say(
        message,
        f"确认登记提案《{record.title}》已于今天答复？",
        [[Button("确认已答复", f"r:ry:{record.id}")], [Button("取消", "e:q")]],
    )


async def _reply_confirmed(message: Message, context: ContextTypes.DEFAULT_TYPE, who: Caller, record_id: int) -> None:
    record = reply_proposal(services(context).storage, who, record_id)
    await _say(message, f"已登记：提案《{record.title}》于 {record.replied_on.isoformat()} 答复。超期提醒将停止。")


# ---- routing --------------------------------------------------------------------------------------------


async def awaited_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The next private text of a user with an open step (see AwaitingStep)."""
    message = update.effective_message
    state = _state(context)
    if (message.text or "").strip() == "取消":
        _done(context)
        await _say(message, "已取消。")
        return
    who = caller(update, context)
    try:
        if state.get("what") == "event":
            authorize(services(context).storage, who, "manage_events")
            await _event_text(message, context, state)
        elif state.get("what") == "change" and state.get("step") == "value":
            authorize(services(context).storage, who, "manage_events")
            await _change_text(message, context, state)
        elif state.get("what") == "record":
            await _record_text(message, context, who, state)
        else:
            await _say(message, "请点上面的按钮继续，或发送“取消”。", [QUIT])
    except PermissionDenied as exc:
        _done(context)
        await _refuse(message, exc.message)


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every ``e:`` and ``r:`` button."""
    query = update.callback_query
    await acknowledge(query)
    message = query.message
    if message is None or not hasattr(message, "chat"):
        return
    data = query.data or ""
    who = caller(update, context)
    head, _, rest = data.partition(":")
    verb, _, value = rest.partition(":")
    number = read_number(value)  # an id; None when forged or garbled
    try:
        if data == "e:q":
            _done(context)
            await _say(message, "已取消。")
        elif data == "e:ics":
            await _send_calendar(message, context, who)
        elif data == "e:new":
            authorize(services(context).storage, who, "manage_events")
            await _ask_kind(message, context)
        elif head == "e" and verb == "v" and number is not None:
            await _show_event(message, context, who, number)
        elif head == "e" and verb == "i" and number is not None:
            await _event_file(message, context, who, number)
        elif head == "e" and verb == "c" and number is not None:
            await _change_menu(message, context, who, number)
        elif head == "e" and verb == "cf":
            await _change_field(message, context, who, value)
        elif head == "e" and verb == "n" and number is not None:
            await _say(message, _send_notice(services(context), who, number))
            meetings.wake_outbox(context)
        elif head == "e" and verb == "x" and number is not None:
            await _cancel_ask(message, context, who, number)
        elif head == "e" and verb == "xy" and number is not None:
            await _cancel_confirmed(message, context, who, number)
        elif data == "e:ok" and _state(context).get("what") == "change":
            await _change_confirmed(message, context, who)
        elif head == "e" and verb in ("k", "s", "a", "ok", "okn"):
            authorize(services(context).storage, who, "manage_events")
            await _event_button(message, context, who, data)
        elif head == "r" and verb == "k":
            await _record_ask(message, context, who, value)
        elif head == "r" and verb == "rp" and number is not None:
            await _reply_ask(message, context, who, number)
        elif head == "r" and verb == "ry" and number is not None:
            await _reply_confirmed(message, context, who, number)
        else:
            await _refuse(message, "这个按钮已失效，请重新发送 /events。")
    except (PermissionDenied, EventError, RecordError) as exc:
        await _refuse(message, exc.message)


def register(app: Application) -> None:
    """Add this feature's handlers to the application."""
    new_messages = filters.UpdateType.MESSAGE
    app.add_handler(CommandHandler("events", events_command, filters=new_messages))
    app.add_handler(CommandHandler("calendar", calendar_command, filters=new_messages))
    app.add_handler(CommandHandler("event", event_command, filters=new_messages))
    app.add_handler(CallbackQueryHandler(button, pattern=r"^[er]:"))
    meetings.register(app)
    app.add_handler(
        MessageHandler(new_messages & filters.TEXT & ~filters.COMMAND & AwaitingStep(app, DRAFT_KEY), awaited_text)
    )
