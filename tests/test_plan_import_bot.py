"""End to end: a secretary sends plan files to the bot (fake Bot API), previews, puts one in
force with [启用]; the bot answers from it at once and after a restart; restore brings the old one."""

from __future__ import annotations

import pytest

from bot.answers.engine import default_engine
from bot.cli.main import main
from bot.plan.model import use_plan
from bot.plan.store import PlanStore
from bot.storage import Storage
from handlers.app import build_application
from tests.conftest import ADMIN_ID, make_settings, running
from tests.plan_import_support import FIXTURES, county_knowledge

MEMBER = 5301


@pytest.fixture
def county(tmp_path, monkeypatch):
    monkeypatch.setenv("CPPCC_KNOWLEDGE", str(county_knowledge(tmp_path / "knowledge")))
    monkeypatch.setenv("CPPCC_DB", str(tmp_path / "cppcc.db"))
    monkeypatch.delenv("CPPCC_PLANS", raising=False)
    use_plan(None)
    default_engine.cache_clear()
    yield tmp_path
    use_plan(None)
    default_engine.cache_clear()


async def _send(tg, user: int, name: str, content: bytes):
    mark = tg.mark()
    tg.inject_document(user, name, content)
    await tg.wait_for(lambda: tg.sent_messages(user, since=mark))
    return tg.sent_messages(user, since=mark)[-1]


async def _say(tg, user: int, text: str):
    mark = tg.mark()
    tg.inject_message(user, text)
    await tg.wait_for(lambda: tg.sent_messages(user, since=mark))
    return tg.sent_messages(user, since=mark)[-1]


async def _press(tg, user: int, label: str, message):
    mark = tg.mark()
    tg.inject_callback(user, message.callback_data(label), message)
    await tg.wait_for(lambda: tg.sent_messages(user, since=mark))
    return tg.sent_messages(user, since=mark)[-1]


@pytest.mark.parametrize("name", ["task-table-docx", "yishi-paragraphs", "task-table-xlsx"])
async def test_a_plan_is_previewed_put_in_force_and_kept_across_a_restart(name, county, tg):
    fixture = FIXTURES[name]
    db = county / "cppcc.db"
    app = build_application(make_settings(tg, db))
    async with running(app):
        preview = await _send(tg, ADMIN_ID, fixture.filename, fixture.data())
        assert preview.plain_text.startswith("方案预览：")
        assert f"共 {fixture.tasks} 项任务" in preview.plain_text
        assert preview.button_texts == ["启用", "取消"]
        before = await _say(tg, ADMIN_ID, f"/item {fixture.task}")
        assert fixture.snippet not in before.plain_text  # nothing changes before [启用]

        done = await _press(tg, ADMIN_ID, "启用", preview)
        assert "已启用《" in done.plain_text and f"{fixture.tasks} 项任务" in done.plain_text
        again = await _press(tg, ADMIN_ID, "启用", preview)  # a double press
        assert "已失效" in again.plain_text
        item = await _say(tg, MEMBER, f"/item {fixture.task}")
        assert fixture.snippet in item.plain_text
        topic = await _say(tg, MEMBER, fixture.question)
        assert fixture.snippet[:4] in topic.plain_text
    assert len(list((county / "plans").glob("*.json"))) == 2  # the plan in force and state.json
    entries = Storage(db).audit_entries("plan_activated")
    assert [(e.detail["source"], e.detail["tasks"]) for e in entries] == [(fixture.filename, fixture.tasks)]

    app = build_application(make_settings(tg, db))  # a restart on the same database
    async with running(app):
        item = await _say(tg, MEMBER, f"/item {fixture.task}")
        assert fixture.snippet in item.plain_text

    assert main(["plan", "restore"]) == 0
    use_plan(None)
    app = build_application(make_settings(tg, db))
    async with running(app):
        item = await _say(tg, MEMBER, "/item 45")  # Helan's plan has 45 tasks
        assert "加强服务保障力量建设" in item.plain_text


