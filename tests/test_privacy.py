"""End to end: nothing personal reaches a group chat (handlers/privacy.py).

Every command the application registers, and every kind of button, is tried in a group by a
member, a unit contact and a secretary. The group may get public answers and the one “请私聊”
line with a deep link; the personal content goes to the user's private chat when they have one
(a user who never started the bot gets only the link), and each deep link opens its screen.
The list of commands comes from the application's handlers: a new command without a privacy
decision here fails the test.
"""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

import pytest
from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, TypeHandler

from bot import notices
from bot.calendar.events import add_event
from bot.calendar.reminders import load_rules, set_override
from bot.calendar.replies import reply
from bot.ledger import submit_report
from bot.people.records import add_record
from bot.people.roles import CLI_CALLER, resolve_caller
from bot.people.roster import import_members, import_unit_contacts
from bot.plan.model import default_plan
from bot.storage import Storage
from bot.storage.ledger import Attachment
from handlers import privacy, screens
from handlers.app import build_application
from handlers.common import SERVICES_KEY
from tests.conftest import ADMIN_ID, make_settings, running
from tests.people_support import MEMBERS_CSV, UNITS_CSV

ZHANG, LI, WANG, QIAN = 7301001, 7301002, 7301003, 7301004  # members 张三 李四 王五; 钱七 统战部's contact
MEMBER, CONTACT, SECRETARY = "member", "contact", "secretary"
USERS = {MEMBER: ZHANG, CONTACT: QIAN, SECRETARY: ADMIN_ID}
BOT = "cppcc_helper_bot"

PROPOSAL = "关于加强农村饮水安全的建议"
LEAVE_REASON = "因病住院治疗"
NOTICE_TEXT = "6月20日上午9点在三楼会议室召开全体委员座谈会"
REPORT_TEXT = "本季度走访党外委员十二人次"
EVENT_TITLE = "营商环境专题协商"
# Anything about a person: names, phone numbers, Telegram ids, duty counts, records, leave
# reasons, notices and their receipts, a unit's unpublished progress, one's events.
PERSONAL = [
    "张三",
    "李四",
    "王五",
    "赵六",
    "钱七",
    "900001",
    PROPOSAL,
    LEAVE_REASON,
    "三楼会议室",
    REPORT_TEXT,
    EVENT_TITLE,
]
PERSONAL_PATTERNS = [re.compile(r"\d{7,}"), re.compile(r"\d+\s*/\s*\d+"), re.compile(r"\d{3}[- ]\d{4}")]

GROUP_ANSWER, PRIVATE = "group", "private"  # where a command's answer belongs
ALL_GROUP = {MEMBER: GROUP_ANSWER, CONTACT: GROUP_ANSWER, SECRETARY: GROUP_ANSWER}
ALL_PRIVATE = {MEMBER: PRIVATE, CONTACT: PRIVATE, SECRETARY: PRIVATE}
SECRETARY_ONLY = {MEMBER: GROUP_ANSWER, CONTACT: GROUP_ANSWER, SECRETARY: PRIVATE}  # others: a short refusal

