"""`cppcc-bot records list|correct|remove|accept|assign|reply` for secretaries."""

from __future__ import annotations

from tests.people_support import open_storage, run_cli, seeded


def test_records_management_commands(tmp_path, monkeypatch, capsys):
    seeded(tmp_path).close()
    monkeypatch.setenv("CPPCC_DB", str(tmp_path / "data" / "cppcc.db"))
    export = tmp_path / "export.csv"
    export.write_text("姓名,类型,标题,日期\n张三,提案,关于道路的建议,2024-03-01\n", encoding="utf-8")
    assert run_cli(["records", "import", str(export)]) == 0
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
