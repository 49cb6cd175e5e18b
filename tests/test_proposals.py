"""Proposals and 社情民意 in the core: the life cycle, co-signing, review, units, ratings,
stale and double presses, bad input, permissions, the linked records (bot/proposals)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.people.identity import bind_by_contact
from bot.people.progress import format_progress, member_progress
from bot.people.roles import CLI_CALLER, resolve_caller
from bot.people.roster import import_members, import_unit_contacts
from bot.plan.model import default_plan
from bot.proposals import flow
from bot.proposals.config import ProposalConfig, ProposalConfigError, default_config
from bot.proposals.desk import Desk
from bot.proposals.drafts import FileInfo
from bot.proposals.export import statistics, to_csv, to_xlsx
from bot.proposals.sweep import SweepResult, sweep
from bot.storage import Storage

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2027, 3, 1, 10, 0, tzinfo=TZ)
ZHANG, LI, WANG, ZHAO, WATER, HEALTH, WATER2, UNITED = 101, 102, 103, 104, 201, 202, 203, 204
SECRETARY = 900001
MEMBERS = (
    "姓名,手机号,界别,专委会,乡镇街道,党派,是否常委\n"
    "张三,13812345678,经济界,提案委,习岗镇,民盟,是\n"
    "李四,13900001111,农业界,经济委,立岗镇,,否\n"
    "王五,13700002222,教育界,提案委,习岗镇,九三学社,\n"
    "赵六,13700003333,教育界,提案委,习岗镇,,\n"
    "王武,13700004444,医卫界,提案委,习岗镇,,\n"
)
CONTACTS = (
    "单位,姓名,手机号\n水务局,钱七,13500004444\n卫健局,孙八,13600001111\n"
    "水务局,周九,13600002222\n统战部,吴十,13700006666\n"
)
PHONES = {
    ZHANG: "13812345678",
    LI: "13900001111",
    WANG: "13700002222",
    ZHAO: "13700003333",
    WATER: "13500004444",
    HEALTH: "13600001111",
    WATER2: "13600002222",
    UNITED: "13700006666",
}


class World:
    """A storage with members and unit contacts bound, and a clock the test moves."""

    def __init__(self, path):
        self.storage = Storage(path, TZ)
        import_members(self.storage, CLI_CALLER, MEMBERS.encode())
        import_unit_contacts(self.storage, CLI_CALLER, CONTACTS.encode())
        for telegram_id, phone in PHONES.items():
            bind_by_contact(self.storage, telegram_id, telegram_id, "86" + phone)
        self.now = START

    def desk(self) -> Desk:
        return Desk(self.storage, default_plan(), default_config(), frozenset({SECRETARY}), self.now)

    def who(self, telegram_id: int):
        return resolve_caller(self.storage, telegram_id, {SECRETARY})

    def say(self, telegram_id: int, text: str):
        return flow.on_text(self.desk(), self.who(telegram_id), text)

    def press(self, telegram_id: int, data: str):
        return flow.on_button(self.desk(), self.who(telegram_id), data)

    def send_file(self, telegram_id: int, name: str, size: int = 1000):
        return flow.on_document(self.desk(), self.who(telegram_id), FileInfo(f"file-{name}", name, size))

    def outbox(self, chat_id: int) -> list[str]:
        return [row.text for row in self.storage.outbox_rows("proposal") if row.chat_id == chat_id]

    def last_buttons(self, chat_id: int) -> list[str]:
        rows = [row for row in self.storage.outbox_rows("proposal") if row.chat_id == chat_id and row.buttons]
        return [b["data"] for line in rows[-1].buttons for b in line]


@pytest.fixture
def world(tmp_path) -> World:
    w = World(tmp_path / "cppcc.db")
    yield w
    w.storage.close()


def write(world: World, *, cosigners: str | None = "李四 王五") -> int:
    from bot.proposals.drafts import start

    reply = start(world.desk(), world.who(ZHANG), "proposal")
    assert "案由" in reply.text
    pid = int(reply.buttons[0][0].data.split(":")[2])
    assert "正文" in world.say(ZHANG, "关于加强农村供水保障的建议").text
    world.say(ZHANG, "一、现状：部分村组夏季供水不足。")
    world.say(ZHANG, "二、建议：新建调蓄水池。")
    asked = world.press(ZHANG, f"pp:bd:{pid}")
    assert "联名" in asked.text
    if cosigners:
        listed = world.say(ZHANG, cosigners)
        assert "李四（待邀请）" in listed.text
        preview = world.press(ZHANG, f"pp:nc:{pid}")
    else:
        preview = world.press(ZHANG, f"pp:nc:{pid}")
    assert "【提案预览】" in preview.text and "二、建议" in preview.text
    return pid


def test_the_whole_loop_in_the_core(world):
    pid = write(world)
    submitted = world.press(ZHANG, f"pp:sb:{pid}")
    assert "已请联名委员确认" in submitted.text
    assert world.press(ZHANG, f"pp:sb:{pid}").refusal  # a second press changes nothing
    # the first proposer's record counts at once, the co-signers are asked
    (record,) = world.storage.records_from(f"proposal:{pid}")
    assert record.member_id == world.who(ZHANG).member_id and record.kind == "提案" and record.status == "submitted"
    assert "邀请您联名" in world.outbox(LI)[0] and "pp:ya" in world.last_buttons(LI)[0]
    assert "状态：征集联名中" in world.outbox(LI)[0]

    listed = world.press(LI, f"pp:vw:{pid}")  # an invitation is also in the detail view, with its buttons
    assert {b.data for row in listed.buttons for b in row} >= {f"pp:ya:{pid}", f"pp:yn:{pid}"}
    from bot.proposals.views import mine

    assert "（邀请您联名，待您答复）" in mine(world.desk(), world.who(LI)).text
    assert "同意联名" in world.press(LI, f"pp:ya:{pid}").text
    assert "已答复过" in world.press(LI, f"pp:yn:{pid}").text  # changes nothing
    world.press(WANG, f"pp:yn:{pid}")
    p = world.storage.proposal(pid)
    assert p.status == "review"
    assert any("【提案审查】" in text for text in world.outbox(SECRETARY))

    accepted = world.press(SECRETARY, f"pp:la:{pid}")
    assert "2027-001" in accepted.text
    assert world.press(SECRETARY, f"pp:la:{pid}").refusal  # already 立案
    assert "主办单位：水务局" in world.say(SECRETARY, "水务局").text
    helpers = world.say(SECRETARY, "卫健局")
    assert "协办单位：卫生健康局" in helpers.text
    assert "答复期限：2027-06-01" in world.press(SECRETARY, f"pp:hn:{pid}").text
    assert "已交办" in world.press(SECRETARY, f"pp:as:{pid}").text
    assert "【提案交办】" in world.outbox(WATER)[-1] and "【提案交办】" in world.outbox(WATER2)[-1]
    assert "协办" in world.outbox(HEALTH)[-1] and "状态：办理中" in world.outbox(HEALTH)[-1]
    record = world.storage.records_from(f"proposal:{pid}")[0]
    assert record.status == "assigned" and record.units == ("water_bureau", "health_bureau")
    assert str(record.reply_due) == "2027-06-01"

    # a unit that is not assigned cannot reply; the helper gives its opinion; the lead replies B
    assert "没有交办给贵单位" in world.press(UNITED, f"pp:ra:{pid}").text
    assert "请提交协办意见" in world.press(HEALTH, f"pp:ra:{pid}").text
    world.press(HEALTH, f"pp:ho:{pid}")
    assert "已提交协办意见" in world.say(HEALTH, "建议统筹卫生院供水。").text
    assert "建议统筹卫生院供水" in world.outbox(WATER)[-1]
    world.now += timedelta(days=10)
    signed = world.press(WATER, f"pp:sg:{pid}")
    assert "已签收" in signed.text and [b.text for row in signed.buttons for b in row] == ["答复", "申请退回"]
    assert "签收过" in world.press(WATER2, f"pp:sg:{pid}").text
    started = world.press(WATER, f"pp:ra:{pid}")
    assert "协办单位卫生健康局的意见：建议统筹卫生院供水。" in started.text
    world.say(WATER, "已列入今年水利计划。")
    assert "不支持" in world.send_file(WATER, "reply.exe").text
    assert "超过 20 MB" in world.send_file(WATER, "big.pdf", 21 * 1024 * 1024).text
    world.send_file(WATER, "答复函.pdf")
    world.press(WATER, f"pp:rd:{pid}")
    assert "B 正在解决或列入计划" in world.press(WATER, f"pp:rr:{pid}:B").text
    assert "已提交答复" in world.press(WATER, f"pp:rq:{pid}").text
    assert world.press(WATER, f"pp:rq:{pid}").refusal
    rows = [row for row in world.storage.outbox_rows("proposal") if row.chat_id == ZHANG]
    assert rows[-2].attachment["name"] == "答复函.pdf" and "已列入今年水利计划" in rows[-1].text

    # 不满意 reopens; the second reply is rated 满意
    assert "不满意的原因" in world.press(ZHANG, f"pp:rv:{pid}:1:3").text
    assert "重新办理" in world.say(ZHANG, "未说明完工时间").text
    assert "已经评价过" in world.press(ZHANG, f"pp:rv:{pid}:1:1").text
    p = world.storage.proposal(pid)
    assert (p.status, p.round, p.reply_due) == ("assigned", 2, "2027-04-11")
    assert "【重新办理】" in world.outbox(WATER)[-1] and "未说明完工时间" in world.outbox(SECRETARY)[-1]
    world.press(WATER, f"pp:ra:{pid}")
    world.say(WATER, "水池将于6月底完工。")
    world.press(WATER, f"pp:rd:{pid}")
    world.press(WATER, f"pp:rr:{pid}:A")
    world.press(WATER, f"pp:rq:{pid}")
    assert "已办结" in world.press(ZHANG, f"pp:rv:{pid}:2:1").text
    assert world.press(ZHANG, f"pp:rv:{pid}:2:1").refusal
    p = world.storage.proposal(pid)
    assert (p.status, p.rating, p.result) == ("closed", "1", "A")

    timeline = world.press(ZHANG, f"pp:vw:{pid}").text
    for step in ("提交", "李四同意联名", "立案，编号 2027-001", "交办", "水务局签收", "不满意", "满意，办结"):
        assert step in timeline, step
    stats = statistics(world.desk(), 2027)
    assert (stats.submitted, stats.accepted, stats.collective, stats.replied, stats.on_time) == (1, 1, 1, 2, 2)
    assert (stats.rated, stats.satisfied) == (2, 1)
    csv_text = to_csv(world.desk(), 2027).decode("utf-8-sig")
    assert "2027-001,关于加强农村供水保障的建议,张三,李四,水务局,卫生健康局" in csv_text
    from io import BytesIO

    from openpyxl import load_workbook

    book = load_workbook(BytesIO(to_xlsx(world.desk(), 2027)))
    assert book.sheetnames == ["提案办理情况", "社情民意采用情况"]
    sheet = book["提案办理情况"]
    assert sheet["A1"].value == "2027年提案办理情况汇总表" and sheet["M2"].value == "状态"
    assert [c.value for c in sheet[3]][:6] == [
        "2027-001",
        "关于加强农村供水保障的建议",
        "张三",
        "李四",
        "水务局",
        "卫生健康局",
    ]
    assert [c.value for c in sheet[3]][10:] == ["A 已解决或采纳", "满意", "已办结"]
    progress = member_progress(world.storage, world.who(ZHANG).member_id, 2027, START.date())
    assert "提案 1/1" in format_progress(progress) and "联名" not in format_progress(progress)
    cosigner = member_progress(world.storage, world.who(LI).member_id, 2027, START.date())
    assert "联名提案 1 件（另计）" in format_progress(cosigner) and "提案 0/1" in format_progress(cosigner)


def test_reject_return_and_opinion(world):
    pid = write(world, cosigners=None)
    world.press(ZHANG, f"pp:sb:{pid}")
    assert world.press(ZHAO, f"pp:rj:{pid}").refusal  # members do not review
    categories = world.press(SECRETARY, f"pp:rj:{pid}")
    assert len(categories.buttons) == len(default_config().reject_categories)
    world.press(SECRETARY, f"pp:rc:{pid}:3")
    assert world.storage.proposal(pid).status == "rejected"
    assert "内容空泛" in world.outbox(ZHANG)[-1]
    assert world.storage.records_from(f"proposal:{pid}")  # a submission counts even when not accepted

    second = write(world, cosigners=None)
    world.press(ZHANG, f"pp:sb:{second}")
    world.press(SECRETARY, f"pp:rt:{second}")
    assert "修改意见不能为空" in world.say(SECRETARY, "  ").text
    world.say(SECRETARY, "请补充资金测算")
    assert "请补充资金测算" in world.outbox(ZHANG)[-1] and world.last_buttons(ZHANG) == [f"pp:rs:{second}"]
    resumed = world.press(ZHANG, f"pp:rs:{second}")
    assert "【提案预览】" in resumed.text
    world.press(ZHANG, f"pp:eb:{second}")
    world.say(ZHANG, "补充：需资金80万元。")
    world.press(ZHANG, f"pp:bd:{second}")
    world.press(ZHANG, f"pp:sb:{second}")
    assert world.storage.proposal(second).status == "review"
    assert len(world.storage.records_from(f"proposal:{second}")) == 1
    world.press(SECRETARY, f"pp:rt:{second}")
    world.say(SECRETARY, "仍需补充")
    assert "已放弃" in world.press(ZHANG, f"pp:dx:{second}").text  # withdrawn: no longer counts
    assert world.storage.records_from(f"proposal:{second}") == []

    # 社情民意 written directly, 采用 and 批示
    from bot.proposals.drafts import start

    reply = start(world.desk(), world.who(LI), "opinion")
    oid = int(reply.buttons[0][0].data.split(":")[2])
    world.say(LI, "关于村道照明不足的情况")
    world.send_file(LI, "情况说明.docx")
    assert "【社情民意预览】" in world.press(LI, f"pp:bd:{oid}").text
    world.press(LI, f"pp:sb:{oid}")
    assert "已被采用" in world.press(SECRETARY, f"pp:oa:{oid}").text
    world.press(SECRETARY, f"pp:oi:{oid}")
    world.say(SECRETARY, "请交通局研究解决。")
    assert "请交通局研究解决" in world.outbox(LI)[-1]
    (record,) = world.storage.records_from(f"proposal:{oid}")
    assert record.kind == "社情民意"

    # 转社情民意 changes the record's kind
    third = write(world, cosigners=None)
    world.press(ZHANG, f"pp:sb:{third}")
    world.press(SECRETARY, f"pp:cv:{third}")
    assert [r.kind for r in world.storage.records_from(f"proposal:{third}")] == ["社情民意"]
    csv_text = to_csv(world.desk(), 2027).decode("utf-8-sig")
    assert "关于村道照明不足的情况,李四" in csv_text and "请交通局研究解决" in csv_text


def test_bad_input_is_refused_politely(world):
    from bot.proposals.drafts import start

    reply = start(world.desk(), world.who(ZHANG), "proposal")
    pid = int(reply.buttons[0][0].data.split(":")[2])
    assert "不能为空" in world.say(ZHANG, "   ").text
    assert "过长" in world.say(ZHANG, "长" * 300).text
    assert "这像是一个问题" in world.say(ZHANG, "我的提案办得怎么样了？").text
    assert "都已保存" in world.say(ZHANG, "取消").text and world.say(ZHANG, "你好") is None
    world.press(ZHANG, f"pp:rs:{pid}")  # 继续编辑: asks for the title again
    world.say(ZHANG, "标题")
    assert "不能为空" in world.press(ZHANG, f"pp:bd:{pid}").text
    long_body = "正文" * 5000  # over one Telegram message: kept whole
    world.say(ZHANG, long_body)
    world.press(ZHANG, f"pp:bd:{pid}")
    names = world.say(ZHANG, "张三 王物 不存在的人").text
    assert "您本人" in names and "您是不是指" in names and "名册中没有“不存在的人”" in names
    assert world.storage.proposal(pid).body == long_body
    assert "不能联名自己" in world.press(ZHANG, f"pp:ac:{pid}:{world.who(ZHANG).member_id}").text
    assert world.press(ZHANG, "pp:zz:1").refusal and world.press(ZHANG, "pp:sb:abc").refusal
    assert world.press(LI, f"pp:sb:{pid}").refusal  # someone else's draft
    assert world.press(WATER, f"pp:vw:{pid}").refusal  # units do not see drafts
    assert start(world.desk(), world.who(ZHANG), "proposal").buttons[0][0].text == "继续编辑"


def test_cosign_wait_drafts_expire_and_digest(world):
    pid = write(world)
    world.press(ZHANG, f"pp:sb:{pid}")
    world.now += timedelta(days=3, hours=12)  # 22:00: quiet hours, nothing moves
    assert sweep(world.desk()) == SweepResult() and world.storage.proposal(pid).status == "cosigning"
    world.now -= timedelta(hours=12) - timedelta(minutes=1)
    result = sweep(world.desk())
    assert result.to_review == 1 and world.storage.proposal(pid).status == "review"
    assert world.press(LI, f"pp:ya:{pid}").refusal  # too late, nothing changes
    from bot.proposals.drafts import start

    draft = int(start(world.desk(), world.who(LI), "proposal").buttons[0][0].data.split(":")[2])
    world.now += timedelta(days=6, hours=1)
    first = sweep(world.desk())
    assert first.reminded == 1 and "还没有提交" in world.outbox(LI)[-1]
    assert sweep(world.desk()).reminded == 0  # one reminder only
    assert first.digest == 1 and sweep(world.desk()).digest == 0  # once a day
    digest = [row.text for row in world.storage.outbox_rows("proposal-digest")]
    assert "已等待超过 3 个工作日" in digest[0] and "关于加强农村供水保障的建议" in digest[0]
    world.now += timedelta(days=1)
    assert sweep(world.desk()).discarded == 1
    assert world.storage.proposal(draft).status == "discarded"


def test_cosign_counts_setting_links_records_for_cosigners(world):
    pid = write(world, cosigners="李四")
    desk = world.desk()
    desk.config = dataclasses.replace(default_config(), cosign_counts=True)
    flow.on_button(desk, world.who(ZHANG), f"pp:sb:{pid}")
    flow.on_button(desk, world.who(LI), f"pp:ya:{pid}")
    assert len(world.storage.records_from(f"proposal:{pid}")) == 2
    assert world.storage.cosigned_count(world.who(LI).member_id, "2027-01-01", "2028-01-01") == 1
    assert world.storage.cosigned_counts("2027-01-01", "2028-01-01") == {world.who(LI).member_id: 1}
    assert world.storage.cosigned_counts("2028-01-01", "2029-01-01") == {}


@pytest.mark.parametrize(
    "change, where",
    [
        ({"reply_months": 0}, "reply_months"),
        ({"cosign_counts": "yes"}, "cosign_counts"),
        ({"reject_categories": []}, "reject_categories"),
        ({"results": {"A": "x"}}, "results"),
        ({"number_format": "{year}-{nope}"}, "number_format"),
        ({"draft_reminder_days": 9}, "draft_reminder_days"),
    ],
)
def test_a_bad_settings_file_is_one_clear_error(change, where):
    import json

    from bot.config import knowledge_dir

    data = json.loads((knowledge_dir() / "proposals.json").read_text(encoding="utf-8"))
    with pytest.raises(ProposalConfigError, match=where):
        ProposalConfig.from_dict({**data, **change})


def test_the_command_line_exports_and_counts(world, tmp_path, monkeypatch, capsys):
    from bot.cli.main import main

    pid = write(world, cosigners=None)
    world.press(ZHANG, f"pp:sb:{pid}")
    world.press(SECRETARY, f"pp:la:{pid}")
    monkeypatch.setenv("CPPCC_DB", str(tmp_path / "cppcc.db"))
    number = world.storage.proposal(pid).number
    assert main(["proposals", "export", "--year", number[:4], "--format", "csv", "-o", str(tmp_path / "p.csv")]) == 0
    text = (tmp_path / "p.csv").read_text(encoding="utf-8-sig")
    assert f"{number},关于加强农村供水保障的建议,张三" in text and "已立案，待交办" in text
    assert main(["proposals", "export", "--year", number[:4], "-o", str(tmp_path / "p.xlsx")]) == 0
    assert (tmp_path / "p.xlsx").read_bytes()[:2] == b"PK"
    assert main(["proposals", "stats", "--year", number[:4]]) == 0
    assert "提交提案 1 件，立案 1 件（立案率 100%）" in capsys.readouterr().out
    assert main(["proposals", "list"]) == 0 and "待交办" in capsys.readouterr().out
    assert main(["proposals", "show", str(pid)]) == 0 and "办理过程" in capsys.readouterr().out
    assert main(["proposals", "show", "999"]) == 1 and "没有编号为 999" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse refuses another format
        main(["proposals", "export", "--format", "pdf"])


def test_reply_deadline_reminders_follow_the_proposal_and_link_to_reply(world):
    from bot.calendar.reminders import rules_for
    from bot.calendar.reminders.delivery import preview

    pid = write(world, cosigners=None)
    for user, data in ((ZHANG, "sb"), (SECRETARY, "la"), (SECRETARY, "lu"), (SECRETARY, "hn"), (SECRETARY, "as")):
        world.press(user, f"pp:{data}:{pid}" + (":water_bureau" if data == "lu" else ""))
    due = world.storage.proposal(pid).reply_due  # 2027-06-01
    messages, _ = preview(
        world.storage,
        rules_for(world.storage),
        START.date(),
        START.date() + timedelta(days=120),
        admin_ids=frozenset({SECRETARY}),
    )
    to_unit = [m for m in messages if m.telegram_id == WATER and "答复期限还有" in m.text]
    assert {b.data for row in to_unit[0].buttons for b in row} == {f"pp:ra:{pid}", f"pp:vw:{pid}"}
    assert due in to_unit[0].text  # T-14, T-3 and T-1 (knowledge/reminders.json)
    assert sorted(int(m.text.split("还有 ")[1].split(" 天")[0]) for m in to_unit) == [1, 3, 14]
    overdue = [m for m in messages if m.telegram_id == SECRETARY and "已超期" in m.text]
    assert overdue and {b.data for row in overdue[0].buttons for b in row} == {f"pp:vw:{pid}"}
    # overdue: the day after the due date, then weekly, to the secretaries and the unit's contacts
    late = sorted(int(m.text.split("已超期 ")[1].split(" 天")[0]) for m in overdue)
    assert late[:3] == [1, 8, 15]
    to_unit_late = [m for m in messages if m.telegram_id == WATER and "已超期" in m.text]
    assert len(to_unit_late) == len(overdue) and {b.data for row in to_unit_late[0].buttons for b in row} == {
        f"pp:ra:{pid}",
        f"pp:vw:{pid}",
    }
    # replied: no more reminders for it
    for data in ("ra",):
        world.press(WATER, f"pp:{data}:{pid}")
    world.say(WATER, "已办理。")
    world.press(WATER, f"pp:rd:{pid}")
    world.press(WATER, f"pp:rr:{pid}:A")
    world.press(WATER, f"pp:rq:{pid}")
    messages, _ = preview(
        world.storage,
        rules_for(world.storage),
        START.date(),
        START.date() + timedelta(days=120),
        admin_ids=frozenset({SECRETARY}),
    )
    assert not [m for m in messages if "答复期限还有" in m.text or "已超期" in m.text]


def test_a_unit_asks_to_return_and_the_secretary_reassigns(world):
    pid = write(world, cosigners=None)
    for user, data in ((ZHANG, "sb"), (SECRETARY, "la"), (SECRETARY, "lu:health_bureau"), (SECRETARY, "hn")):
        verb, _, arg = data.partition(":")
        world.press(user, f"pp:{verb}:{pid}" + (f":{arg}" if arg else ""))
    world.press(SECRETARY, f"pp:as:{pid}")
    assert "答复" in str(world.press(HEALTH, f"pp:vw:{pid}").buttons)  # the unit acts from the detail view
    world.press(HEALTH, f"pp:ub:{pid}")
    assert "已提交退回申请" in world.say(HEALTH, "不属于本单位职责，应由水务局办理").text
    assert "申请退回" in world.outbox(SECRETARY)[-1] and "pp:re" in world.last_buttons(SECRETARY)[0]
    assert world.storage.proposal(pid).status == "accepted"
    assert world.press(HEALTH, f"pp:ra:{pid}").refusal  # no longer open for the unit
    detail = world.press(SECRETARY, f"pp:vw:{pid}")
    assert next(b.text for row in detail.buttons for b in row) == "选择承办单位并交办"
    world.press(SECRETARY, f"pp:re:{pid}")
    world.say(SECRETARY, "水务局")
    world.press(SECRETARY, f"pp:hn:{pid}")
    world.press(SECRETARY, f"pp:as:{pid}")
    p = world.storage.proposal(pid)
    assert p.status == "assigned" and [u.unit_id for u in world.storage.proposal_units(pid)] == ["water_bureau"]
    assert "【提案交办】" in world.outbox(WATER)[-1]
    assert "申请退回：不属于本单位职责" in world.press(ZHANG, f"pp:vw:{pid}").text


def test_a_collective_unit_is_made_specific_before_assigning(world):
    """各乡镇 is a group label: it cannot be 主办 or 协办 (who would sign and reply?); the
    secretary gets its townships as buttons, and a township picked is told like any unit."""
    import_unit_contacts(world.storage, CLI_CALLER, (CONTACTS + "立岗镇人民政府,郑一,13700007777\n").encode())
    township = 205
    bind_by_contact(world.storage, township, township, "8613700007777")
    pid = write(world, cosigners=None)
    world.press(ZHANG, f"pp:sb:{pid}")
    world.press(SECRETARY, f"pp:la:{pid}")
    lead = world.say(SECRETARY, "各乡镇")
    assert "“各乡镇”是统称" in lead.text and world.storage.proposal_units(pid) == []
    choices = [b.data for row in lead.buttons for b in row]
    assert f"pp:lu:{pid}:town_ligang" in choices and f"pp:lu:{pid}:towns" not in choices
    assert world.press(SECRETARY, f"pp:lu:{pid}:towns").refusal  # a forged button
    world.say(SECRETARY, "水务局")
    helpers = world.say(SECRETARY, "卫健局、各乡镇人民政府")
    assert "统称" in helpers.text and f"pp:hu:{pid}:town_ligang" in [b.data for row in helpers.buttons for b in row]
    assert [u.unit_id for u in world.storage.proposal_units(pid)] == ["water_bureau", "health_bureau"]
    assert world.press(SECRETARY, f"pp:hu:{pid}:towns").refusal
    assert "立岗镇人民政府" in world.say(SECRETARY, "立岗镇").text  # a township as people write it
    world.press(SECRETARY, f"pp:hn:{pid}")
    world.press(SECRETARY, f"pp:as:{pid}")
    assert "协办单位" in world.outbox(township)[-1] and "【提案交办】" in world.outbox(township)[-1]


def test_co_signers_see_the_proposal_until_it_is_accepted(world):
    """Only the proposer and co-signers before 立案, the proposer and the units after: a
    co-signer's /myproposals then shows the state only, without a 查看 button."""
    from bot.proposals.views import mine

    pid = write(world, cosigners="李四")
    world.press(ZHANG, f"pp:sb:{pid}")
    world.press(LI, f"pp:ya:{pid}")
    before = mine(world.desk(), world.who(LI))
    assert "提交" in before.text and f"pp:vw:{pid}" in [b.data for row in before.buttons for b in row]
    assert not world.press(LI, f"pp:vw:{pid}").refusal
    assert world.press(ZHAO, f"pp:vw:{pid}").refusal  # another member never
    world.press(SECRETARY, f"pp:la:{pid}")
    after = mine(world.desk(), world.who(LI))
    assert "（联名）：已立案" in after.text and "立案后的办理情况由提案人查看" in after.text
    assert "编号" not in after.text and after.buttons == []
    assert world.press(LI, f"pp:vw:{pid}").refusal
    assert f"pp:vw:{pid}" in [b.data for row in mine(world.desk(), world.who(ZHANG)).buttons for b in row]