# command → [(arguments, where the answer belongs for each role)]. Public answers (the plan,
# help, refusals, "please use the private chat") may be posted in the group; personal ones not.
COMMANDS = {
    "start": [("", ALL_GROUP)],
    "help": [("", ALL_GROUP)],
    "ask": [("我今年还差什么", {**ALL_GROUP, MEMBER: PRIVATE}), ("委员活动的经费谁出", ALL_GROUP)],
    "item": [("33", ALL_GROUP)],
    "task": [("33", ALL_GROUP)],
    "unit": [("统战部", ALL_GROUP)],
    "mine": [("", {**ALL_GROUP, MEMBER: PRIVATE})],
    "record": [("提案 群里登记的提案", ALL_GROUP)],
    "cancel": [("", ALL_GROUP)],
    "bind": [("ABCD2345", ALL_GROUP)],
    "whoami": [("", ALL_PRIVATE)],
    "progress": [("", SECRETARY_ONLY), ("csv", SECRETARY_ONLY), ("提案委", SECRETARY_ONLY)],
    "events": [("", ALL_PRIVATE)],
    "calendar": [("", ALL_PRIVATE)],
    "event": [("", ALL_GROUP)],
    "notice": [("全体委员 明天开会", ALL_GROUP)],
    "notices": [("", SECRETARY_ONLY)],
    "mytasks": [("", {MEMBER: GROUP_ANSWER, CONTACT: PRIVATE, SECRETARY: GROUP_ANSWER})],
    "report": [("19 群里填报的进展", ALL_GROUP)],
    "ledger": [("", SECRETARY_ONLY), ("19", SECRETARY_ONLY)],
    "propose": [("", {MEMBER: PRIVATE, CONTACT: GROUP_ANSWER, SECRETARY: GROUP_ANSWER})],
    "opinion": [("", {MEMBER: PRIVATE, CONTACT: GROUP_ANSWER, SECRETARY: GROUP_ANSWER})],
    "myproposals": [("", {MEMBER: PRIVATE, CONTACT: GROUP_ANSWER, SECRETARY: GROUP_ANSWER})],
    "proposals": [("", {MEMBER: GROUP_ANSWER, CONTACT: PRIVATE, SECRETARY: GROUP_ANSWER})],
    "review": [("", SECRETARY_ONLY)],
    "inbox": [("", ALL_PRIVATE)],
    "codes": [("", ALL_GROUP), ("xlsx", ALL_GROUP)],
    "admins": [("", ALL_GROUP)],
    "plan": [("", ALL_GROUP)],
    "unbind": [(str(LI), ALL_PRIVATE), ("", {MEMBER: PRIVATE, CONTACT: PRIVATE, SECRETARY: PRIVATE})],
}
# The private content each personal answer must bring (role → text), where it is predictable.
PRIVATE_CONTENT = {
    ("whoami", MEMBER): "张三",
    ("mine", MEMBER): "提案 1/1",
    ("ask", MEMBER): "提案 1/1",
    ("progress", SECRETARY): "张三",
    ("notices", SECRETARY): "#1",
    ("events", MEMBER): EVENT_TITLE,
    ("mytasks", CONTACT): "统战部",
    ("ledger", SECRETARY): "统战部",
}

# Buttons, with {placeholders} filled from the seeded data. Only plan answers may be posted in
# a group after a button press; everything else is an alert for the presser (and, if
# personal, a private message).
PUBLIC_BUTTONS = {"q:1", "q:2", "q:3", "t:33", "u:{unit}"}
BUTTONS = [
    "q:0",  # 我今年要提交什么: personal for a member
    *sorted(PUBLIC_BUTTONS),
    "zz:forged",
    "p:k:提案",
    "p:d:today",
    "p:ok",
    "p:x",
    "n:q",
    "n:np",
    "n:ls",
    "n:v:{notice}",
    "n:e:{notice}",
    "n:u:{notice}",
    "n:r:{notice}",
    "n:a:{notice}",
    "n:l:{notice}",
    "n:k:{draft}",
    "n:at:{draft}",
    "n:go:{draft}",
    "n:x:{draft}",
    "n:c:{notice}",
    "n:zz:1",
    "lg:r:19",
    "lg:e:{report}",
    "lg:f:{report}",
    "lg:s",
    "lg:t",
    "lg:c",
    "lg:x",
    "e:ics",
    "e:v:{event}",
    "e:i:{event}",
    "e:new",
    "e:k:0",
    "e:s",
    "e:a:0",
    "e:ok",
    "e:c:{event}",
    "e:cf:{event}:place",
    "e:x:{event}",
    "e:q",
    "fi:00000000:ok",
    "ad:rm:1",
    "pl:back:00000000",
    "r:k:提案",
    "r:rp:{record}",
    "r:ry:{record}",
    "e:xy:{event}",
    "pp:vw:1",
    "pp:ex:2027",
    "pp:fa:1",
    "pp:zz:1",
    "m:a:e{event}",
    "m:l:e{event}",
    "m:s:e{event}",
    "m:v:e{event}",
    "m:k:e{event}",
    "m:y:1",
    "i:ls",
    "i:n:{notice}",
]


def leaks(text: str | None) -> list[str]:
    """The personal details in ``text``."""
    text = text or ""
    found = [word for word in PERSONAL if word in text]
    return found + [m.group() for pattern in PERSONAL_PATTERNS for m in pattern.finditer(text)]


def contents(messages) -> str:
    """What a user received: texts, captions and the files' contents."""
    parts = [m.plain_text or "" for m in messages]
    parts += [m.file.content.decode("utf-8-sig", "replace") for m in messages if m.file is not None]
    return "\n".join(parts)


def registered_commands(app) -> set[str]:
    found: set[str] = set()
    for handler in _all_handlers(app):
        if isinstance(handler, CommandHandler):
            found |= set(handler.commands)
    return found


def callback_patterns(app) -> list[re.Pattern | None]:
    return [h.pattern for h in _all_handlers(app) if isinstance(h, CallbackQueryHandler)]


