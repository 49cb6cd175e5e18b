"""End to end: roster → binding → /mine → /record → /mine, permissions, restart (fake Bot API server)."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import timedelta

from bot.calendar.events import add_event
from bot.people.identity import issue_codes
from bot.people.roles import CLI_CALLER
from bot.storage import Storage
from handlers.app import build_application
from tests.conftest import ADMIN_ID, make_settings, running
from tests.people_support import MEMBERS_CSV, UNITS_CSV

ZHANG = 5101  # Telegram id of member 张三 (13812345678; Telegram sends 8613812345678)
LI = 5102  # member 李四 (13900001111)
STRANGER = 5199
GROUP = -100555


def _import_roster(db_path, tmp_path, members_csv: str = MEMBERS_CSV) -> None:
    """Through the real command line, as the office would."""
    members, units = tmp_path / "members.csv", tmp_path / "units.csv"
    members.write_text(members_csv, encoding="utf-8-sig")
    units.write_text(UNITS_CSV, encoding="utf-8")
    for kind, path in (("members", members), ("units", units)):
        result = subprocess.run(
            [sys.executable, "-m", "bot.cli", kind, "import", str(path), "--yes", "--full"],
            env={"CPPCC_DB": str(db_path), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr


async def _ask(tg, user: int, text: str):
    tg.inject_message(user, text)
    return await tg.wait_for_reply(user)


async def _share_contact(tg, user: int, phone: str, owner: int | None = None):
    tg.inject_contact(user, phone, owner if owner is not None else user, own=owner is None or owner == user)
    return await tg.wait_for_reply(user)


async def test_bind_by_contact_then_record_and_progress(tg, tmp_path):
    db = tmp_path / "cppcc.db"
    _import_roster(db, tmp_path)
    app = build_application(make_settings(tg, db))
    async with running(app):
        tg.inject_message(ZHANG, "/start")
        await tg.wait_for_messages(ZHANG, 2)
        prompt = tg.sent_messages(ZHANG)[-1]
        keyboard = prompt.reply_markup["keyboard"][0][0]
        assert keyboard["request_contact"] is True and "验证身份" in keyboard["text"]

        bound = await _share_contact(tg, ZHANG, "+86 138 1234 5678")
        assert "身份已验证：张三（政协委员，经济界，提案委" in bound.plain_text
        assert bound.reply_markup == {"remove_keyboard": True}

        mine = await _ask(tg, ZHANG, "/mine")
        assert "提案 0/1 ❗" in mine.plain_text and "近期活动" not in mine.plain_text
        services = app.bot_data["services"]
        day = (services.storage.now() + timedelta(days=5)).date().isoformat()
        add_event(services.storage, CLI_CALLER, kind="提案截止", title="年度提案截止", date=day, audience="全体委员")
        assert f"近期活动：{day}" in (await _ask(tg, ZHANG, "/mine")).plain_text

        saved = await _ask(tg, ZHANG, "/record 提案 关于加强农村饮水安全的建议")
        assert "已登记：提案《关于加强农村饮水安全的建议》" in saved.plain_text
        mine = await _ask(tg, ZHANG, "/mine")
        assert "提案 1/1 ✅" in mine.plain_text and "社情民意 0/1 ❗" in mine.plain_text

        duties = await _ask(tg, ZHANG, "我今年要提交什么")
        assert "社情民意 0/1 ❗" in duties.plain_text and "（33）" in duties.plain_text

    # A restart keeps the binding and the record.
    app = build_application(make_settings(tg, db))
    async with running(app):
        assert "张三" in (await _ask(tg, ZHANG, "/whoami")).plain_text
        assert "提案 1/1 ✅" in (await _ask(tg, ZHANG, "/mine")).plain_text


async def test_guided_record_flow_with_buttons(tg, tmp_path):
    db = tmp_path / "cppcc.db"
    _import_roster(db, tmp_path)
    app = build_application(make_settings(tg, db))
    async with running(app):
        await _share_contact(tg, ZHANG, "8613812345678")
        pick = await _ask(tg, ZHANG, "/record")
        mark = tg.mark()
        tg.inject_callback(ZHANG, pick.callback_data("社情民意信息"), pick)
        ask_title = (await tg.wait_for_messages(ZHANG, 1, since=mark))[0]
        assert "标题" in ask_title.plain_text
        when = await _ask(tg, ZHANG, "农村道路亮化问题'); DROP TABLE records;--")
        mark = tg.mark()
        tg.inject_callback(ZHANG, when.callback_data("今天"), when)
        confirm = (await tg.wait_for_messages(ZHANG, 1, since=mark))[0]
        assert "请确认登记" in confirm.plain_text
        mark = tg.mark()
        tg.inject_callback(ZHANG, confirm.callback_data("确认登记"), confirm)
        saved = (await tg.wait_for_messages(ZHANG, 1, since=mark))[0]
        assert "已登记：社情民意《农村道路亮化问题'); DROP TABLE records;--》" in saved.plain_text
        assert "社情民意 1/1 ✅" in (await _ask(tg, ZHANG, "/mine")).plain_text


async def test_spoofed_contact_and_unknown_phone_are_refused(tg, tmp_path):
    db = tmp_path / "cppcc.db"
    _import_roster(db, tmp_path)
    app = build_application(make_settings(tg, db))
    async with running(app):
        spoofed = await _share_contact(tg, STRANGER, "8613812345678", owner=ZHANG)
        assert "只能验证您本人的手机号" in spoofed.plain_text
        unknown = await _share_contact(tg, STRANGER, "8613011112222")
        assert "名册中没有找到 +86 130****2222" in unknown.plain_text
        tg.inject_contact(STRANGER, "8613812345678", own=False)  # a phone-book card: no user_id
        assert "没有关联 Telegram 账号" in (await tg.wait_for_reply(STRANGER)).plain_text
        assert "还没有验证身份" in (await _ask(tg, STRANGER, "/whoami")).plain_text
        rule = await _ask(tg, STRANGER, "/mine")
        assert "每位委员每年至少" in rule.plain_text and "验证身份" in rule.plain_text


async def test_bind_by_code_once(tg, tmp_path):
    db = tmp_path / "cppcc.db"
    _import_roster(db, tmp_path)
    with Storage(db) as storage:
        codes = {issued.identity.name: issued.code for issued in issue_codes(storage, CLI_CALLER)}
    app = build_application(make_settings(tg, db))
    async with running(app):
        bound = await _ask(tg, LI, f"/bind {codes['李四'].lower()}")
        assert "身份已验证：李四" in bound.plain_text
        again = await _ask(tg, STRANGER, f"/bind {codes['李四']}")
        assert "身份已验证" not in again.plain_text
        contact = await _ask(tg, 5150, f"/bind {codes['赵六']}")
        assert "单位联络员" in contact.plain_text and "/mytasks" in contact.plain_text


async def test_members_cannot_use_secretary_commands_or_see_others(tg, tmp_path):
    db = tmp_path / "cppcc.db"
    _import_roster(db, tmp_path)
    app = build_application(make_settings(tg, db))
    async with running(app):
        await _share_contact(tg, ZHANG, "8613812345678")
        await _share_contact(tg, LI, "8613900001111")
        await _ask(tg, LI, "/record 社情民意 李四的社情民意")
        progress = await _ask(tg, ZHANG, "/progress")
        assert "只有政协办秘书" in progress.plain_text
        unbind_other = await _ask(tg, ZHANG, f"/unbind {LI}")
        assert "只有政协办秘书" in unbind_other.plain_text
        mine = await _ask(tg, ZHANG, "/mine")
        assert "李四" not in mine.plain_text and "社情民意 0/1" in mine.plain_text

        table = await _ask(tg, ADMIN_ID, "/progress")
        assert "张三" in table.plain_text and "李四" in table.plain_text
        tg.inject_message(ADMIN_ID, "/progress csv")
        document = (await tg.wait_for_requests("sendDocument", 1))[0]
        assert document.files and "progress-" in next(iter(document.files.values())).filename
        assert "已解除绑定：李四" in (await _ask(tg, ADMIN_ID, f"/unbind {LI}")).plain_text
        assert "还没有验证身份" in (await _ask(tg, LI, "/whoami")).plain_text

    with Storage(db) as storage:
        refusals = storage.audit_entries("denied")
    assert {entry.detail["action"] for entry in refusals} >= {"view_all_progress", "unbind_other"}


async def test_personal_data_stays_out_of_groups(tg, tmp_path):
    db = tmp_path / "cppcc.db"
    _import_roster(db, tmp_path)
    app = build_application(make_settings(tg, db))
    async with running(app):
        await _share_contact(tg, ZHANG, "8613812345678")
        tg.inject_message(ZHANG, "/mine@cppcc_helper_bot", chat_id=GROUP, chat_type="supergroup")
        reply = await tg.wait_for_reply(GROUP)
        assert "私聊" in reply.plain_text and not re.search(r"\d/1", reply.plain_text)
        tg.inject_message(ZHANG, "/record@cppcc_helper_bot 提案 标题", chat_id=GROUP, chat_type="supergroup")
        assert "私聊" in (await tg.wait_for_reply(GROUP)).plain_text


ROSTER_0002 = "姓名,手机号,界别\n孙九,138 0951 0002,经济界\n周十,139-0000-1111,农业界\n"
NANP, FIRST, SECOND = 5301, 5302, 5303


async def test_phone_identity_country_codes_and_takeover(tg, tmp_path):
    """+1 380 951 0002 is not the member 13809510002; a second account is refused and the
    secretaries are told; after a secretary's /unbind the new account binds."""
    db = tmp_path / "cppcc.db"
    _import_roster(db, tmp_path, ROSTER_0002)
    app = build_application(make_settings(tg, db))
    async with running(app):
        for shared in ("13809510002", "1 380 951 0002"):  # North America, as Telegram sends it
            refused = await _share_contact(tg, NANP, shared)
            assert "名册中没有找到 +1 38****0002" in refused.plain_text and "孙九" not in refused.plain_text
        assert "还没有验证身份" in (await _ask(tg, NANP, "/whoami")).plain_text

        for shared in ("8613809510002", "+8613809510002", "+86 138 0951 0002"):
            bound = await _share_contact(tg, FIRST, shared)
            assert "身份已验证：孙九（政协委员，经济界，+86 138****0002）" in bound.plain_text

        mark = tg.mark()
        taken = await _share_contact(tg, SECOND, "8613809510002")
        assert "已绑定另一个 Telegram 账号" in taken.plain_text and "政协办" in taken.plain_text
        assert "还没有验证身份" in (await _ask(tg, SECOND, "/whoami")).plain_text
        assert "孙九" in (await _ask(tg, FIRST, "/whoami")).plain_text
        (alert,) = await tg.wait_for_messages(ADMIN_ID, 1, since=mark)
        assert f"账号 {SECOND}" in alert.plain_text and f"/unbind {FIRST}" in alert.plain_text
        assert "孙九" in alert.plain_text and "13809510002" not in alert.plain_text

        moved = await _ask(tg, ADMIN_ID, f"/unbind {FIRST}")
        assert "已解除绑定：孙九" in moved.plain_text
        bound = await _share_contact(tg, SECOND, "+8613809510002")
        assert "身份已验证：孙九" in bound.plain_text
        assert "孙九" in (await _ask(tg, SECOND, "/whoami")).plain_text
        assert "还没有验证身份" in (await _ask(tg, FIRST, "/whoami")).plain_text

    with Storage(db) as storage:
        actions = [(e.action, e.actor) for e in storage.audit_entries() if "bind" in e.action]
    assert actions == [
        *[("bind", str(FIRST))] * 3,
        ("bind_refused_taken", str(SECOND)),
        ("unbind", str(ADMIN_ID)),
        ("bind", str(SECOND)),
    ]