async def test_cancel_and_bad_files_leave_the_plan_in_force(county, tg):
    app = build_application(make_settings(tg, county / "cppcc.db"))
    async with running(app):
        preview = await _send(tg, ADMIN_ID, "方案.docx", FIXTURES["task-table-docx"].data())
        cancelled = await _press(tg, ADMIN_ID, "取消", preview)
        assert "没有做任何更改" in cancelled.plain_text
        news = "县政协召开专题协商会\n一、会议听取了汇报。\n二、委员们提出了建议。\n".encode()
        refused = await _send(tg, ADMIN_ID, "新闻.txt", news)
        assert "没有一条写明责任单位" in refused.plain_text and "现行方案不变" in refused.plain_text
        assert refused.button_texts == []
        missing = FIXTURES["flat-lines"].data().decode().replace("责任单位：县政协办公室、县委党校\n", "")
        listed = await _send(tg, ADMIN_ID, "清单.txt", missing.encode())
        line = missing.splitlines().index(next(x for x in missing.splitlines() if x.startswith("6、"))) + 1
        assert "没有责任单位的任务（1 项" in listed.plain_text and f"第{line}行" in listed.plain_text
        assert listed.button_texts == []
        item = await _say(tg, ADMIN_ID, "/item 45")
        assert "加强服务保障力量建设" in item.plain_text
    assert PlanStore.at(county / "cppcc.db").state()["active"] is None


async def test_only_secretaries_import_plans(county, tg):
    app = build_application(make_settings(tg, county / "cppcc.db"))
    async with running(app):
        refused = await _send(tg, MEMBER, "方案.docx", FIXTURES["task-table-docx"].data())
        assert "只有政协办秘书" in refused.plain_text
        assert refused.button_texts == []


async def test_a_new_unit_is_merged_into_the_known_one_before_use(county, tg):
    text = FIXTURES["flat-lines"].data().decode().replace("县大数据中心", "县人力资源社会保障局")
    app = build_application(make_settings(tg, county / "cppcc.db"))
    async with running(app):
        preview = await _send(tg, ADMIN_ID, "清单.txt", text.encode())
        assert "县人力资源社会保障局（别名：人力资源社会保障局" in preview.plain_text
        assert preview.button_texts == ["启用", "把“县人力资源社会保障局”并入“人社局”", "取消"]
        merged = await _press(tg, ADMIN_ID, "并入", preview)
        assert "县人力资源社会保障局" not in merged.plain_text.split("单位目录中没有的单位")[-1]
        assert merged.button_texts == ["启用", "取消"]
        await _press(tg, ADMIN_ID, "启用", merged)
        unit = await _say(tg, MEMBER, "/unit 人社局")
        assert "（3）" in unit.plain_text
    assert len(list((county / "plans" / "pending").glob("*.json"))) == 0  # the first preview's import dropped


async def test_a_plan_put_in_force_over_helans_own_knowledge_directory(tg, tmp_path, monkeypatch):
    monkeypatch.delenv("CPPCC_KNOWLEDGE", raising=False)
    monkeypatch.delenv("CPPCC_PLANS", raising=False)
    fixture = FIXTURES["first-listed-lead"]
    app = build_application(make_settings(tg, tmp_path / "cppcc.db"))
    try:
        async with running(app):
            preview = await _send(tg, ADMIN_ID, fixture.filename, fixture.data())
            done = await _press(tg, ADMIN_ID, "启用", preview)
            assert f"{fixture.tasks} 项任务" in done.plain_text
            item = await _say(tg, MEMBER, f"/item {fixture.task}")
            assert fixture.snippet in item.plain_text
    finally:
        use_plan(None)
        default_engine.cache_clear()


async def _until(tg, user: int, mark, text: str):
    await tg.wait_for(lambda: any(text in m.plain_text for m in tg.sent_messages(user, since=mark)), timeout=10)
    return next(m for m in tg.sent_messages(user, since=mark) if text in m.plain_text)


