"""`cppcc-bot records list|correct|remove|accept|assign|reply` for secretaries."""

from __future__ import annotations

from bot.cli.main import main
from tests.people_support import dump, open_storage, run_cli, seeded


def test_records_management_commands(tmp_path, monkeypatch, capsys):
    seeded(tmp_path).close()
    monkeypatch.setenv("CPPCC_DB", str(tmp_path / "data" / "cppcc.db"))
    export = tmp_path / "export.csv"
    export.write_text("姓名,类型,标题,日期\n张三,提案,关于道路的建议,2024-03-01\n", encoding="utf-8")
    assert run_cli(["records", "import", str(export), "--yes"]) == 0
    assert run_cli(["records", "accept", "1"]) == 0
    assert run_cli(["records", "assign", "1", "--units", "财政局、县委办", "--on", "2024-03-10"]) == 0
    assert "答复期限 2024-06-10" in capsys.readouterr().out
    assert run_cli(["records", "reply", "1", "--on", "2024-02-01"]) == 1  # before assignment
    assert "答复日期早于交办日期" in capsys.readouterr().err
    assert run_cli(["records", "correct", "1", "--title", "关于乡村道路的建议"]) == 0
    assert run_cli(["records", "list", "--member", "张三"]) == 0
    listing = capsys.readouterr().out
    assert "1,张三,提案,关于乡村道路的建议,2024-03-01,已交办,财政局、县委办,2024-06-10" in listing
    assert run_cli(["records", "remove", "1"]) == 0
    assert run_cli(["records", "remove", "1"]) == 1
    with open_storage(tmp_path) as storage:
        assert storage.record(1) is None
        assert [e.action for e in storage.audit_entries("remove_record")] == ["remove_record"]


def test_records_import_previews_without_yes(tmp_path, monkeypatch, capsys):
    seeded(tmp_path).close()
    db = tmp_path / "data" / "cppcc.db"
    monkeypatch.setenv("CPPCC_DB", str(db))
    export = tmp_path / "export.csv"
    export.write_text(
        "姓名,类型,标题,日期\n张三,提案,关于道路的建议,2024-03-01\n无名氏,提案,甲,2024-01-01\n", encoding="utf-8"
    )
    before = dump(db)
    assert run_cli(["records", "import", str(export)]) == 0
    shown = capsys.readouterr()
    assert "履职记录预览：可导入 1 条（新增 1 条" in shown.out
    assert "跳过 1 行：" in shown.out and "第3行：名册中没有名为“无名氏”的委员" in shown.out
    assert "这是预览，尚未导入" in shown.err and "--skip-bad" in shown.err
    assert dump(db) == before  # a dry run changes nothing
    assert run_cli(["records", "import", str(export), "--yes"]) == 1  # all or nothing
    assert "第3行" in capsys.readouterr().err
    assert dump(db) == before
    assert run_cli(["records", "import", str(export), "--yes", "--skip-bad"]) == 0
    assert "新增 1 条" in capsys.readouterr().out
    with open_storage(tmp_path) as storage:
        (entry,) = storage.audit_entries("import_records")
        assert len(entry.detail["file_sha256"]) == 64


def test_events_import_previews_without_yes(tmp_path, monkeypatch, capsys):
    seeded(tmp_path).close()
    db = tmp_path / "data" / "cppcc.db"
    monkeypatch.setenv("CPPCC_DB", str(db))
    events = tmp_path / "events.csv"
    events.write_text(
        "类型,日期,对象,名称,时间\n培训,2099-03-05,全体委员,委员培训,09:00\n常委会会议,2099-13-01,常委,坏,09:00\n",
        encoding="utf-8",
    )
    before = dump(db)
    assert main(["events", "import", str(events)]) == 0
    shown = capsys.readouterr()
    assert "活动预览：可导入 1 项" in shown.out and "培训《委员培训》 全体委员" in shown.out
    assert "第3行" in shown.out and "这是预览，尚未导入" in shown.err
    assert dump(db) == before
    assert main(["events", "import", str(events), "--yes"]) == 1
    assert dump(db) == before
    assert main(["events", "import", str(events), "--yes", "--skip-bad"]) == 0
    assert "新增 1 项活动" in capsys.readouterr().out