def test_co_signer_names_with_a_title_or_full_width_spaces(world):
    pid = write(world, cosigners=None)
    world.press(ZHANG, f"pp:ec:{pid}")
    listed = world.say(ZHANG, "李四委员\u3000王五同志")
    assert "李四（待邀请）、王五（待邀请）" in listed.text and "名册中没有" not in listed.text


def test_names_shared_by_two_members_get_buttons(world):
    import_members(world.storage, CLI_CALLER, (MEMBERS + "李四,13700005555,工商联界,,,,\n").encode())
    from bot.proposals.drafts import start

    pid = int(start(world.desk(), world.who(ZHANG), "proposal").buttons[0][0].data.split(":")[2])
    world.say(ZHANG, "标题")
    world.say(ZHANG, "正文")
    world.press(ZHANG, f"pp:bd:{pid}")
    reply = world.say(ZHANG, "李四")
    assert "有 2 位“李四”" in reply.text
    choices = [b for row in reply.buttons for b in row if b.data.startswith(f"pp:ac:{pid}:")]
    assert [b.text for b in choices] == ["李四（农业界）", "李四（工商联界）"]
    world.press(ZHANG, choices[1].data)
    assert [c.name for c in world.storage.cosigners(pid)] == ["李四"]
    assert world.storage.cosigners(pid)[0].member_id != world.who(LI).member_id


