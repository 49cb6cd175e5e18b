"""End to end: notices through the real Application, the outbox sender and the fake Bot API."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from bot import notices
from bot.config import knowledge_dir
from bot.people.roles import CLI_CALLER
from bot.storage import Storage
from handlers.app import build_application
from handlers.common import SERVICES_KEY
from handlers.notices import outbox_sender
from tests.conftest import ADMIN_ID, make_settings, running

OTHER = 4999  # bound to nobody
FAST = {
    "rate": 400,
    "per_chat_rate": 50,
    "max_in_flight": 20,
    "backoff_initial": 0.05,
    "outage_pause_initial": 0.05,
    "outage_pause_max": 0.2,
    "uncertain_pause": 0.1,
    "give_up_after": 2,
    "idle_poll": 0.05,
}


def fast_knowledge(tmp_path: Path, **delivery) -> Path:
    """A knowledge directory like the real one, with quicker delivery settings."""
    source = knowledge_dir()
    target = tmp_path / "knowledge"
    target.mkdir()
    for path in source.iterdir():
        if path.name != "notices.json":
            (target / path.name).symlink_to(path)
    data = json.loads((source / "notices.json").read_text(encoding="utf-8"))
    data["delivery"].update({**FAST, **delivery})
    (target / "notices.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return target


def add_members(storage: Storage, count: int, *, first_chat: int = 5001, unbound: int = 0, **fields) -> list[int]:
    """``count`` bound members (chat ids from ``first_chat``) plus ``unbound`` without a binding."""
    now = storage.now()
    chats = []
    start = len(storage.people("member"))
    with storage.atomic():
        for i in range(count + unbound):
            values = {"name": f"委员{start + i + 1:04d}", "phone": f"139{start + i:08d}", **fields}
            person_id = storage.insert_person("member", values, now)
            if i < count:
                storage.bind(first_chat + i, "member", person_id, "code", now)
                chats.append(first_chat + i)
    return chats


@pytest.fixture
def knowledge(tmp_path, monkeypatch) -> Path:
    path = fast_knowledge(tmp_path)
    monkeypatch.setenv("CPPCC_KNOWLEDGE", str(path))
    return path


@pytest.fixture
async def app(tg, tmp_path, knowledge):
    application = build_application(make_settings(tg, tmp_path / "cppcc.db"))
    async with running(application):
        yield application


def storage_of(application) -> Storage:
    return application.bot_data[SERVICES_KEY].storage


async def say(tg, user: int, text: str, *, expect: str = ""):
    """Send a message; return the first message to ``user`` afterwards (containing ``expect``)."""
    mark = tg.mark()
    tg.inject_message(user, text)
    return await reply_containing(tg, user, expect, since=mark)


async def press(tg, user: int, message, label: str, *, expect: str | None = None):
    """Press a button; return the first message to ``user`` afterwards (containing ``expect``)."""
    mark = tg.mark()
    tg.inject_callback(user, message.callback_data(label), message)
    return await reply_containing(tg, user, expect or "", since=mark)


async def reply_containing(tg, user: int, expect: str, *, since: int, timeout: float | None = None):
    def found():
        return [m for m in tg.sent_messages(user, since=since) if expect in (m.plain_text or "")]

    return (await tg.wait_for(found, **({"timeout": timeout} if timeout else {})))[0]


async def send_notice(tg, text: str):
    """The secretary writes a one-line notice and presses 发送; returns (preview, confirmation)."""
    preview = await say(tg, ADMIN_ID, text)
    assert "通知预览" in preview.plain_text, preview.plain_text
    confirmation = await press(tg, ADMIN_ID, preview, "发送", expect="正在发送")
    return preview, confirmation


async def wait_delivered(tg, chats: list[int], timeout: float = 10):
    await tg.wait_for(lambda: all(tg.sent_messages(c) for c in chats), timeout=timeout)


# ---- composing and sending -------------------------------------------------------------


async def test_secretary_sends_a_notice_to_a_committee(tg, app):
    storage = storage_of(app)
    economy = add_members(storage, 2, committee="经济委")
    others = add_members(storage, 2, first_chat=5101, committee="提案委", unbound=1)
    add_members(storage, 0, unbound=1, committee="经济委")

    preview, confirmation = await send_notice(tg, "/notice 经济委员会 明天上午九点在三楼会议室召开经济委座谈会")
    text = preview.plain_text
    assert "对象：专委会“经济委”" in text and "2 人将收到" in text
    assert "未绑定 Telegram、无法送达：1 人" in text
    assert "【政协办会议通知】\n明天上午九点在三楼会议室召开经济委座谈会" in text
    assert "正在发送给 2 人" in confirmation.plain_text

    await wait_delivered(tg, economy)
    for chat in economy:
        (message,) = tg.sent_messages(chat)
        assert message.plain_text.startswith("【政协办会议通知】\n明天上午九点")
        assert message.button_texts == ["收到", "参加", "请假"]
    for chat in others:
        assert not tg.sent_messages(chat)
    summary = await tg.wait_for(lambda: [m for m in tg.sent_messages(ADMIN_ID) if "发送完毕" in m.plain_text])
    assert "已送达 2 人" in summary[0].plain_text and "未绑定 1 人" in summary[0].plain_text
    (entry,) = storage.audit_entries("notice_send")
    assert entry.actor == str(ADMIN_ID)
    assert entry.detail["text"] == "明天上午九点在三楼会议室召开经济委座谈会"
    assert len(entry.detail["recipients"]) == 2 and len(entry.detail["unbound"]) == 1


async def test_guided_flow_with_an_attachment(tg, app):
    chats = add_members(storage_of(app), 2, is_standing=1)
    add_members(storage_of(app), 1, first_chat=5201)
    prompt = await say(tg, ADMIN_ID, "/notice")
    assert "通知对象" in prompt.plain_text
    assert "2 人可送达" in (await say(tg, ADMIN_ID, "常委")).plain_text
    assert "附件" in (await say(tg, ADMIN_ID, "请审阅附件中的提案汇编。\n第二行。")).plain_text
    mark = tg.mark()
    tg.inject_document(ADMIN_ID, "提案汇编.pdf", b"%PDF-1.4 proposals")
    preview = (await tg.wait_for_messages(ADMIN_ID, 1, since=mark))[-1]
    assert "附件：提案汇编.pdf" in preview.plain_text and "2 人将收到" in preview.plain_text
    assert "类型：普通通知" in preview.plain_text
    await press(tg, ADMIN_ID, preview, "发送")
    await tg.wait_for(lambda: all(len(tg.sent_messages(c)) == 2 for c in chats))
    for chat in chats:
        document, text = tg.sent_messages(chat)
        assert document.method == "sendDocument" and document.file.content == b"%PDF-1.4 proposals"
        assert text.plain_text.endswith("请审阅附件中的提案汇编。\n第二行。\n\n请阅后点击“收到”确认。")
        assert text.button_texts == ["收到"]
    assert not tg.sent_messages(5201)


async def test_audience_first_then_text_without_attachment(tg, app):
    chats = add_members(storage_of(app), 2, township="习岗镇")
    add_members(storage_of(app), 1, first_chat=5301, township="立岗镇")
    assert "乡镇街道“习岗镇”，共 2 人，2 人可送达" in (await say(tg, ADMIN_ID, "/notice 习岗")).plain_text
    prompt = await say(tg, ADMIN_ID, "本周六上午开展委员进社区活动。")
    assert prompt.button_texts == ["不加附件，预览", "取消"]
    preview = await press(tg, ADMIN_ID, prompt, "不加附件，预览", expect="通知预览")
    assert "对象：乡镇街道“习岗镇”" in preview.plain_text and "附件" not in preview.plain_text
    await press(tg, ADMIN_ID, preview, "发送", expect="正在发送给 2 人")
    await wait_delivered(tg, chats)
    assert not tg.sent_messages(5301)


async def test_secretaries_see_the_notice_commands_in_their_menu(tg, app):
    scoped = [r for r in tg.requests("setMyCommands") if r.params.get("scope", {}).get("type") == "chat"]
    assert [r.params["scope"]["chat_id"] for r in scoped] == [ADMIN_ID]
    commands = [c["command"] for c in scoped[0].params["commands"]]
    secretaries_only = {"notice", "notices", "event", "ledger", "progress"}
    assert commands[:2] == ["start", "help"] and secretaries_only <= set(commands)
    default = tg.requests("setMyCommands")[0].params
    assert not secretaries_only & {c["command"] for c in default["commands"]}


async def test_questions_still_go_to_the_question_engine(tg, app):
    add_members(storage_of(app), 1)
    await say(tg, ADMIN_ID, "/notice")
    quit_prompt = tg.sent_messages(ADMIN_ID)[-1]
    await press(tg, ADMIN_ID, quit_prompt, "取消")
    reply = await say(tg, ADMIN_ID, "委员活动的钱谁出")
    assert "（45）" in reply.plain_text


# ---- bad input and refusals -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/notice 不存在的委员会 明天开会", "没有找到"),
        ("/notice 经济 明天开会", "可能指多个对象"),
        ("/notice 农业界 明天开会", "没有找到"),
        ("/notice 全体委员 " + "长" * 4090, "通知正文太长"),
        ("/notice 界别:经济界 明天开会", "都还没有绑定"),
    ],
)
async def test_bad_notices_are_refused_with_the_reason(tg, app, text, expected):
    add_members(storage_of(app), 1, committee="经济委", sector="教育界")
    add_members(storage_of(app), 0, unbound=1, sector="经济界", committee="经济委")
    reply = await say(tg, ADMIN_ID, text)
    assert expected in reply.plain_text
    assert not reply.buttons
    assert not storage_of(app).outbox_rows(notices.SOURCE)


async def test_non_secretaries_are_refused(tg, app):
    (member,) = add_members(storage_of(app), 1)
    assert "只有政协办秘书可以发送通知" in (await say(tg, member, "/notice 全体委员 明天开会")).plain_text
    assert "只有政协办秘书" in (await say(tg, OTHER, "/notices")).plain_text
    preview = await say(tg, ADMIN_ID, "/notice 全体委员 明天开会")
    data = preview.callback_data("发送")
    mark = tg.mark()
    tg.inject_callback(member, data, tg.sent_messages(member)[-1], check_buttons=False)
    refusal = (await tg.wait_for_messages(member, 1, since=mark))[-1]
    assert "只有政协办秘书可以发送通知" in refusal.plain_text
    await tg.expect_no_messages(member, 0.3, since=refusal.seq)
    assert storage_of(app).notice(1).status == "draft"
    denied = [e.detail["action"] for e in storage_of(app).audit_entries("denied")]
    assert denied == ["send_notice", "view_notices", "send_notice"]


async def test_double_press_sends_once_and_stale_buttons_say_so(tg, app):
    chats = add_members(storage_of(app), 3)
    preview = await say(tg, ADMIN_ID, "/notice 全体委员 下午三点交材料")
    mark = tg.mark()
    for _ in range(3):
        tg.inject_callback(ADMIN_ID, preview.callback_data("发送"), preview)

    def texts():
        return [m.plain_text for m in tg.sent_messages(ADMIN_ID, since=mark)]

    await tg.wait_for(lambda: sum("不会重复发送" in t for t in texts()) == 2)
    await wait_delivered(tg, chats)
    await asyncio.sleep(0.3)
    assert sum("正在发送给 3 人" in t for t in texts()) == 1
    assert sum("不会重复发送" in t for t in texts()) == 2
    assert [len(tg.sent_messages(c)) for c in chats] == [1, 1, 1]

    cancelled = await say(tg, ADMIN_ID, "/notice 全体委员 作废的通知")
    send = cancelled.callback_data("发送")
    assert "不会发送" in (await press(tg, ADMIN_ID, cancelled, "取消")).plain_text
    assert not cancelled.buttons  # the preview's buttons are gone …
    mark = tg.mark()
    tg.inject_callback(ADMIN_ID, send, cancelled, check_buttons=False)  # … an old client may still press
    assert "预览已失效" in (await tg.wait_for_messages(ADMIN_ID, 1, since=mark))[-1].plain_text
    await asyncio.sleep(0.2)
    assert [len(tg.sent_messages(c)) for c in chats] == [1, 1, 1]


# ---- receipts, reports, nudges -------------------------------------------------------------


async def test_receipts_are_recorded_once_and_shown_on_the_message(tg, app):
    storage = storage_of(app)
    a, b, c = add_members(storage, 3)
    await send_notice(tg, "/notice 全体委员 6月20日上午9点召开全体委员会议")
    await wait_delivered(tg, [a, b, c])
    (message_a,) = tg.sent_messages(a)
    mark = tg.mark()
    tg.inject_callback(a, message_a.callback_data("收到"), message_a)
    (answer,) = await tg.wait_for_requests("answerCallbackQuery", 1, since=mark)
    assert answer.params["text"] == "已确认收到，谢谢。"
    await tg.wait_for(lambda: "已确认收到" in message_a.plain_text)
    assert message_a.button_texts == ["参加", "请假"]

    mark = tg.mark()
    tg.inject_callback(a, "n:r:1", message_a, check_buttons=False)  # again, from an old screen
    (answer,) = await tg.wait_for_requests("answerCallbackQuery", 1, since=mark)
    assert answer.params["text"] == "您已经确认过了。"

    (message_b,) = tg.sent_messages(b)
    ask = await press(tg, b, message_b, "请假", expect="如需说明请假原因")  # the meetings path (approval)
    assert ask.button_texts == ["不填写原因"]
    saved = await say(tg, b, "在外地参加培训")
    assert "已记录请假原因：在外地参加培训" in saved.plain_text
    await tg.wait_for(lambda: "原因：在外地参加培训" in message_b.plain_text)
    assert "已回复：请假" in message_b.plain_text and "待审批" in message_b.plain_text
    assert message_b.button_texts == ["参加", "撤回请假"]

    (message_c,) = tg.sent_messages(c)
    mark = tg.mark()
    tg.inject_callback(c, message_c.callback_data("参加"), message_c)
    await tg.wait_for(lambda: "已回复：参加" in message_c.plain_text)

    welcome = await say(tg, OTHER, "/start")
    mark = tg.mark()
    tg.inject_callback(OTHER, "n:r:1", welcome, check_buttons=False)
    (answer,) = await tg.wait_for_requests("answerCallbackQuery", 1, since=mark)
    assert "不是这条通知的接收人" in answer.params["text"] and answer.params.get("show_alert") is True
    assert set(storage.receipts(1)) == {"member:1", "member:2", "member:3"}

    listing = await say(tg, ADMIN_ID, "/notices", expect="最近的通知")
    assert "#1" in listing.plain_text and "已送达 3/3 · 已确认 3" in listing.plain_text
    report = await press(tg, ADMIN_ID, listing, "#1 详情", expect="收件人")
    assert "收件人 3 · 已送达 3 · 已确认 3 · 参加 1 · 请假 1" in report.plain_text
    assert "请假（1）：委员0002（在外地参加培训）" in report.plain_text
    assert "提醒未确认" not in " ".join(report.button_texts)


async def test_nudge_goes_only_to_those_who_have_not_confirmed(tg, app):
    a, b, c = add_members(storage_of(app), 3)
    await send_notice(tg, "/notice 全体委员 请于周五前提交年度履职报告")
    await wait_delivered(tg, [a, b, c])
    (message_a,) = tg.sent_messages(a)
    mark = tg.mark()
    tg.inject_callback(a, message_a.callback_data("收到"), message_a)
    await tg.wait_for_requests("answerCallbackQuery", 1, since=mark)

    listing = await say(tg, ADMIN_ID, "/notices", expect="最近的通知")
    report = await press(tg, ADMIN_ID, listing, "#1 详情", expect="收件人")
    assert "未确认（2）：委员0002、委员0003" in report.plain_text
    done = await press(tg, ADMIN_ID, report, "提醒未确认（2）", expect="再次发送提醒")
    assert "已向 2 位" in done.plain_text
    await tg.wait_for(lambda: len(tg.sent_messages(b)) == 2 and len(tg.sent_messages(c)) == 2)
    nudge_b = tg.sent_messages(b)[-1]
    assert nudge_b.plain_text.startswith("【提醒】") and "请于周五前提交年度履职报告" in nudge_b.plain_text
    assert len(tg.sent_messages(a)) == 1

    again = await press(tg, ADMIN_ID, report, "提醒未确认（2）", expect="分钟")
    assert "每 10 分钟最多提醒一次" in again.plain_text
    mark = tg.mark()
    tg.inject_callback(b, nudge_b.callback_data("收到"), nudge_b)
    await tg.wait_for(lambda: "已确认收到" in nudge_b.plain_text)
    refreshed = await press(tg, ADMIN_ID, report, "刷新", expect="收件人")
    assert "已确认 2" in refreshed.plain_text and "未确认（1）：委员0003" in refreshed.plain_text
    await asyncio.sleep(0.2)
    assert [len(tg.sent_messages(x)) for x in (a, b, c)] == [1, 2, 2]


# ---- delivery faults ------------------------------------------------------------------------------


async def test_blocked_recipients_are_marked_unreachable_and_reported(tg, app):
    chats = add_members(storage_of(app), 4)
    tg.block_chat(chats[1])
    await send_notice(tg, "/notice 全体委员 通知内容")
    summary = await reply_containing(tg, ADMIN_ID, "发送完毕", since=0)
    assert "已送达 3 人，无法送达 1 人" in summary.plain_text
    assert len(tg.requests("sendMessage", chat_id=chats[1])) == 1  # never retried
    report = await press(tg, ADMIN_ID, summary, "查看回执", expect="收件人")
    assert "无法送达 1" in report.plain_text
    assert "无法送达（已屏蔽机器人或账号停用）（1）：委员0002" in report.plain_text


async def test_429_is_honoured_exactly_and_the_bot_keeps_answering(tg, app):
    chats = add_members(storage_of(app), 5)
    tg.fail_next("sendMessage", 429, retry_after=1, chat_id=chats[2])
    await send_notice(tg, "/notice 全体委员 通知内容")
    limited = await tg.wait_for(lambda: [r for r in tg.requests("sendMessage", chat_id=chats[2]) if r.status == 429])
    started = time.monotonic()
    reply = await say(tg, OTHER, "委员活动的钱谁出")  # not frozen for the outbox's pause
    assert "（45）" in reply.plain_text
    assert time.monotonic() - started < 0.8
    await wait_delivered(tg, chats)
    _, retry = tg.requests("sendMessage", chat_id=chats[2])
    assert retry.ok and 1.0 <= retry.at - limited[0].at < 1.4
    assert all(len(tg.sent_messages(c)) == 1 for c in chats)
    await tg.wait_for(lambda: storage_of(app).outbox_counts(notices.SOURCE, "1") == {"sent": 5})


async def test_5xx_pauses_delivery_and_fails_a_row_only_after_the_give_up_time(tg, app):
    flaky, broken, _ = add_members(storage_of(app), 3)
    tg.fail_next("sendMessage", 502, chat_id=flaky, count=2)
    tg.fail_next("sendMessage", 500, chat_id=broken, count=10_000)
    started = time.monotonic()
    await send_notice(tg, "/notice 全体委员 通知内容")
    summary = await reply_containing(tg, ADMIN_ID, "发送完毕", since=0, timeout=20)
    assert time.monotonic() - started >= 2  # give_up_after in FAST
    assert "已送达 2 人" in summary.plain_text and "发送失败 1 人" in summary.plain_text
    assert len(tg.sent_messages(flaky)) == 1 and len(tg.requests("sendMessage", chat_id=flaky)) == 3
    (row,) = [r for r in storage_of(app).outbox_rows(notices.SOURCE) if r.chat_id == broken]
    assert row.status == "failed" and "Internal Server Error" in row.last_error
    report = await press(tg, ADMIN_ID, summary, "查看回执", expect="收件人")
    assert "发送失败（1）：委员0002（NetworkError: Internal Server Error）" in report.plain_text


# ---- scheduling -------------------------------------------------------------------------------------


async def test_scheduled_notice_can_be_cancelled_before_it_goes_out(tg, app):
    chats = add_members(storage_of(app), 2)
    preview = await say(tg, ADMIN_ID, "/notice 全体委员 下周一上午召开常委会")
    ask = await press(tg, ADMIN_ID, preview, "定时发送", expect="发送时间")
    assert "明天 9:00" in ask.plain_text
    wrong = await say(tg, ADMIN_ID, "昨天")
    assert "没有看懂发送时间" in wrong.plain_text
    scheduled = await say(tg, ADMIN_ID, "明天 9:00")
    assert "将于" in scheduled.plain_text and "09:00 发送给 2 人" in scheduled.plain_text
    listing = await say(tg, ADMIN_ID, "/notices", expect="最近的通知")
    assert "定时发送（" in listing.plain_text
    report = await press(tg, ADMIN_ID, listing, "#1 详情", expect="收件人")
    cancelled = await press(tg, ADMIN_ID, report, "取消发送", expect="已取消")
    assert "2 人的消息不再发送" in cancelled.plain_text
    again = await press(tg, ADMIN_ID, report, "取消发送", expect="取消")
    assert "已经取消过了" in again.plain_text
    await tg.expect_no_messages(chats[0], 0.3)
    assert storage_of(app).outbox_counts(notices.SOURCE, "1") == {"cancelled": 2}
    assert [e.action for e in storage_of(app).audit_entries() if e.action.startswith("notice")] == [
        "notice_draft",
        "notice_schedule",
        "notice_cancel",
    ]


async def test_scheduled_time_passed_while_the_bot_was_down(tg, tmp_path, knowledge):
    db = tmp_path / "cppcc.db"
    with Storage(db) as storage:
        chats = add_members(storage, 3)
        before = storage.now() - timedelta(hours=2)
        preview = notices.compose(storage, CLI_CALLER, "全体委员", "上午十点开会", now=before)
        notices.confirm(storage, CLI_CALLER, preview.notice.id, now=before, send_at=before + timedelta(hours=1))
    application = build_application(make_settings(tg, db))
    async with running(application):
        await wait_delivered(tg, chats)
        await tg.wait_for(lambda: storage_of(application).notice(1).status == "done")
    assert all(len(tg.sent_messages(c)) == 1 for c in chats)


# ---- load ----------------------------------------------------------------------------------------


async def test_questions_are_answered_while_1000_recipients_are_sent_to(tg, app):
    chats = add_members(storage_of(app), 1000, first_chat=100000)
    wanted = set(chats)
    await send_notice(tg, "/notice 全体委员 关于开展年度履职评价的通知")
    await tg.wait_for(lambda: len(tg.sent_messages()) > 100)
    reply = await say(tg, OTHER, "委员活动的钱谁出")
    delivered = sum(1 for m in tg.sent_messages() if m.chat_id in wanted)
    assert "（45）" in reply.plain_text
    assert delivered < 1000, "the question should be answered while the notice is still going out"
    await tg.wait_for(lambda: sum(1 for m in tg.sent_messages() if m.chat_id in wanted) >= 1000, timeout=20)
    await asyncio.sleep(0.2)
    per_chat = Counter(m.chat_id for m in tg.sent_messages() if m.chat_id in wanted)
    assert set(per_chat) == set(chats) and set(per_chat.values()) == {1}
    await tg.wait_for(lambda: outbox_sender(app).stats["sent"] >= 1000)


# ---- crash and restart ----------------------------------------------------------------------------


def _run_bot(tg, db: Path, knowledge_path: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "CPPCC_"))}
    env.update(
        {
            "TELEGRAM_BOT_TOKEN": tg.token,
            "TELEGRAM_API_BASE_URL": tg.base_url,
            "CPPCC_DB": str(db),
            "CPPCC_KNOWLEDGE": str(knowledge_path),
            "NO_PROXY": "127.0.0.1,localhost",
        }
    )
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_kill_9_mid_notice_then_restart_reaches_everyone_once(tg, tmp_path):
    """Crash safety: duplicates only for the rows in flight ('sending') at the kill."""
    knowledge_path = fast_knowledge(tmp_path, rate=100, per_chat_rate=1, max_in_flight=8)
    db = tmp_path / "bot.db"
    with Storage(db) as storage:
        chats = add_members(storage, 200, first_chat=300000)
        preview = notices.compose(storage, CLI_CALLER, "全体委员", "请核对个人信息", now=storage.now())
        notices.confirm(storage, CLI_CALLER, preview.notice.id, now=storage.now())
    wanted = set(chats)

    def delivered() -> Counter:
        return Counter(m.chat_id for m in tg.sent_messages() if m.chat_id in wanted)

    tg.slow("sendMessage", 0.05)  # keep several requests in flight at any moment
    process = _run_bot(tg, db, knowledge_path)
    try:
        tg.wait_for_sync(lambda: len(delivered()) >= 80, timeout=30)
        process.kill()  # SIGKILL: no shutdown code runs
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    time.sleep(0.2)  # let requests already at the server finish
    with Storage(db) as storage:
        counts = storage.outbox_counts(notices.SOURCE, "1")
    in_flight = counts.get("sending", 0)
    assert 0 < len(delivered()) < 200
    assert 1 <= in_flight <= 8  # max_in_flight

    tg.slow("sendMessage", 0)
    process = _run_bot(tg, db, knowledge_path)
    try:
        tg.wait_for_sync(lambda: len(delivered()) == 200, timeout=30)
        with Storage(db) as storage:
            tg.wait_for_sync(lambda: storage.outbox_counts(notices.SOURCE, "1") == {"sent": 200}, timeout=10)
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr[-2000:]
    duplicates = sum(delivered().values()) - 200
    assert duplicates <= in_flight
    assert "were in flight when the process stopped" in stderr or in_flight == 0