def _all_handlers(app):
    pending = [h for handlers in app.handlers.values() for h in handlers]
    while pending:
        handler = pending.pop()
        if isinstance(handler, ConversationHandler):
            pending += [*handler.entry_points, *handler.fallbacks]
            pending += [h for state in handler.states.values() for h in state]
        yield handler


def seed(storage: Storage) -> dict[str, int | str]:
    """The roster, four bindings, a proposal, an event, a sent meeting notice with a leave
    reason, a draft notice and a unit report with an attachment; returns their ids."""
    now = storage.now()
    for rule in load_rules().rules:  # no reminders in the middle of the walk
        set_override(storage, CLI_CALLER, rule.id, {"enabled": False}, now=now)
    import_members(storage, CLI_CALLER, MEMBERS_CSV.encode(), now=now)
    import_unit_contacts(storage, CLI_CALLER, UNITS_CSV.encode(), now=now)
    for telegram_id, name in ((ZHANG, "张三"), (LI, "李四"), (WANG, "王五")):
        (member,) = storage.members_named(name)
        storage.bind(telegram_id, "member", member.id, "code", now)
    (contact,) = [p for p in storage.people("unit_contact") if p.name == "钱七"]
    storage.bind(QIAN, "unit_contact", contact.id, "code", now)
    admins = frozenset({ADMIN_ID})
    zhang, qian, secretary = (resolve_caller(storage, who, admins) for who in (ZHANG, QIAN, ADMIN_ID))
    record = add_record(storage, zhang, "提案", PROPOSAL)
    day = (now + timedelta(days=5)).date()
    event = add_event(storage, CLI_CALLER, kind="协商活动", title=EVENT_TITLE, date=day, audience="全体委员")
    sent = notices.compose(storage, secretary, "全体委员", NOTICE_TEXT, now=now, kind="meeting", admin_ids=admins)
    notices.confirm(storage, secretary, sent.notice.id, now=now)
    reply(storage, f"n{sent.notice.id}", LI, "leave", now=now, reason=LEAVE_REASON, admin_ids=admins)
    draft = notices.compose(storage, secretary, "常委", "明天下午三点开会", now=now, admin_ids=admins)
    attachment = Attachment("document", "https://files.example/sign-in.pdf", "签到表.pdf")
    report = submit_report(storage, qian, 19, REPORT_TEXT, attachment=attachment)
    return {
        "record": record.id,
        "event": event.id,
        "notice": sent.notice.id,
        "draft": draft.notice.id,
        "report": report.id,
        "unit": next(k for k, u in default_plan().catalogue.units.items() if u.short == "统战部"),
    }


@pytest.fixture
async def walk(tg, tmp_path):
    """The running application on a seeded database, and a record of the updates it finished."""
    db = tmp_path / "cppcc.db"
    with Storage(db) as storage:
        ids = seed(storage)
    app = build_application(make_settings(tg, db, flood_limit=10_000))
    finished: set[int] = set()

    async def done(update: object, context) -> None:
        if isinstance(update, Update):
            finished.add(update.update_id)

    app.add_handler(TypeHandler(Update, done), group=99)
    async with running(app):
        # The notice delivered, and the secretary told so: nothing else arrives unasked.
        await tg.wait_for(lambda: all(tg.sent_messages(m) for m in (ZHANG, LI, WANG, ADMIN_ID)))
        yield Walker(tg, app, finished, ids)


class Walker:
    """Injects updates and waits until the application has finished each one."""

    def __init__(self, tg, app, finished: set[int], ids: dict):
        self.tg, self.app, self.finished, self.ids = tg, app, finished, ids
        self.groups = itertools.count(-1002000000001, -1)  # a fresh group per step (20 sends/min each)

    async def handled(self, update_id: int) -> None:
        await self.tg.wait_for(lambda: update_id in self.finished, timeout=20)

    async def in_group(self, user: int, text: str, **kwargs) -> tuple[int, int]:
        group = next(self.groups)
        self.tg.add_chat(group, "supergroup", title="政协委员群")
        mark = self.tg.mark()
        await self.handled(self.tg.inject_message(user, text, chat_id=group, **kwargs))
        return group, mark

    async def press(self, user: int, data: str, carrier) -> int:
        mark = self.tg.mark()
        await self.handled(self.tg.inject_callback(user, data, carrier, check_buttons=False))
        return mark

    def group_output(self, group: int, since: int) -> list[str]:
        """Everything the group received since ``since``: message texts, files, edits."""
        texts = [m.plain_text or "" for m in self.tg.sent_messages(group, since=since)]
        for request in self.tg.requests(chat_id=group, since=since):
            if request.method in ("sendDocument", "sendPhoto"):
                texts.append(f"{request.method}: a file")
            elif request.method.startswith("edit") and set(request.params) & {"text", "caption", "reply_markup"}:
                texts.append(f"{request.method}: {request.params.get('text') or request.params.get('caption') or ''}")
        return texts