def test_the_old_lifecycle_commands_leave_assistant_proposals_alone(world):
    from bot.people.records import RecordError, accept_proposal

    pid = write(world, cosigners=None)
    world.press(ZHANG, f"pp:sb:{pid}")
    (record,) = world.storage.records_from(f"proposal:{pid}")
    with pytest.raises(RecordError, match="通过助手办理"):
        accept_proposal(world.storage, CLI_CALLER, record.id)


def test_message_templates_are_data_and_checked_at_load():
    import json

    from bot.config import knowledge_dir

    data = json.loads((knowledge_dir() / "proposals.json").read_text(encoding="utf-8"))
    assert ProposalConfig.from_dict(data).text("converted", title="T") == "您的提案《T》经审查转为社情民意信息办理。"
    broken = {**data, "templates": {**data["templates"], "accepted": "编号 {numbr}"}}
    with pytest.raises(
        ProposalConfigError, match=r"templates\.accepted: 占位符 'numbr' 无效，可用：\{title\}、\{number\}"
    ):
        ProposalConfig.from_dict(broken)
    missing = {**data, "templates": {k: v for k, v in data["templates"].items() if k != "rejected"}}
    with pytest.raises(ProposalConfigError, match="缺少 rejected"):
        ProposalConfig.from_dict(missing)


