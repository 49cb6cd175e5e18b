"""Imported plans in use: `plan build` → `plan use` → `ask`, the ledger export, `plan restore`;
the plans directory (bot/plan/store.py)."""

from __future__ import annotations

import json

import pytest

from bot.answers.engine import default_engine
from bot.cli.main import main
from bot.plan.model import default_plan, use_plan
from bot.plan.store import PlanStore, PlanStoreError
from tests.plan_import_support import FIXTURES, county_knowledge


def fresh_process() -> None:
    """What a new `cppcc-bot` process starts from: nothing loaded yet."""
    use_plan(None)
    default_engine.cache_clear()


@pytest.fixture
def county(tmp_path, monkeypatch):
    """A county's knowledge directory and database; the plans directory beside the database."""
    knowledge = county_knowledge(tmp_path / "knowledge")
    monkeypatch.setenv("CPPCC_KNOWLEDGE", str(knowledge))
    monkeypatch.setenv("CPPCC_DB", str(tmp_path / "cppcc.db"))
    monkeypatch.delenv("CPPCC_PLANS", raising=False)
    fresh_process()
    yield tmp_path
    fresh_process()


def ask(capsys, *questions: str) -> list[dict]:
    fresh_process()
    capsys.readouterr()
    assert main(["ask", "--json", *questions]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_each_fixture_plan_builds_answers_exports_and_restores(name, county, capsys):
    fixture = FIXTURES[name]
    source = county / fixture.filename
    source.write_bytes(fixture.data())
    built = county / "plan.json"
    assert main(["plan", "build", str(source), "-o", str(built)]) == 0
    assert "方案预览" in capsys.readouterr().out
    assert main(["plan", "use", str(built)]) == 0
    assert (county / "plans" / "state.json").exists()

    by_number, by_topic, by_unit = ask(capsys, f"第{fixture.task}条", fixture.question, f"{fixture.unit}负责什么")
    assert by_number["items"] == [fixture.task] and fixture.snippet in by_number["reply"]
    assert by_topic["items"][0] == fixture.task
    assert by_unit["intent"] == "unit" and fixture.task in by_unit["items"]

    fresh_process()
    export = county / "ledger.csv"
    assert main(["ledger", "export", "--format", "csv", "-o", str(export)]) == 0
    exported = export.read_bytes().decode("utf-8-sig")
    assert fixture.snippet in exported
    assert exported.count("\n") >= fixture.tasks

    # Reminders tied to the plan: event and ledger reminders apply, those citing Helan's
    # quantified requirements do not; the ledger's silent units are this plan's units.
    fresh_process()
    capsys.readouterr()
    assert main(["reminders", "rules"]) == 0
    rules = capsys.readouterr().out
    assert "ledger_silent_units" in rules and "yearly_minimums" not in rules
    assert main(["ledger", "silent"]) == 0
    assert fixture.unit[-2:] in capsys.readouterr().out

    fresh_process()
    assert main(["plan", "restore"]) == 0
    fresh_process()
    assert len(default_plan().tasks) == 45  # Helan's plan again (knowledge/plan.json)


def test_plan_check_names_the_plan_in_force(county, capsys):
    fixture = FIXTURES["flat-lines"]
    source = county / fixture.filename
    source.write_bytes(fixture.data())
    assert main(["plan", "build", str(source), "-o", str(county / "p.json")]) == 0
    assert main(["plan", "use", str(county / "p.json")]) == 0
    capsys.readouterr()
    fresh_process()
    assert main(["plan", "check"]) == 0
    out = capsys.readouterr().out
    assert f"现行方案：{county / 'plans'}" in out and "任务 6" in out
    assert "None" not in out  # a plan without 文号 or dates prints none


def test_plan_use_refuses_a_plan_the_engine_or_reminder_rules_refuse(county, capsys, monkeypatch):
    from bot.calendar import reminders

    fixture = FIXTURES["flat-lines"]
    source = county / fixture.filename
    source.write_bytes(fixture.data())
    assert main(["plan", "build", str(source), "-o", str(county / "p.json")]) == 0
    capsys.readouterr()

    def refuse(**_):
        raise reminders.ReminderError("reminders.json：规则 x 引用的任务不存在")

    monkeypatch.setattr(reminders, "load_rules", refuse)
    assert main(["plan", "use", str(county / "p.json")]) == 1
    assert "这份方案不能启用：reminders.json：规则 x 引用的任务不存在。现行方案不变。" in capsys.readouterr().err
    assert PlanStore.at(county / "cppcc.db").state()["active"] is None


def test_restore_swaps_back_and_forth_and_needs_a_previous_plan(tmp_path):
    store = PlanStore(tmp_path / "plans")
    with pytest.raises(PlanStoreError, match="没有可恢复的上一份方案"):
        store.restore()
    first = store.activate({"schema": 1, "name": "a"})
    assert store.in_force() == first.path and store.previous().name == "plan.json"
    second = store.activate({"schema": 1, "name": "b"})
    assert store.previous() == first.path
    assert store.restore() == first.path
    assert store.restore() == second.path  # restore again: the one just replaced
    # Every plan put in force is kept.
    assert {first.path, second.path} <= set((tmp_path / "plans").glob("*.json"))


def test_a_pending_import_is_put_in_force_once(tmp_path):
    store = PlanStore(tmp_path / "plans")
    token = store.save_pending({"schema": 1}, "方案.docx")
    assert store.pending(token)["source"] == "方案.docx"
    first = store.activate(store.pending(token)["plan"], token)
    again = store.activate({"schema": 1}, token)
    assert again.already and again.path == first.path
    assert store.pending(token) is None
    assert store.pending("../state") is None  # tokens are names, never paths
    assert not store.cancel(token)


def test_a_damaged_state_file_is_one_line(county, capsys):
    plans = county / "plans"
    plans.mkdir()
    (plans / "state.json").write_text("{", encoding="utf-8")
    assert main(["plan", "check"]) == 1
    assert "state.json 已损坏" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "filename", "expected"),
    [
        ("关于召开常委会会议的通知\n定于12月5日召开会议。\n".encode(), "通知.txt", "没有一个编号条目"),
        (b"PK\x03\x04broken", "plan.xlsx", "文件已损坏"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptionInfo".encode("utf-16-le"), "plan.xlsx", "文件已加密"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "plan.xls", "无法读取这个 .xls 文件"),
        (b"%PDF-1.4 x", "plan.pdf", "不能读取"),
        (b"", "plan.txt", "文件为空"),
    ],
)
def test_files_that_are_no_usable_plan_change_nothing(county, capsys, content, filename, expected):
    source = county / filename
    source.write_bytes(content)
    out = county / "plan.json"
    assert main(["plan", "build", str(source), "-o", str(out)]) == 1
    captured = capsys.readouterr()
    assert expected in captured.err
    assert "这份文件不能启用，现行方案不变" in captured.out
    assert not out.exists()


def test_an_imported_plan_over_helans_own_knowledge_directory(tmp_path, monkeypatch, capsys):
    """The default deployment: the answer data written for Helan's plan steps aside."""
    monkeypatch.delenv("CPPCC_KNOWLEDGE", raising=False)
    monkeypatch.setenv("CPPCC_DB", str(tmp_path / "cppcc.db"))
    monkeypatch.delenv("CPPCC_PLANS", raising=False)
    fixture = FIXTURES["inline-labelled"]
    source = tmp_path / fixture.filename
    source.write_bytes(fixture.data())
    try:
        assert main(["plan", "build", str(source), "-o", str(tmp_path / "p.json")]) == 0
        assert main(["plan", "use", str(tmp_path / "p.json")]) == 0
        by_number, by_unit = ask(capsys, f"第{fixture.task}条", f"{fixture.unit}负责什么")
        assert fixture.snippet in by_number["reply"]
        assert by_unit["intent"] == "unit" and fixture.task in by_unit["items"]
    finally:
        fresh_process()
