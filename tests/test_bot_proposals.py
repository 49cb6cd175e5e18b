"""End to end: proposals and 社情民意 through the real Application and the fake Bot API, with the
bot restarted after every step (a new Application on the same database): nothing is lost and
nothing is sent twice."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.people.identity import bind_by_contact
from bot.people.roles import CLI_CALLER
from bot.people.roster import import_members, import_unit_contacts
from bot.storage import Storage
from handlers.app import build_application
from tests.conftest import ADMIN_ID, make_settings, running
from tests.fakeapi import SentMessage

ZHANG, LI, WANG, WATER, HEALTH = 6101, 6102, 6103, 6201, 6202
SECOND_SECRETARY = 6301
MEMBERS = (
    "姓名,手机号,界别,专委会,乡镇街道,党派,是否常委\n"
    "张三,13812345678,经济界,提案委,习岗镇,民盟,是\n"
    "李四,13900001111,农业界,经济委,立岗镇,,否\n"
    "王五,13700002222,教育界,提案委,习岗镇,九三学社,\n"
)
CONTACTS = "单位,姓名,手机号\n水务局,钱七,13500004444\n卫健局,孙八,13600001111\n"
PHONES = {
    ZHANG: "13812345678",
    LI: "13900001111",
    WANG: "13700002222",
    WATER: "13500004444",
    HEALTH: "13600001111",
}


class Bot:
    """The application on one database, restartable."""

    def __init__(self, tg, db):
        self.tg, self.db = tg, db
        self.stack: contextlib.AsyncExitStack | None = None
        self.restarts = 0

    async def start(self) -> None:
        app = build_application(make_settings(self.tg, self.db, flood_limit=10_000))
        self.app = app
        self.stack = contextlib.AsyncExitStack()
        await self.stack.enter_async_context(running(app))

    async def stop(self) -> None:
        await self.stack.aclose()

    async def restart(self) -> None:
        await self.stop()
        self.restarts += 1
        await self.start()

    async def say(self, user: int, text: str) -> SentMessage:
        self.tg.inject_message(user, text)
        return await self.tg.wait_for_reply(user)

    async def press(self, user: int, message: SentMessage, label: str) -> SentMessage:
        mark = self.tg.mark()
        self.tg.inject_callback(user, message.callback_data(label), message)
        (reply,) = await self.tg.wait_for_messages(user, 1, since=mark)
        return reply

    async def received(self, chat: int, has: str, since: int = 0) -> SentMessage:
        """The first message to ``chat`` since ``since`` whose text contains ``has`` (waits)."""

        def found() -> SentMessage | None:
            return next((m for m in self.tg.sent_messages(chat, since=since) if has in (m.plain_text or "")), None)

        return await self.tg.wait_for(found)

    def count(self, chat: int, has: str) -> int:
        return sum(1 for m in self.tg.sent_messages(chat) if has in (m.plain_text or ""))


@pytest.fixture
async def bot(tg, tmp_path):
    db = tmp_path / "cppcc.db"
    with Storage(db) as storage:
        import_members(storage, CLI_CALLER, MEMBERS.encode())
        import_unit_contacts(storage, CLI_CALLER, CONTACTS.encode())
        for telegram_id, phone in PHONES.items():
            bind_by_contact(storage, telegram_id, telegram_id, "86" + phone)
        storage.add_admin(SECOND_SECRETARY, None, storage.now())
    harness = Bot(tg, db)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


async def step(bot: Bot, action: Callable):
    """One step of the loop, then a restart."""
    result = await action()
    await bot.restart()
    return result


async def test_the_whole_loop_with_a_restart_after_every_step(tg, bot):
    assert bot.app.job_queue.get_jobs_by_name("proposals.sweep")  # co-sign waits, drafts, digest
    # the member writes with two co-signers
    start = await bot.say(ZHANG, "/propose")
    assert "案由" in start.plain_text
    await step(bot, lambda: bot.say(ZHANG, "关于加强农村供水保障的建议"))
    await bot.say(ZHANG, "一、现状：部分村组夏季供水不足。")
    body = await step(bot, lambda: bot.say(ZHANG, "二、建议：新建调蓄水池，实行分时供水。"))
    asked = await step(bot, lambda: bot.press(ZHANG, body, "正文完成"))
    assert "联名" in asked.plain_text
    listed = await step(bot, lambda: bot.say(ZHANG, "李四、王五"))
    assert "李四（待邀请）" in listed.plain_text and "王五（待邀请）" in listed.plain_text
    preview = await step(bot, lambda: bot.press(ZHANG, listed, "完成联名"))
    assert "【提案预览】" in preview.plain_text and "3 天后" in preview.plain_text
    submitted = await step(bot, lambda: bot.press(ZHANG, preview, "提交"))
    assert "已请联名委员确认" in submitted.plain_text
    assert "提案 1/1" in (await bot.say(ZHANG, "/mine")).plain_text  # counts at once

    # one co-signer agrees, one declines → review card to the secretary
    invitation = await bot.received(LI, "邀请您联名")
    await step(bot, lambda: bot.press(LI, invitation, "同意联名"))
    declined = await bot.received(WANG, "邀请您联名")
    await step(bot, lambda: bot.press(WANG, declined, "不同意"))
    card = await bot.received(ADMIN_ID, "【提案审查】")
    assert "联名：李四（同意）、王五（不同意）" in card.plain_text

    # 立案 and 交办 to a 主办 and a 协办 unit; the second secretary's card loses its buttons
    other_card = await bot.received(SECOND_SECRETARY, "【提案审查】")
    assert "立案" in other_card.button_texts
    accepted = await step(bot, lambda: bot.press(ADMIN_ID, card, "立案"))
    await tg.wait_for(lambda: other_card.buttons == [] and card.buttons == [])
    assert "已立案" in accepted.plain_text and "主办单位" in accepted.plain_text
    lead = await step(bot, lambda: bot.say(ADMIN_ID, "水务局"))
    assert "主办单位：水务局" in lead.plain_text
    helpers = await step(bot, lambda: bot.say(ADMIN_ID, "卫健局"))
    assert "协办单位：卫生健康局" in helpers.plain_text
    planned = await step(bot, lambda: bot.press(ADMIN_ID, helpers, "完成"))
    assert "交办预览" in planned.plain_text
    await step(bot, lambda: bot.press(ADMIN_ID, planned, "确认交办"))
    assert "编号" in (await bot.received(ZHANG, "已立案")).plain_text
    lead_card = await bot.received(WATER, "【提案交办】")
    helper_card = await bot.received(HEALTH, "【提案交办】")
    assert "主办单位" in lead_card.plain_text and "协办单位" in helper_card.plain_text
    await bot.received(ZHANG, "已交办")

    # 协办意见 → the lead unit sees it; the lead replies B with a document
    await step(bot, lambda: bot.press(HEALTH, helper_card, "协办意见"))
    await step(bot, lambda: bot.say(HEALTH, "建议统筹乡镇卫生院的供水需求。"))
    await bot.received(WATER, "建议统筹乡镇卫生院的供水需求")
    started = await step(bot, lambda: bot.press(WATER, lead_card, "答复"))
    assert "协办单位卫生健康局的意见：建议统筹乡镇卫生院的供水需求。" in started.plain_text
    await step(bot, lambda: bot.say(WATER, "已将调蓄水池列入今年水利建设计划。"))
    tg.inject_document(WATER, "答复函.pdf", b"%PDF-1.4 reply letter")
    attached = await tg.wait_for_reply(WATER)
    assert "答复函.pdf" in attached.plain_text
    await bot.restart()
    results = await step(bot, lambda: bot.press(WATER, attached, "内容完成"))
    reviewed = await step(bot, lambda: bot.press(WATER, results, "B 正在解决或列入计划"))
    assert "【答复预览】" in reviewed.plain_text
    await step(bot, lambda: bot.press(WATER, reviewed, "提交答复"))

    # the member gets the reply with the 答复函 and rates it 不满意 → reopened
    reply = await bot.received(ZHANG, "列入今年水利建设计划")
    assert "办理结果：B 正在解决或列入计划" in reply.plain_text
    assert [m.file.content for m in tg.sent_messages(ZHANG) if m.file] == [b"%PDF-1.4 reply letter"]
    await step(bot, lambda: bot.press(ZHANG, reply, "不满意"))
    await step(bot, lambda: bot.say(ZHANG, "没有说明完工时间"))
    reopened = await bot.received(WATER, "【重新办理】")
    assert "没有说明完工时间" in reopened.plain_text
    await bot.received(ADMIN_ID, "没有说明完工时间")

    # second reply → 满意
    mark = tg.mark()
    await step(bot, lambda: bot.press(WATER, reopened, "答复"))
    second = await step(bot, lambda: bot.say(WATER, "调蓄水池将于6月底完工并投入使用。"))
    results = await step(bot, lambda: bot.press(WATER, second, "内容完成"))
    reviewed = await step(bot, lambda: bot.press(WATER, results, "A 已解决或采纳"))
    await step(bot, lambda: bot.press(WATER, reviewed, "提交答复"))
    final = await bot.received(ZHANG, "6月底完工", since=mark)
    assert "重新办理" in final.plain_text
    satisfied = final.callback_data("满意")
    thanks = await step(bot, lambda: bot.press(ZHANG, final, "满意"))
    assert "已办结" in thanks.plain_text
    assert final.buttons == []  # the rating buttons are gone
    tg.inject_callback(ZHANG, satisfied, final, check_buttons=False)  # a stale press: nothing changes
    assert "已经评价过" in (await tg.wait_for_reply(ZHANG)).plain_text

    mine = await bot.say(ZHANG, "/myproposals")
    for line in ("《关于加强农村供水保障的建议》：已办结", "提案人评价：满意"):
        assert line in mine.plain_text
    # nothing lost, nothing twice
    assert bot.count(LI, "邀请您联名") == 1 and bot.count(WANG, "邀请您联名") == 1
    assert bot.count(ADMIN_ID, "【提案审查】") == 1 and bot.count(WATER, "【提案交办】") == 1
    assert bot.count(ZHANG, "列入今年水利建设计划") == 1 and bot.count(WATER, "【重新办理】") == 1
    assert bot.restarts >= 20


async def test_reject_return_and_an_adopted_opinion_with_an_instruction(tg, bot):
    async def submit(title: str) -> None:
        await bot.say(ZHANG, "/propose")
        await bot.say(ZHANG, title)
        body = await bot.say(ZHANG, "具体建议如下。")
        asked = await bot.press(ZHANG, body, "正文完成")
        preview = await bot.press(ZHANG, asked, "不联名")
        await bot.press(ZHANG, preview, "提交")

    await step(bot, lambda: submit("关于建设城市书房的建议"))
    card = await bot.received(ADMIN_ID, "关于建设城市书房的建议")
    reasons = await step(bot, lambda: bot.press(ADMIN_ID, card, "不予立案"))
    await step(bot, lambda: bot.press(ADMIN_ID, reasons, "内容空泛、缺乏具体建议"))
    told = await bot.received(ZHANG, "不予立案")
    assert "内容空泛、缺乏具体建议" in told.plain_text

    mark = tg.mark()
    await submit("关于优化公交线路的建议")
    card = await bot.received(ADMIN_ID, "关于优化公交线路的建议", since=mark)
    await step(bot, lambda: bot.press(ADMIN_ID, card, "退回修改"))
    await step(bot, lambda: bot.say(ADMIN_ID, "请补充客流数据"))
    returned = await bot.received(ZHANG, "请补充客流数据")
    resumed = await step(bot, lambda: bot.press(ZHANG, returned, "修改后重新提交"))
    assert "【提案预览】" in resumed.plain_text
    mark = tg.mark()
    await step(bot, lambda: bot.press(ZHANG, resumed, "提交"))
    await bot.received(ADMIN_ID, "【提案审查】", since=mark)
    assert bot.count(ADMIN_ID, "【提案审查】") == 3  # the resubmission is reviewed again

    await bot.say(LI, "/opinion")
    await bot.say(LI, "关于村道照明不足的情况")
    tg.inject_document(LI, "情况说明.docx", b"PK fake docx")
    body = await tg.wait_for_reply(LI)
    preview = await step(bot, lambda: bot.press(LI, body, "内容完成"))
    assert "【社情民意预览】" in preview.plain_text
    await step(bot, lambda: bot.press(LI, preview, "提交"))
    card = await bot.received(ADMIN_ID, "【社情民意审核】")
    adopted = await step(bot, lambda: bot.press(ADMIN_ID, card, "采用"))
    await bot.received(LI, "已被采用")
    await step(bot, lambda: bot.press(ADMIN_ID, adopted, "记录领导批示"))
    await step(bot, lambda: bot.say(ADMIN_ID, "请交通运输局研究解决。"))
    instruction = await bot.received(LI, "领导批示")
    assert "请交通运输局研究解决" in instruction.plain_text

    review = await bot.say(ADMIN_ID, "/review")
    assert "待处理" in review.plain_text and "统计" in review.plain_text
    mark = tg.mark()
    tg.inject_callback(ADMIN_ID, review.callback_data("导出"), review)
    await tg.wait_for_requests("sendDocument", chat_id=ADMIN_ID, since=mark)


async def test_bad_input_through_telegram(tg, bot):
    assert "验证身份" in (await bot.say(9999, "/propose")).plain_text  # a guest
    assert "只有政协委员" in (await bot.say(WATER, "/propose")).plain_text
    await bot.say(ZHANG, "/propose")
    assert "不能为空" in (await bot.say(ZHANG, "　")).plain_text
    await bot.say(ZHANG, "关于完善社区养老服务的建议")
    tg.inject_document(ZHANG, "病毒.exe", b"MZ")
    assert "不支持" in (await tg.wait_for_reply(ZHANG)).plain_text
    tg.inject_photo(ZHANG)
    refused = (await tg.wait_for_reply(ZHANG)).plain_text
    assert "照片不能作为附件" in refused and "请把材料整理成 .docx" in refused
    long_body = "".join(f"第{i}段：社区养老服务需要更多专业护理人员和日间照料场所。\n" for i in range(160))
    assert len(long_body) > 4096
    body = await bot.say(ZHANG, long_body)  # one message of Telegram's own limit is fine; stored whole
    await bot.say(ZHANG, "补充：建议设立专项资金。")
    asked = await bot.press(ZHANG, body, "正文完成")
    preview = await bot.press(ZHANG, asked, "不联名")
    mark = tg.mark()
    submit = preview.callback_data("提交")
    tg.inject_callback(ZHANG, submit, preview)
    tg.inject_callback(ZHANG, submit, preview, check_buttons=False)  # a double press
    first, second = [m.plain_text for m in await tg.wait_for_messages(ZHANG, 2, since=mark)]
    assert "已提交提案" in first and "已提交、已放弃或已过期" in second  # submitted once
    card = await bot.received(ADMIN_ID, "【提案审查】")
    assert "共 " in card.plain_text and len(card.plain_text) < 1000  # the card is short
    mark = tg.mark()
    tg.inject_callback(ADMIN_ID, card.callback_data("查看全文"), card)
    await bot.received(ADMIN_ID, "办理过程", since=mark)
    parts = [m.plain_text for m in tg.sent_messages(ADMIN_ID, since=mark)]
    assert len(parts) >= 2 and "第0段" in "".join(parts) and "第159段" in "".join(parts)  # shown split, whole


async def test_the_periodic_pass_ends_cosign_waits_and_expires_drafts_with_a_moved_clock(tg, bot, monkeypatch):
    """The sweep job of the running bot, with the storage clock moved forward between restarts
    (each start runs the job after a second): a co-sign wait that is over sends the proposal to
    review, an unfinished draft gets one reminder and is discarded a day later."""
    clock = [datetime(2026, 6, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))]  # a Monday, daytime
    monkeypatch.setattr(Storage, "now", lambda self: clock[0])

    async def later(**delta) -> None:
        clock[0] += timedelta(**delta)
        await bot.restart()

    await bot.say(ZHANG, "/propose")
    await bot.say(ZHANG, "关于改善乡村道路的建议")
    body = await bot.say(ZHANG, "建议对破损村道进行维修。")
    await bot.press(ZHANG, body, "正文完成")
    listed = await bot.say(ZHANG, "李四 王五")
    preview = await bot.press(ZHANG, listed, "完成联名")
    assert "3 天后" in preview.plain_text
    await bot.press(ZHANG, preview, "提交")
    agreed = await bot.received(LI, "邀请您联名")
    await bot.press(LI, agreed, "同意联名")
    silent = await bot.received(WANG, "邀请您联名")
    await bot.say(LI, "/opinion")
    await bot.say(LI, "关于村口路灯损坏的情况")  # a draft left unfinished

    await later(days=2, hours=23)  # the wait is not over yet
    await asyncio.sleep(1.5)
    assert bot.count(ADMIN_ID, "【提案审查】") == 0
    await later(hours=1, minutes=1)  # now it is
    card = await bot.received(ADMIN_ID, "【提案审查】")
    assert "李四（同意）" in card.plain_text and "王五（待回复）" in card.plain_text
    assert "联名征集已经结束" in (await bot.press(WANG, silent, "同意联名")).plain_text

    await later(days=3)  # the draft has waited six days: one reminder
    reminder = await bot.received(LI, "还没有提交")
    assert "1 天后将自动删除" in reminder.plain_text and "继续编辑" in reminder.button_texts
    await later(minutes=5)
    await asyncio.sleep(1.5)
    assert bot.count(LI, "还没有提交") == 1  # one reminder only
    await later(days=1)  # seven days: discarded
    await bot.received(LI, "已自动删除")
    gone = await bot.press(LI, reminder, "继续编辑")
    assert "已提交、已放弃或已过期" in gone.plain_text
    assert "【社情民意】" not in (await bot.say(LI, "补充内容")).plain_text  # no longer taken as its body
    assert bot.count(ADMIN_ID, "【社情民意审核】") == 0 and bot.count(ADMIN_ID, "【提案审查】") == 1


async def test_units_lists_refusals_and_opinion_decisions_through_telegram(tg, bot):
    """/proposals for a unit, a unit that is not assigned pressing 答复, two secretaries pressing
    立案 at once, a stale 确认交办, naming oneself, 社情民意 报送上级 and 不予采用."""
    await bot.say(ZHANG, "/propose")
    await bot.say(ZHANG, "关于规范农贸市场管理的建议")
    body = await bot.say(ZHANG, "建议划定临时摊位区域。")
    asked = await bot.press(ZHANG, body, "正文完成")
    names = await bot.say(ZHANG, "张三、不存在的人")
    assert "是您本人，提案人不能联名自己" in names.plain_text and "名册中没有“不存在的人”" in names.plain_text
    preview = await bot.press(ZHANG, asked, "不联名")
    assert "联名：无" in preview.plain_text
    await bot.press(ZHANG, preview, "提交")
    first = await bot.received(ADMIN_ID, "【提案审查】")
    second = await bot.received(SECOND_SECRETARY, "【提案审查】")
    mark = tg.mark()
    tg.inject_callback(ADMIN_ID, first.callback_data("立案"), first)
    tg.inject_callback(SECOND_SECRETARY, second.callback_data("立案"), second)
    (to_admin,) = await tg.wait_for_messages(ADMIN_ID, 1, since=mark)
    (to_second,) = await tg.wait_for_messages(SECOND_SECRETARY, 1, since=mark)
    # the two presses race: whichever is handled first files it, the other is told it is stale
    replies = {ADMIN_ID: to_admin.plain_text, SECOND_SECRETARY: to_second.plain_text}
    winners = [chat for chat, text in replies.items() if text.startswith("已立案：")]
    assert len(winners) == 1, replies  # one number, once
    (winner,) = winners
    (loser,) = set(replies) - {winner}
    assert "已失效" in replies[loser]
    await bot.received(ZHANG, "已立案")
    lead = await bot.say(winner, "水务局")
    planned = await bot.press(winner, lead, "无协办单位")
    confirm = planned.callback_data("确认交办")
    await bot.press(winner, planned, "确认交办")
    mark = tg.mark()
    tg.inject_callback(winner, confirm, planned, check_buttons=False)  # pressed again later
    (again,) = await tg.wait_for_messages(winner, 1, since=mark)
    assert "已失效" in again.plain_text and bot.count(WATER, "【提案交办】") == 1

    # a unit that is not assigned: nothing to list, and 答复 is refused
    nothing = await bot.say(HEALTH, "/proposals")
    assert "目前没有待办理的提案" in nothing.plain_text
    proposal_id = confirm.split(":")[2]
    mark = tg.mark()
    tg.inject_callback(HEALTH, f"pp:ra:{proposal_id}", nothing, check_buttons=False)
    (refused,) = await tg.wait_for_messages(HEALTH, 1, since=mark)
    assert "没有交办给贵单位" in refused.plain_text
    # the assigned unit lists it with its due date and starts the reply from the list
    listed = await bot.say(WATER, "/proposals")
    assert "待办理的提案 1 件" in listed.plain_text and "答复期限 " in listed.plain_text
    reply_button = next(b for b in listed.button_texts if b.startswith("答复"))
    started = await bot.press(WATER, listed, reply_button)
    assert "答复内容" in started.plain_text

    # 社情民意: 报送上级, and another not adopted with a reason
    async def opinion(title: str) -> SentMessage:
        await bot.say(LI, "/opinion")
        await bot.say(LI, title)
        body = await bot.say(LI, "情况如下。")
        preview = await bot.press(LI, body, "内容完成")
        mark = tg.mark()
        await bot.press(LI, preview, "提交")
        return await bot.received(ADMIN_ID, title, since=mark)

    card = await opinion("关于学校周边交通拥堵的情况")
    await bot.press(ADMIN_ID, card, "报送上级")
    assert "学校周边交通拥堵" in (await bot.received(LI, "已报送上级政协")).plain_text
    card = await opinion("关于广场舞噪音的情况")
    asked = await bot.press(ADMIN_ID, card, "不予采用")
    assert "请发送理由" in asked.plain_text
    assert "理由不能为空" in (await bot.say(ADMIN_ID, "　")).plain_text
    await bot.say(ADMIN_ID, "已由街道协调解决")
    told = await bot.received(LI, "未被采用")
    assert "广场舞噪音" in told.plain_text and "已由街道协调解决" in told.plain_text
    assert bot.count(ZHANG, "已立案") == 1 and bot.count(LI, "已报送上级政协") == 1


async def test_the_latest_guided_step_wins_over_an_open_proposals_step(tg, bot):
    """A secretary asked for the 主办单位 starts composing a notice instead: the next text goes
    to the notice (the step asked last), not to the proposal as a unit name. The proposal
    waits and is taken up again from /review."""
    await bot.say(ZHANG, "/propose")
    await bot.say(ZHANG, "关于增设公交站点的建议")
    body = await bot.say(ZHANG, "建议在工业园区增设站点。")
    preview = await bot.press(ZHANG, await bot.press(ZHANG, body, "正文完成"), "不联名")
    await bot.press(ZHANG, preview, "提交")
    card = await bot.received(ADMIN_ID, "【提案审查】")
    asked = await bot.press(ADMIN_ID, card, "立案")
    assert "请发送主办单位名称" in asked.plain_text
    await bot.say(ADMIN_ID, "/notice")
    audience = await bot.say(ADMIN_ID, "常委")
    assert "单位目录中没有" not in audience.plain_text and "请发送通知正文" in audience.plain_text
    # the proposal waits, and the secretary goes on from /review (处理 → 选择承办单位并交办)
    review = await bot.say(ADMIN_ID, "/review")
    assert "待交办" in review.plain_text
    detail = await bot.press(ADMIN_ID, review, next(b for b in review.button_texts if b.startswith("处理")))
    again = await bot.press(ADMIN_ID, detail, "选择承办单位并交办")
    assert "主办单位名称" in again.plain_text
    assert "主办单位：水务局" in (await bot.say(ADMIN_ID, "水务局")).plain_text
