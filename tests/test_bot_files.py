"""End to end: a secretary sends roster files to the bot (handlers/files.py) through the fake Bot API."""

from __future__ import annotations

import pytest
from office_files import renamed_zip, roster_rows, xlsx, zip_bomb

from bot.storage import Storage
from handlers.app import build_application
from tests.conftest import ADMIN_ID, make_settings, running

MEMBER = 5101
GROUP = -100777


async def _send(tg, user: int, name: str, content: bytes, *, expect: int = 1, **kwargs):
    """Send a file; the last of the ``expect`` replies (a pending preview's cancellation comes first)."""
    mark = tg.mark()
    tg.inject_document(user, name, content, **kwargs)
    return await _reply(tg, kwargs.get("chat_id", user), mark, expect)


async def _reply(tg, chat: int, mark: int, expect: int = 1):
    await tg.wait_for(lambda: len(tg.sent_messages(chat, since=mark)) >= expect)
    return tg.sent_messages(chat, since=mark)[-1]


async def _press(tg, user: int, label: str, message):
    mark = tg.mark()
    tg.inject_callback(user, message.callback_data(label), message)
    return await _reply(tg, user, mark)


def _storage(tmp_path) -> Storage:
    return Storage(tmp_path / "cppcc.db")


async def test_a_secretary_imports_an_xlsx_roster_after_a_dry_run(tg, tmp_path):
    rows = roster_rows(6)
    rows[3][5] = "0951-1234567"  # a landline
    app = build_application(make_settings(tg, tmp_path / "cppcc.db"))
    async with running(app):
        preview = await _send(tg, ADMIN_ID, "委员名册.xlsx", xlsx(rows))
        assert "委员名册预览（部分更新；第2行为表头，5 人可导入）" in preview.plain_text
        assert "第5行：手机号“0951-1234567”无效" in preview.plain_text
        assert preview.button_texts == ["跳过问题行后导入", "取消"]
        assert _storage(tmp_path).people("member") == []  # a dry run changes nothing

        done = await _press(tg, ADMIN_ID, "跳过问题行后导入", preview)
        assert "委员名册已导入：新增 5 人" in done.plain_text
        again = await _press(tg, ADMIN_ID, "跳过问题行后导入", preview)  # a double press
        assert "已失效" in again.plain_text
        storage = _storage(tmp_path)
        assert len(storage.people("member")) == 5
        assert len(storage.audit_entries("import_members")) == 1


async def test_a_partial_list_can_become_a_full_roster_only_explicitly(tg, tmp_path):
    app = build_application(make_settings(tg, tmp_path / "cppcc.db"))
    async with running(app):
        first = await _send(tg, ADMIN_ID, "名册.xlsx", xlsx(roster_rows(8)))
        await _press(tg, ADMIN_ID, "确认导入", first)
        partial = roster_rows(8)[:1] + [row for row in roster_rows(8)[1:] if row[7] == "文史委"]
        preview = await _send(tg, ADMIN_ID, "文史委名单.xlsx", xlsx(partial))  # the first was imported
        assert "这份名单只含专委会：文史委" in preview.plain_text and "部分更新不停用任何人" in preview.plain_text
        full = await _press(tg, ADMIN_ID, "作为完整名册（停用 6 人）", preview)
        assert "完整名册" in full.plain_text and "停用 6 人：委员0001" in full.plain_text
        done = await _press(tg, ADMIN_ID, "确认导入", full)
        assert "停用 6 人" in done.plain_text
        assert len(_storage(tmp_path).people("member", active=True)) == 2


async def test_a_second_file_cancels_the_pending_preview(tg, tmp_path):
    app = build_application(make_settings(tg, tmp_path / "cppcc.db"))
    async with running(app):
        first = await _send(tg, ADMIN_ID, "a.xlsx", xlsx(roster_rows(2)))
        mark = tg.mark()
        tg.inject_document(ADMIN_ID, "b.csv", "单位,姓名,手机号\n教育体育局,赵六,13600003333\n".encode("gbk"))
        await tg.wait_for(lambda: len(tg.sent_messages(ADMIN_ID, since=mark)) >= 2)
        cancelled, second = tg.sent_messages(ADMIN_ID, since=mark)[-2:]
        assert "已取消上一个文件《a.xlsx》的导入预览" in cancelled.plain_text
        assert "单位联络员名单预览" in second.plain_text
        stale = await _press(tg, ADMIN_ID, "确认导入", first)
        assert "已失效" in stale.plain_text
        await _press(tg, ADMIN_ID, "确认导入", second)
        assert [c.name for c in _storage(tmp_path).people("unit_contact")] == ["赵六"]
        assert _storage(tmp_path).people("member") == []


