"""End to end: the task ledger through the real Application and the fake Bot API server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from people_support import MEMBERS_CSV
from telegram.ext import Application

from bot import ledger
from bot.people.identity import bind_by_contact
from bot.people.roles import CLI_CALLER, resolve_caller
from bot.people.roster import import_members, import_unit_contacts
from bot.storage import Storage
from handlers.app import build_application
from handlers.common import SERVICES_KEY
from tests.conftest import ADMIN_ID, make_settings, running

PROPOSAL, OFFICE, UNITED, MEMBER = 5101, 5102, 5103, 5201
GROUP = -100555
CONTACTS_CSV = (
    "单位,姓名,手机号\n政协提案和委员联络委,孙八,13600001111\n政协办,吴十,13700006666\n统战部,钱七,13500004444\n"
)
PHONES = {PROPOSAL: "13600001111", OFFICE: "13700006666", UNITED: "13500004444", MEMBER: "13812345678"}


@pytest.fixture
async def bot(tg, tmp_path) -> AsyncIterator[Application]:
    """The real application, with limits that let one user walk through a whole flow quickly.

    The per-chat send gap (~1 s, Telegram's private-chat limit) is shortened: these tests are
    about the ledger, and a dozen replies to one chat would otherwise take a dozen seconds.
    """
    app = build_application(make_settings(tg, tmp_path / "cppcc.db", flood_limit=100, per_chat_interval=0.02))
    async with running(app):
        yield app


@pytest.fixture
def storage(bot) -> Storage:
    """The running bot's storage with three bound unit contacts and one bound member."""
    storage = bot.bot_data[SERVICES_KEY].storage
    import_unit_contacts(storage, CLI_CALLER, CONTACTS_CSV.encode())
    import_members(storage, CLI_CALLER, MEMBERS_CSV.encode())
    for telegram_id, phone in PHONES.items():
        bind_by_contact(storage, telegram_id, telegram_id, "86" + phone)  # as Telegram sends it
    return storage


async def say(tg, user: int, text: str, **kwargs):
    tg.inject_message(user, text, **kwargs)
    return await tg.wait_for_reply(kwargs.get("chat_id", user))


async def press(tg, user: int, message, label: str, count: int = 1):
    mark = tg.mark()
    tg.inject_callback(user, message.callback_data(label), message)
    return await tg.wait_for_messages(user, count, since=mark)


async def test_guided_report_with_an_attachment(tg, bot, storage):
    tasks = await say(tg, PROPOSAL, "/mytasks")
    assert "政协提案和委员联络委的任务" in tasks.plain_text and "⬜（33）" in tasks.plain_text
    assert "（33）" in tasks.button_texts and "（3）" in tasks.button_texts
    assert all(len(b["callback_data"].encode()) <= 64 for b in tasks.buttons)

    (prompt,) = await press(tg, PROPOSAL, tasks, "（33）")
    assert "请发送第（33）项的进展情况" in prompt.plain_text
    attach = await say(tg, PROPOSAL, "本季度组织委员集中培训1次，参训42人")
    assert attach.button_texts[0].startswith("跳过")
    tg.inject_document(PROPOSAL, "培训签到表.pdf", b"%PDF-1.4 sign-in sheet")
    preview = await tg.wait_for_reply(PROPOSAL)
    assert "进展：本季度组织委员集中培训1次，参训42人" in preview.plain_text
    assert "附件：培训签到表.pdf" in preview.plain_text

    (receipt,) = await press(tg, PROPOSAL, preview, "确认提交")
    assert "已登记第（33）项的进展" in receipt.plain_text and "孙八" in receipt.plain_text
    assert receipt.button_texts == ["修改这条进展"]
    (stored,) = storage.ledger_reports()
    assert (stored.task, stored.unit_id, stored.contact_name, stored.telegram_id) == (
        33,
        "proposal_committee",
        "孙八",
        PROPOSAL,
    )
    assert stored.attachment.name == "培训签到表.pdf" and stored.attachment.kind == "document"
    assert await tg.wait_for_requests("editMessageReplyMarkup")  # the confirm button is gone

    mark = tg.mark()
    tg.inject_callback(PROPOSAL, "lg:c", preview, check_buttons=False)  # pressed again
    assert "按钮已失效" in (await tg.wait_for_messages(PROPOSAL, 1, since=mark))[0].plain_text
    assert len(storage.ledger_reports()) == 1
    assert "✅（33）" in (await say(tg, PROPOSAL, "/mytasks")).plain_text


async def test_one_line_report_and_edits_within_24_hours(tg, bot, storage):
    receipt = await say(tg, UNITED, "/report 19 本季度邀请委员参加学习会2次")
    assert "已登记第（19）项的进展" in receipt.plain_text
    (filed,) = storage.ledger_reports()
    assert filed.text == "本季度邀请委员参加学习会2次"

    edited = await say(tg, UNITED, "/report edit 本季度邀请委员参加学习会3次")
    assert "已修改 1 次" in edited.plain_text and "学习会3次" in edited.plain_text

    (prompt,) = await press(tg, UNITED, edited, "修改这条进展")
    assert "原内容：本季度邀请委员参加学习会3次" in prompt.plain_text
    preview = await say(tg, UNITED, "本季度邀请委员参加学习会4次，列席常委会1次")
    assert "新内容：本季度邀请委员参加学习会4次" in preview.plain_text
    (final,) = await press(tg, UNITED, preview, "确认提交")
    assert "已修改 2 次" in final.plain_text

    assert storage.ledger_report(filed.id).text == "本季度邀请委员参加学习会4次，列席常委会1次"
    assert [v.text for v in storage.ledger_versions(filed.id)] == [
        "本季度邀请委员参加学习会2次",
        "本季度邀请委员参加学习会3次",
    ]


async def test_edit_after_24_hours_is_refused(tg, bot, storage):
    contact = resolve_caller(storage, UNITED, ())
    old = ledger.submit_report(storage, contact, 19, "昨天的进展", now=storage.now() - timedelta(hours=25))
    refused = await say(tg, UNITED, "/report edit 想改一下")
    assert "已超过 24 小时" in refused.plain_text and "不能再修改" in refused.plain_text
    assert storage.ledger_report(old.id).text == "昨天的进展" and storage.ledger_versions(old.id) == []
    mark = tg.mark()
    tg.inject_callback(UNITED, f"lg:e:{old.id}", refused, check_buttons=False)  # an old receipt's button
    assert "已超过 24 小时" in (await tg.wait_for_messages(UNITED, 1, since=mark))[0].plain_text


async def test_bad_reports_are_refused_with_the_reason(tg, bot, storage):
    other_unit = await say(tg, PROPOSAL, "/report 45 代财政局填报")
    assert "第（45）项的责任单位是财政局" in other_unit.plain_text
    too_long = await say(tg, PROPOSAL, "/report 33 " + "进" * 4000)
    assert "最多 1000 字" in too_long.plain_text and "4000 字" in too_long.plain_text
    missing = await say(tg, PROPOSAL, "/report 99 本季度")
    assert "没有第（99）项" in missing.plain_text
    unclear = await say(tg, PROPOSAL, "/report 本季度培训1次")
    assert "/report 33" in unclear.plain_text
    member = await say(tg, MEMBER, "/report 33 委员也想填")
    assert "只有责任单位联络员可以填报" in member.plain_text
    guest = await say(tg, 5999, "/report 33 游客")
    assert "验证身份" in guest.plain_text

    prompt = await say(tg, PROPOSAL, "/report 33")
    assert "请发送第（33）项的进展情况" in prompt.plain_text
    empty = await say(tg, PROPOSAL, "\u3000")
    assert "不能为空" in empty.plain_text
    long_in_flow = await say(tg, PROPOSAL, "长" * 1001)
    assert "最多 1000 字" in long_in_flow.plain_text
    assert "跳过" in (await say(tg, PROPOSAL, "这次写对了")).button_texts[0]
    assert "已取消" in (await say(tg, PROPOSAL, "/cancel")).plain_text
    assert storage.ledger_reports() == []
    assert "（45）" in (await say(tg, PROPOSAL, "第45条是什么")).plain_text  # the draft is gone: back to QA


async def test_commands_and_other_users_are_not_taken_by_a_draft(tg, bot, storage):
    await say(tg, PROPOSAL, "/report 33")
    assert "/item 33" in (await say(tg, PROPOSAL, "/help")).plain_text
    assert "（45）" in (await say(tg, MEMBER, "委员活动的钱谁出")).plain_text
    preview_step = await say(tg, PROPOSAL, "草稿内容")
    assert "跳过" in preview_step.button_texts[0]
    (preview,) = await press(tg, PROPOSAL, preview_step, "跳过（不加附件）")
    assert "附件：无" in preview.plain_text
    (cancelled,) = await press(tg, PROPOSAL, preview, "取消")
    assert "已取消" in cancelled.plain_text and storage.ledger_reports() == []


async def test_secretary_sees_the_overview_and_a_tasks_history(tg, bot, storage):
    await say(tg, PROPOSAL, "/report 33 本季度组织委员集中培训1次")
    await say(tg, OFFICE, "/report 33 本季度统筹安排视察2次")
    await say(tg, UNITED, "/report 19 本季度邀请委员参加学习会")

    view = await say(tg, ADMIN_ID, "/ledger")
    assert "任务台账 · " in view.plain_text and "有进展的 2 项" in view.plain_text
    assert "财政局（45）〔无联络员〕" in view.plain_text and "/ledger 33" in view.plain_text

    history = await say(tg, ADMIN_ID, "/ledger 33")
    text = history.plain_text
    assert "· 政协办（" in text and "本季度统筹安排视察2次〔未公开〕" in text
    assert "· 政协提案和委员联络委（" in text and "历史记录（共 2 条" in text

    assert "只有政协办秘书" in (await say(tg, MEMBER, "/ledger")).plain_text
    assert "只有政协办秘书" in (await say(tg, PROPOSAL, "/ledger 33")).plain_text
    assert "2027Q1" in (await say(tg, ADMIN_ID, "/ledger 2027Q9")).plain_text


async def test_secretary_opens_an_attachment_from_the_history(tg, bot, storage):
    await say(tg, UNITED, "/report 19")
    await say(tg, UNITED, "学习会照片见附件")
    tg.inject_photo(UNITED)
    preview = await tg.wait_for_reply(UNITED)
    await press(tg, UNITED, preview, "确认提交")
    history = await say(tg, ADMIN_ID, "/ledger 19")
    (label,) = [t for t in history.button_texts if t.startswith("附件")]
    mark = tg.mark()
    tg.inject_callback(ADMIN_ID, history.callback_data(label), history)
    (sent,) = await tg.wait_for_messages(ADMIN_ID, 1, since=mark)
    assert sent.method == "sendPhoto" and "第（19）项进展" in sent.plain_text
    start = await say(tg, MEMBER, "/start")  # any bot message with buttons in the member's chat
    mark = tg.mark()
    tg.inject_callback(MEMBER, history.callback_data(label), start, check_buttons=False)
    assert "只有政协办秘书" in (await tg.wait_for_messages(MEMBER, 1, since=mark))[0].plain_text


async def test_members_see_only_published_progress(tg, bot, storage):
    await say(tg, PROPOSAL, "/report 33 提案委：本季度组织委员集中培训1次")
    await say(tg, OFFICE, "/report 33 政协办：本季度统筹安排视察2次")

    before = await say(tg, MEMBER, "（33）落实得怎么样")
    assert "暂未公开" in before.plain_text and "培训1次" not in before.plain_text

    published = await say(tg, ADMIN_ID, "/ledger publish 提案委")
    assert "所有人" in published.plain_text

    after = await say(tg, MEMBER, "33条进展")
    assert "提案委：本季度组织委员集中培训1次" in after.plain_text
    assert "视察2次" not in after.plain_text and "· 政协办：暂无公开的进展" in after.plain_text

    secretary = await say(tg, ADMIN_ID, "第三十三项进展如何")
    assert "视察2次〔未公开〕" in secretary.plain_text

    tg.add_chat(GROUP, "supergroup", title="政协委员群")
    in_group = await say(tg, ADMIN_ID, "@cppcc_helper_bot （33）落实得怎么样", chat_id=GROUP, chat_type="supergroup")
    assert "培训1次" in in_group.plain_text and "视察2次" not in in_group.plain_text

    assert "只有政协办秘书和本单位能看到" in (await say(tg, ADMIN_ID, "/ledger hide 提案委")).plain_text
    assert "暂未公开" in (await say(tg, MEMBER, "（33）落实得怎么样")).plain_text
    assert "只有政协办秘书" in (await say(tg, MEMBER, "/ledger publish 政协办")).plain_text


async def test_reporting_is_private_only(tg, bot, storage):
    tg.add_chat(GROUP, "supergroup", title="联络员群")
    reply = await say(tg, PROPOSAL, "/report@cppcc_helper_bot 33 群里填报", chat_id=GROUP, chat_type="supergroup")
    assert "私聊" in reply.plain_text and storage.ledger_reports() == []