def test_a_step_that_cannot_go_on_stops_taking_messages(world):
    pid = write(world, cosigners=None)
    for user, data in ((ZHANG, "sb"), (SECRETARY, "la"), (SECRETARY, "lu:water_bureau"), (SECRETARY, "as")):
        verb, _, arg = data.partition(":")
        world.press(user, f"pp:{verb}:{pid}" + (f":{arg}" if arg else ""))
    world.press(WATER, f"pp:ra:{pid}")
    world.say(WATER, "已办理。")
    world.press(WATER, f"pp:rd:{pid}")
    world.press(WATER, f"pp:rr:{pid}:A")
    world.press(WATER, f"pp:rq:{pid}")
    assert "原因" in world.press(ZHANG, f"pp:rv:{pid}:1:3").text  # 不满意 asks for a comment …
    assert "已办结" in world.press(ZHANG, f"pp:rv:{pid}:1:1").text  # … but 满意 is pressed instead
    assert world.say(ZHANG, "我的提案办得怎么样了").refusal
    assert world.say(ZHANG, "我的提案办得怎么样了") is None  # no longer taken as a comment
    assert world.storage.proposal(pid).status == "closed"
    # the on-time rate uses the due date of the last 交办
    assert statistics(world.desk(), 2027).on_time == 1


def test_working_days_skip_weekends():
    from datetime import date

    from bot.proposals.sweep import working_days_between

    assert working_days_between(date(2027, 3, 5), date(2027, 3, 8)) == 1  # Friday → Monday
    assert working_days_between(date(2027, 3, 1), date(2027, 3, 8)) == 5


def test_review_lists_messages_that_could_not_be_delivered(world):
    pid = write(world, cosigners=None)
    for user, data in ((ZHANG, "sb"), (SECRETARY, "la"), (SECRETARY, "lu:water_bureau"), (SECRETARY, "as")):
        verb, _, arg = data.partition(":")
        world.press(user, f"pp:{verb}:{pid}" + (f":{arg}" if arg else ""))
    (row,) = [r for r in world.storage.outbox_rows("proposal") if r.chat_id == WATER2]
    world.storage.outbox_claim(row.id)
    world.storage.outbox_finish(row.id, "unreachable", world.desk().at, attempts=1, error="Forbidden")
    from bot.proposals.views import review_list

    listed = review_list(world.desk(), world.who(SECRETARY)).text
    assert "未能送达的提案消息 1 条" in listed and "水务局周九" in listed