async def test_a_running_bot_follows_plan_use_and_restore_from_the_command_line(county, tg, monkeypatch):
    from handlers import plans as plan_handlers

    monkeypatch.setattr(plan_handlers, "FOLLOW_SECONDS", 0.2)
    fixture = FIXTURES["flat-lines"]
    source = county / fixture.filename
    source.write_bytes(fixture.data())
    built = county / "plan.json"
    assert main(["plan", "build", str(source), "-o", str(built), "--no-obligations"]) == 0
    db = county / "cppcc.db"
    app = build_application(make_settings(tg, db))
    async with running(app):
        before = await _say(tg, MEMBER, f"/item {fixture.task}")
        assert fixture.snippet not in before.plain_text
        mark = tg.mark()
        assert main(["plan", "use", str(built)]) == 0  # while the bot runs
        told = await _until(tg, ADMIN_ID, mark, "现行方案已改为")
        assert f"{fixture.tasks} 项任务" in told.plain_text
        item = await _say(tg, MEMBER, f"/item {fixture.task}")
        assert fixture.snippet in item.plain_text

        mark = tg.mark()
        assert main(["plan", "restore"]) == 0
        await _until(tg, ADMIN_ID, mark, "现行方案已改为")
        item = await _say(tg, MEMBER, "/item 45")  # Helan's plan again
        assert "加强服务保障力量建设" in item.plain_text

        mark = tg.mark()  # a state.json naming a damaged plan: said, and the plan in force stays
        store = PlanStore.at(db)
        (store.root / "broken.json").write_text("{", encoding="utf-8")
        (store.root / "state.json").write_text('{"active": "broken.json", "previous": null}', encoding="utf-8")
        await _until(tg, ADMIN_ID, mark, "命令行切换的方案无法使用")
        item = await _say(tg, MEMBER, "/item 45")
        assert "加强服务保障力量建设" in item.plain_text
    actions = [e.action for e in Storage(db).audit_entries() if e.action.startswith("plan_follow")]
    assert actions == ["plan_followed", "plan_followed", "plan_follow_failed"]


async def test_a_secretary_restores_the_previous_plan_with_a_button(county, tg):
    fixture = FIXTURES["yishi-paragraphs"]
    db = county / "cppcc.db"
    app = build_application(make_settings(tg, db))
    async with running(app):
        status = await _say(tg, ADMIN_ID, "/plan")
        assert "现行方案：《" in status.plain_text and "没有可恢复" in status.plain_text
        assert status.button_texts == []
        refused = await _say(tg, MEMBER, "/plan")
        assert "只有政协办秘书" in refused.plain_text

        preview = await _send(tg, ADMIN_ID, fixture.filename, fixture.data())
        done = await _press(tg, ADMIN_ID, "启用", preview)
        assert "/plan" in done.plain_text
        status = await _say(tg, ADMIN_ID, "/plan")
        assert f"{fixture.tasks} 项任务" in status.plain_text.splitlines()[0]
        assert "上一份：《" in status.plain_text and "45 项任务" in status.plain_text
        restored = await _press(tg, ADMIN_ID, "恢复上一版", status)
        assert "已恢复上一份方案" in restored.plain_text and "45 项任务" in restored.plain_text
        again = await _press(tg, ADMIN_ID, "恢复上一版", status)  # a double press changes nothing
        assert "已失效" in again.plain_text
        item = await _say(tg, MEMBER, "/item 45")
        assert "加强服务保障力量建设" in item.plain_text
        status = await _say(tg, ADMIN_ID, "/plan")  # and back again
        assert "45 项任务" in status.plain_text.splitlines()[0]
        await _press(tg, ADMIN_ID, "恢复上一版", status)
        item = await _say(tg, MEMBER, f"/item {fixture.task}")
        assert fixture.snippet in item.plain_text
    assert [e.action for e in Storage(db).audit_entries() if e.action == "plan_restored"] == ["plan_restored"] * 2
    assert PlanStore.at(db).previous() is not None
