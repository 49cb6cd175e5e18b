"""End to end: secretaries' administration in chat (handlers/office.py): /codes, /admins, adding a
secretary from a shared contact or a forwarded message, removing one, the menu set at once."""

from __future__ import annotations

import io

import openpyxl

from bot.people.roles import CLI_CALLER
from bot.people.roster import import_members
from bot.storage import Storage
from handlers.app import build_application
from tests.conftest import ADMIN_ID, make_settings, running

MEMBER = 5101  # 张三, 13812345678
NEWCOMER = 7301


def _seed(db) -> None:
    with Storage(db) as storage:
        import_members(
            storage, CLI_CALLER, "姓名,手机号,界别\n张三,13812345678,经济界\n李四,13900001111,农业界\n".encode()
        )


async def _say(tg, user: int, text: str):
    mark = tg.mark()
    tg.inject_message(user, text)
    await tg.wait_for(lambda: tg.sent_messages(user, since=mark))
    return tg.sent_messages(user, since=mark)[-1]


async def test_codes_as_a_list_or_a_table(tg, tmp_path):
    db = tmp_path / "cppcc.db"
    _seed(db)
    app = build_application(make_settings(tg, db))
    async with running(app):
        listed = await _say(tg, ADMIN_ID, "/codes")
        assert "共 2 个绑定码" in listed.plain_text and "政协委员 张三（经济界）：" in listed.plain_text
        mark = tg.mark()
        tg.inject_message(ADMIN_ID, "/codes xlsx")
        (sent,) = await tg.wait_for_requests("sendDocument", since=mark)
        book = openpyxl.load_workbook(io.BytesIO(next(iter(sent.files.values())).content))
        rows = list(book.active.iter_rows(values_only=True))
        assert rows[0][:2] == ("身份", "姓名") and {r[1] for r in rows[1:]} == {"张三", "李四"}
        assert "+86 138****5678" in {r[3] for r in rows[1:]}  # numbers masked
        refused = await _say(tg, MEMBER, "/codes")
        assert "只有政协办秘书" in refused.plain_text


async def test_a_secretary_is_added_from_a_forwarded_message_and_removed(tg, tmp_path):
    app = build_application(make_settings(tg, tmp_path / "cppcc.db"))
    async with running(app):
        mark = tg.mark()
        sender = {"id": NEWCOMER, "is_bot": False, "first_name": "王秘书"}
        origin = {"type": "user", "date": 1, "sender_user": sender}
        tg._inject_message(ADMIN_ID, {"text": "你好", "forward_origin": origin}, chat_id=None)
        await tg.wait_for(lambda: tg.sent_messages(ADMIN_ID, since=mark))
        offer = tg.sent_messages(ADMIN_ID, since=mark)[-1]
        assert "要把 王秘书（Telegram 用户 id 7301）添加为政协办秘书吗" in offer.plain_text
        mark = tg.mark()
        tg.inject_callback(ADMIN_ID, offer.callback_data("添加为秘书"), offer)
        await tg.wait_for(lambda: tg.sent_messages(ADMIN_ID, since=mark))
        assert "已添加秘书 7301" in tg.sent_messages(ADMIN_ID, since=mark)[-1].plain_text
        (menu,) = tg.requests("setMyCommands", since=mark)
        assert '"chat_id": 7301' in str(menu.params.get("scope")).replace("'", '"')
        assert "codes" in {c["command"] for c in menu.params["commands"]}
        assert "【政协办秘书】" in (await _say(tg, NEWCOMER, "/help")).plain_text

        listing = await _say(tg, ADMIN_ID, "/admins")
        assert "7301" in listing.plain_text and "CPPCC_ADMIN_IDS" in listing.plain_text
        mark = tg.mark()
        tg.inject_callback(ADMIN_ID, listing.callback_data("移除 7301"), listing)
        await tg.wait_for(lambda: tg.sent_messages(ADMIN_ID, since=mark))
        assert "已移除秘书 7301" in tg.sent_messages(ADMIN_ID, since=mark)[-1].plain_text
        assert tg.requests("deleteMyCommands", since=mark)
        again = await _say(tg, ADMIN_ID, "/admins")
        assert "7301" not in again.plain_text

        mark = tg.mark()
        hidden = {"type": "hidden_user", "date": 1, "sender_user_name": "某人"}
        tg._inject_message(ADMIN_ID, {"text": "你好", "forward_origin": hidden}, chat_id=None)
        await tg.wait_for(lambda: tg.sent_messages(ADMIN_ID, since=mark))
        assert "隐私设置隐藏了账号" in tg.sent_messages(ADMIN_ID, since=mark)[-1].plain_text
        mark = tg.mark()
        tg._inject_message(MEMBER, {"text": "你好", "forward_origin": origin}, chat_id=None)
        await tg.wait_for(lambda: tg.sent_messages(MEMBER, since=mark))
        assert "秘书" not in tg.sent_messages(MEMBER, since=mark)[-1].plain_text  # a member's forward is a question