async def test_the_kind_comes_from_the_headers_or_is_asked_with_buttons(tg, tmp_path, monkeypatch):
    from handlers import files

    app = build_application(make_settings(tg, tmp_path / "cppcc.db"))
    async with running(app):
        data = xlsx([["姓名", "手机号", "单位", "专委会"], ["张三", "13812345678", "县委办", "文史委"]])
        assert "委员名册预览" in (await _send(tg, ADMIN_ID, "名单.xlsx", data)).plain_text
        data = xlsx([["姓名", "手机号", "单位"], ["张三", "13812345678", "县委办"]], title=None)
        assert "单位联络员名单预览" in (await _send(tg, ADMIN_ID, "名单.xlsx", data, expect=2)).plain_text

        # A 单位 column of workplaces, not units of the catalogue: a roster or a contacts list?
        workplaces = xlsx([["姓名", "手机号", "单位"], ["张三", "13812345678", "贺兰县第一中学"]], title=None)
        ask = await _send(tg, ADMIN_ID, "名单.xlsx", workplaces, expect=2)
        assert "是哪一种文件" in ask.plain_text and ask.button_texts == ["委员名册", "单位联络员名单", "取消"]
        chosen = await _press(tg, ADMIN_ID, "委员名册", ask)
        assert "委员名册预览" in chosen.plain_text and "新增 1 人：张三" in chosen.plain_text
        await _press(tg, ADMIN_ID, "取消", chosen)

        # Another feature's kind (the hook issue 18 uses) that also fits: the bot asks.
        def preview(svc, who, upload):
            return files.Step(f"方案预览：{upload.filename}", [("启用", "on")], upload.filename)

        def act(svc, who, state, action):
            return files.Step(f"已启用 {state}（{action}）")

        plan = files.FileKind("plan", "实施方案", (".xlsx", ".docx"), lambda upload: True, preview, act)
        monkeypatch.setitem(files.KINDS, "plan", plan)
        ask = await _send(tg, ADMIN_ID, "名单.xlsx", data)
        assert "是哪一种文件" in ask.plain_text and ask.button_texts == ["单位联络员名单", "实施方案", "取消"]
        chosen = await _press(tg, ADMIN_ID, "实施方案", ask)
        assert chosen.plain_text == "方案预览：名单.xlsx" and chosen.button_texts == ["启用", "取消"]
        assert (await _press(tg, ADMIN_ID, "启用", chosen)).plain_text == "已启用 名单.xlsx（on）"


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("名册.xlsx", renamed_zip(), "改了扩展名的压缩包"),
        ("名册.xlsx", zip_bomb(), "解压后过大"),
        ("名册.xlsx", b"%PDF-1.4", "文件内容不是表格"),
        ("说明.pdf", b"%PDF-1.4", "暂不能读取 .pdf 文件"),
        ("名册.xlsx", xlsx([["a", "b"], ["c", "d"]]), "无法识别《名册.xlsx》是哪种文件"),
    ],
    ids=["renamed-zip", "zip-bomb", "pdf-as-xlsx", "pdf", "no-header"],
)
async def test_files_that_cannot_be_imported_get_one_clear_message(tg, tmp_path, name, content, expected):
    app = build_application(make_settings(tg, tmp_path / "cppcc.db"))
    async with running(app):
        reply = await _send(tg, ADMIN_ID, name, content)
        assert expected in reply.plain_text and not reply.button_texts


async def test_refusals_before_anything_is_downloaded(tg, tmp_path):
    app = build_application(make_settings(tg, tmp_path / "cppcc.db"))
    async with running(app):
        big = await _send(tg, ADMIN_ID, "名册.xlsx", b"0" * (25 * 1024 * 1024))
        assert "文件太大（25.0 MB）" in big.plain_text
        stranger = await _send(tg, MEMBER, "名册.xlsx", xlsx(roster_rows(2)))
        assert "只有政协办秘书" in stranger.plain_text
        group = await _send(tg, ADMIN_ID, "名册.xlsx", xlsx(roster_rows(2)), chat_id=GROUP, chat_type="supergroup")
        assert "私聊" in group.plain_text
        assert not tg.requests("getFile")
        assert _storage(tmp_path).people("member") == []


async def test_cancel_changes_nothing(tg, tmp_path):
    app = build_application(make_settings(tg, tmp_path / "cppcc.db"))
    async with running(app):
        preview = await _send(tg, ADMIN_ID, "名册.csv", "姓名,手机号\n张三,13812345678\n".encode())
        done = await _press(tg, ADMIN_ID, "取消", preview)
        assert "已取消《名册.csv》的导入" in done.plain_text
        assert _storage(tmp_path).people("member") == []


async def test_records_and_events_files_are_previewed_then_imported(tg, tmp_path):
    from datetime import date

    from bot.people.roles import CLI_CALLER
    from bot.people.roster import import_members

    storage = _storage(tmp_path)
    import_members(storage, CLI_CALLER, "姓名,手机号\n张三,13812345678\n李四,13900001111\n".encode())
    storage.close()
    records = xlsx(
        [
            ["序号", "委员姓名", "类型", "提案题目", "提交日期"],
            [1, "张三", "提案", "关于修路的提案", date(2026, 3, 5)],
            [2, "王二", "提案", "关于路灯的提案", date(2026, 3, 6)],
        ],
        title="2026年提案登记表",
    )
    year = date.today().year + 1
    events = f"类型,名称,日期,时间,地点,对象\n全体会议,全会,{year}-03-05,09:00,会议中心,全体委员\n".encode("gbk")
    app = build_application(make_settings(tg, tmp_path / "cppcc.db"))
    async with running(app):
        preview = await _send(tg, ADMIN_ID, "提案登记.xlsx", records)
        assert "履职记录预览：可导入 1 条" in preview.plain_text
        assert "第4行：名册中没有名为“王二”的委员" in preview.plain_text
        done = await _press(tg, ADMIN_ID, "跳过问题行后导入", preview)
        assert "履职记录已导入：新增 1 条" in done.plain_text

        preview = await _send(tg, ADMIN_ID, "活动.csv", events)
        assert "活动预览：可导入 1 项" in preview.plain_text and preview.button_texts == ["确认导入", "取消"]
        assert "全体会议《全会》 全体委员" in preview.plain_text  # the audience in words, not its data
        done = await _press(tg, ADMIN_ID, "确认导入", preview)
        assert "活动已导入：新增 1 项活动" in done.plain_text
    storage = _storage(tmp_path)
    assert [r.title for r in storage.records_of(storage.members_named("张三")[0].id)] == ["关于修路的提案"]
    assert storage.audit_entries("import_events")[0].detail["file_sha256"]