def assert_public(texts: list[str], what: str) -> None:
    for text in texts:
        assert not leaks(text), f"{what}: personal data in the group: {leaks(text)} in {text!r}"
        assert not text.startswith(("sendDocument", "sendPhoto", "edit")), f"{what}: {text}"


async def test_every_command_in_a_group_keeps_personal_data_private(walk):
    tg = walk.tg
    assert registered_commands(walk.app) == set(COMMANDS), "every command needs a privacy decision in COMMANDS"
    order = [c for c in COMMANDS if c != "unbind"] + ["unbind"]  # unbinding last
    for command in order:
        for arguments, outcomes in COMMANDS[command]:
            for role, outcome in outcomes.items():
                user = USERS[role]
                text = f"/{command}@{BOT} {arguments}".strip()
                group, mark = await walk.in_group(user, text)
                what = f"{role} {text}"
                said = walk.group_output(group, mark)
                assert said, f"{what}: no answer in the group"
                assert_public(said, what)
                private = tg.sent_messages(user, since=mark)
                if outcome == PRIVATE:
                    assert len(said) == 1 and "个人信息请私聊我查看" in said[0], f"{what}: {said}"
                    link = re.search(r"https://t\.me/(\w+)(?:\?start=([A-Za-z0-9_-]{1,64}))?$", said[0])
                    assert link and link.group(1) == BOT, said[0]
                    assert link.group(2) and screens.is_screen(link.group(2)), f"{what}: link {said[0]}"
                    assert private, f"{what}: nothing in the private chat"
                    expected = PRIVATE_CONTENT.get((command, role))
                    if expected:
                        assert expected in contents(private), f"{what}: {contents(private)}"
                else:
                    assert "个人信息请私聊我查看" not in " ".join(said), f"{what}: {said}"
                    assert not private, f"{what}: unexpected private message {private[0].plain_text!r}"


async def test_csv_and_calendar_files_go_to_the_private_chat_only(walk):
    tg = walk.tg
    for user, text in ((ADMIN_ID, f"/progress@{BOT} csv"), (ZHANG, f"/calendar@{BOT}")):
        group, mark = await walk.in_group(user, text)
        assert tg.requests("sendDocument", chat_id=group, since=mark) == []
        (document,) = [r for r in tg.requests("sendDocument", chat_id=user, since=mark) if r.ok]
        assert document.files, text
        (line,) = walk.group_output(group, mark)
        assert "个人信息请私聊我查看" in line


async def test_mentions_and_replies_asking_for_ones_duties(walk):
    tg = walk.tg
    group, mark = await walk.in_group(ZHANG, f"@{BOT} 我今年还差什么")
    (line,) = walk.group_output(group, mark)
    assert line.endswith(f"https://t.me/{BOT}?start=duties")
    assert "提案 1/1" in tg.sent_messages(ZHANG, since=mark)[0].plain_text

    answer = tg.sent_messages(group)[-1]
    mark = tg.mark()
    await walk.handled(tg.inject_message(ZHANG, "我今年还差什么", chat_id=group, reply_to_message=answer))
    assert_public(walk.group_output(group, mark), "reply to the bot")
    assert tg.sent_messages(ZHANG, since=mark)

    mark = tg.mark()
    await walk.handled(tg.inject_message(ZHANG, f"@{BOT} （19）落实得怎么样", chat_id=group))
    said = walk.group_output(group, mark)
    assert said and "（19）" in said[0]  # published progress only: 统战部's report is not published
    assert_public(said, "progress question")


async def test_without_a_private_chat_only_the_link(walk):
    tg = walk.tg
    tg.block_chat(LI, "Forbidden: bot can't initiate conversation with a user")
    group, mark = await walk.in_group(LI, f"/whoami@{BOT}")
    (line,) = walk.group_output(group, mark)
    assert line == f"个人信息请私聊我查看：https://t.me/{BOT}?start=whoami"
    assert tg.sent_messages(LI, since=mark) == []

    welcome = tg.sent_messages((await walk.in_group(LI, f"/start@{BOT}"))[0])[-1]
    mark = await walk.press(LI, "q:0", welcome)
    (answer,) = tg.requests("answerCallbackQuery", since=mark)
    assert answer.params.get("url") == f"https://t.me/{BOT}?start=duties"
    assert not leaks(answer.params.get("text")) and tg.sent_messages(welcome.chat_id, since=mark) == []