async def test_a_shared_contact_offers_to_add_and_ones_own_card_still_binds(tg, tmp_path):
    db = tmp_path / "cppcc.db"
    _seed(db)
    app = build_application(make_settings(tg, db))
    async with running(app):
        mark = tg.mark()
        tg.inject_contact(ADMIN_ID, "8613900009999", NEWCOMER, "赵秘书", own=False)
        await tg.wait_for(lambda: tg.sent_messages(ADMIN_ID, since=mark))
        assert "要把 赵秘书（Telegram 用户 id 7301）添加为政协办秘书吗" in tg.sent_messages(ADMIN_ID)[-1].plain_text
        mark = tg.mark()
        tg.inject_contact(ADMIN_ID, "8613900009999", None, "无账号", own=False)
        await tg.wait_for(lambda: tg.sent_messages(ADMIN_ID, since=mark))
        assert "没有 Telegram 账号" in tg.sent_messages(ADMIN_ID)[-1].plain_text
        # a member's own card binds as before; a member's forwarded message is not an admin matter
        tg.inject_contact(MEMBER, "8613812345678")
        bound = await tg.wait_for_reply(MEMBER)
        assert "身份已验证" in bound.plain_text
        # a secretary who is also a member verifies with their own card
        mark = tg.mark()
        tg.inject_contact(ADMIN_ID, "8613900001111")
        await tg.wait_for(lambda: tg.sent_messages(ADMIN_ID, since=mark))
        bound = tg.sent_messages(ADMIN_ID, since=mark)[-1]
        assert "身份已验证" in bound.plain_text


async def test_exports_are_sent_as_documents_into_the_private_chat(tg, tmp_path):
    from bot import notices
    from bot.people.roles import resolve_caller

    db = tmp_path / "cppcc.db"
    _seed(db)
    with Storage(db) as storage:
        secretary = resolve_caller(storage, ADMIN_ID, frozenset({ADMIN_ID}))
        now = storage.now()
        storage.bind(MEMBER, "member", storage.members_named("张三")[0].id, "code", now)
        sent = notices.compose(storage, secretary, "全体委员", "明天开会", now=now, admin_ids=frozenset({ADMIN_ID}))
        notices.confirm(storage, secretary, sent.notice.id, now=now)
    app = build_application(make_settings(tg, db))
    async with running(app):
        for command, filename in (("/progress 2026 csv", "progress-2026.csv"), ("/ledger export", ".xlsx")):
            mark = tg.mark()
            tg.inject_message(ADMIN_ID, command)
            (document,) = await tg.wait_for_requests("sendDocument", since=mark)
            assert document.chat_id == ADMIN_ID and filename in next(iter(document.files.values())).filename
        mark = tg.mark()
        tg.inject_message(ADMIN_ID, f"/start notice-{sent.notice.id}")
        report = await tg.wait_for(
            lambda: next((m for m in tg.sent_messages(ADMIN_ID, since=mark) if "导出" in m.button_texts), None)
        )
        mark = tg.mark()
        tg.inject_callback(ADMIN_ID, report.callback_data("导出"), report)
        (document,) = await tg.wait_for_requests("sendDocument", since=mark)
        content = next(iter(document.files.values())).content.decode("utf-8-sig")
        assert content.startswith("通知编号,姓名") and "张三" in content


async def test_a_notice_typed_with_a_colon_and_a_guessed_send_time_is_confirmed_first(tg, tmp_path):
    db = tmp_path / "cppcc.db"
    _seed(db)
    with Storage(db) as storage:
        storage.bind(MEMBER, "member", storage.members_named("张三")[0].id, "code", storage.now())
    app = build_application(make_settings(tg, db))
    async with running(app):
        preview = await _say(tg, ADMIN_ID, "/notice 全体委员：后天开会")
        assert "后天开会" in preview.plain_text and "全体委员" in preview.plain_text
        mark = tg.mark()
        tg.inject_callback(ADMIN_ID, preview.callback_data("定时发送"), preview)
        await tg.wait_for(lambda: tg.sent_messages(ADMIN_ID, since=mark))
        asked = await _say(tg, ADMIN_ID, "后天3点")
        assert "“3点”按下午3:00理解" in asked.plain_text and "15:00 发送，对吗" in asked.plain_text
        mark = tg.mark()
        tg.inject_callback(ADMIN_ID, asked.callback_data("确认定时"), asked)
        await tg.wait_for(lambda: tg.sent_messages(ADMIN_ID, since=mark))
        assert "15:00" in tg.sent_messages(ADMIN_ID, since=mark)[-1].plain_text
        with Storage(db) as storage:
            (notice,) = [storage.notice(1)]
            assert notice.status == "scheduled" and notice.send_at.endswith("15:00:00+08:00")


async def test_secretaries_added_or_removed_with_the_cli_while_the_bot_runs_get_their_menu(tg, tmp_path):
    """`cppcc-bot admins add/remove` in another process: the running bot's periodic check sets the
    secretaries' menu (retrying when Telegram refuses, e.g. no private chat yet) and takes it away."""
    import os
    import subprocess
    import sys

    db = tmp_path / "cppcc.db"
    env = {**os.environ, "CPPCC_DB": str(db)}

    def cli(*args: str) -> str:
        run = subprocess.run([sys.executable, "-m", "bot.cli", *args], env=env, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        return run.stdout

    def scoped(method: str, since: int) -> list:
        return [r for r in tg.requests(method, since=since) if f"'chat_id': {NEWCOMER}" in str(r.params.get("scope"))]

    app = build_application(make_settings(tg, db, menu_sync=0.2))
    async with running(app):
        assert any("codes" in str(r.params) for r in tg.requests("setMyCommands"))  # the env secretary's
        mark = tg.mark()
        tg.fail_next("setMyCommands", 400, description="Bad Request: chat not found")  # not yet started
        assert "已添加秘书 7301" in cli("admins", "add", str(NEWCOMER))
        await tg.wait_for(lambda: len(scoped("setMyCommands", mark)) >= 2)  # refused once, then set
        assert [r.status for r in scoped("setMyCommands", mark)][:2] == [400, 200]
        await tg.expect_no_messages(None, 0.6, since=mark)  # set once: no further calls
        assert len(scoped("setMyCommands", mark)) == 2
        mark = tg.mark()
        assert "已移除秘书 7301" in cli("admins", "remove", str(NEWCOMER))
        await tg.wait_for(lambda: scoped("deleteMyCommands", mark))