async def test_every_button_in_a_group_answers_the_presser_only(walk):
    tg = walk.tg
    data = [d.format(**walk.ids) for d in BUTTONS]
    public = {d.format(**walk.ids) for d in PUBLIC_BUTTONS}
    for pattern in callback_patterns(walk.app):  # every button kind the application handles is tried
        assert any(pattern is None or re.match(pattern, d) for d in data), f"no button tried for {pattern}"
    for role in (MEMBER, CONTACT, SECRETARY):
        user = USERS[role]
        group, _ = await walk.in_group(user, f"/start@{BOT}")
        carrier = tg.sent_messages(group)[-1]
        for value in data:
            what = f"{role} presses {value}"
            mark = await walk.press(user, value, carrier)
            answers = tg.requests("answerCallbackQuery", since=mark)
            assert len(answers) == 1, f"{what}: {len(answers)} answers"
            alert = answers[0].params.get("text") or ""
            assert not [w for w in leaks(alert)], f"{what}: alert {alert!r}"
            said = walk.group_output(group, mark)
            assert_public(said, what)
            personal_for_member = value == "q:0" and role == MEMBER  # others get the general rule
            if value in public or (value == "q:0" and not personal_for_member):
                assert said, f"{what}: no answer"
            else:
                assert said == [], f"{what}: group message {said}"
            if personal_for_member:
                assert "私聊" in alert and "提案 1/1" in tg.sent_messages(user, since=mark)[0].plain_text

    # The secretary's own screens reached the secretary, in private.
    private = " ".join(m.plain_text or "" for m in tg.sent_messages(ADMIN_ID))
    assert LEAVE_REASON in private and "收件人" in private
    assert [r for r in tg.requests("sendDocument", chat_id=ADMIN_ID) if r.ok], "the attachment and calendar files"


async def test_deep_links_open_their_screens_in_private(walk):
    tg = walk.tg
    notice = f"notice-{walk.ids['notice']}"
    payloads = {*privacy.COMMAND_SCREENS.values(), *privacy.BUTTON_SCREENS.values(), privacy.TEXT_SCREEN, notice}
    openers = {
        "progress": ADMIN_ID,
        "notices": ADMIN_ID,
        "ledger": ADMIN_ID,
        notice: ADMIN_ID,
        "mytasks": QIAN,
        "proposals": QIAN,
        "review": ADMIN_ID,
    }
    welcome = "您好，我是政协履职助手"
    for payload in sorted(payloads):
        assert privacy.PAYLOAD.fullmatch(payload) and screens.is_screen(payload), payload
        user = openers.get(payload, ZHANG)
        mark = tg.mark()
        await walk.handled(tg.inject_message(user, f"/start {payload}"))
        shown = [m.plain_text or "" for m in tg.sent_messages(user, since=mark)]
        files = [r for r in tg.requests("sendDocument", chat_id=user, since=mark) if r.ok]
        assert shown and not any(welcome in text for text in shown), f"/start {payload}: {shown}"
        assert not any("只有" in text for text in shown), f"/start {payload} opened by the wrong person: {shown}"
        if payload == "calendar":
            assert files
    report = tg.sent_messages(ADMIN_ID)
    assert any(LEAVE_REASON in (m.plain_text or "") for m in report), "the notice's 详情 with the leave reason"

    mark = tg.mark()
    await walk.handled(tg.inject_message(ZHANG, "/start no_such_screen"))
    assert welcome in tg.sent_messages(ZHANG, since=mark)[0].plain_text


async def test_a_members_press_on_a_secretarys_buttons_in_a_group_is_refused_to_them_alone(walk):
    tg, ids = walk.tg, walk.ids
    group, _ = await walk.in_group(ZHANG, f"/start@{BOT}")
    carrier = tg.sent_messages(group)[-1]
    for data in (f"n:go:{ids['draft']}", f"n:v:{ids['notice']}", f"e:xy:{ids['event']}", f"lg:f:{ids['report']}"):
        mark = await walk.press(ZHANG, data, carrier)
        (answer,) = tg.requests("answerCallbackQuery", since=mark)
        assert answer.params.get("show_alert") is True and "只有" in answer.params["text"], (data, answer.params)
        assert tg.sent_messages(since=mark) == [], data  # neither the group nor anyone else heard of it
    storage = walk.app.bot_data[SERVICES_KEY].storage
    assert storage.notice(ids["draft"]).status == "draft"
    assert storage.event(ids["event"]).status == "scheduled"
