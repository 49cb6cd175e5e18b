"""The plan parser and `cppcc-bot plan build|check` against the real source and variants."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.config import knowledge_dir
from bot.plan.build import build_plan, load_json
from bot.plan.parse import PlanParseError, parse_plan, parse_time_limit

KNOWLEDGE = knowledge_dir()
SOURCE = KNOWLEDGE / "source" / "helan-cppcc-plan-2023.txt"
SOURCE_TEXT = SOURCE.read_text(encoding="utf-8")
OTHER = Path(__file__).parent / "data" / "plans" / "other-county.txt"


def build(text: str, obligations: bool = True) -> dict:
    plan, _ = build_plan(
        text,
        load_json(KNOWLEDGE / "units.json"),
        load_json(KNOWLEDGE / "obligations.json") if obligations else None,
    )
    return plan


def test_committed_plan_json_is_rebuilt_identically(tmp_path, capsys):
    out = tmp_path / "plan.json"
    assert main(["plan", "build", str(SOURCE), "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == (KNOWLEDGE / "plan.json").read_text(encoding="utf-8")
    assert "45 项任务" in capsys.readouterr().out


def test_shared_source_matches_repo_copy():
    shared = Path(__file__).resolve().parents[2] / "shared" / "source" / SOURCE.name
    if not shared.exists():
        pytest.skip("shared/ not beside this checkout")
    assert shared.read_bytes() == SOURCE.read_bytes()


def test_document_metadata():
    doc = build(SOURCE_TEXT)["document"]
    assert doc["title"] == "关于加强和改进新时代县政协工作的实施方案"
    assert doc["doc_number"] == "贺党办〔2023〕70号"
    assert doc["index_number"] == "11640122010103150T/2023-00063"
    assert doc["issuer"] == "中共贺兰县委办公室"
    assert doc["issued_date"] == "2023-06-25"
    assert doc["published_date"] == "2023-06-27"
    assert doc["approved_by"] == "十五届县委2023年第15次常委会会议"
    assert doc["preamble"].startswith("为深入贯彻习近平总书记")


def test_structure_counts_and_titles():
    plan = build(SOURCE_TEXT)
    assert [p["title"] for p in plan["general_requirements"][0]["parts"]] == ["重要意义", "目标要求", "工作原则"]
    assert all(len(p["text"]) > 50 for p in plan["general_requirements"][0]["parts"])
    assert [a["number"] for a in plan["areas"]] == [1, 2, 3, 4]
    assert len(plan["groups"]) == 18
    assert plan["groups"][0]["title"] == "明确协商内容"
    assert plan["groups"][-1]["title"] == "健全县政协工作机构和力量"
    assert [t["number"] for t in plan["tasks"]] == list(range(1, 46))
    assert len(plan["work_requirements"][0]["parts"]) == 3
    assert plan["work_requirements"][0]["parts"][0]["text"].startswith("要加强组织领导")
    # No web noise leaks into the last paragraph.
    assert "扫一扫" not in json.dumps(plan, ensure_ascii=False)


def _source_units_by_task() -> dict[int, list[str]]:
    """Independent scan of the source: the 责任单位 line that follows each '(n)'."""
    found = {}
    for match in re.finditer(r"^\((\d+)\).*?^责任单位[:：]([^\n]+)$", SOURCE_TEXT, re.M | re.S):
        found[int(match.group(1))] = re.split(r"[、，,]", match.group(2).strip())
    return found


def test_every_task_unit_list_matches_source_text():
    expected = _source_units_by_task()
    assert len(expected) == 45
    for task in build(SOURCE_TEXT)["tasks"]:
        assert task["units_printed"] == expected[task["number"]], task["number"]
        assert task["time_limit"] == {"text": "长期坚持", "kind": "ongoing", "date": None}


def test_every_printed_unit_resolves_through_catalogue():
    plan = build(SOURCE_TEXT)
    ids = {u["id"] for u in plan["units"]}
    assert not [i for i in ids if i.startswith("auto_")]
    task18 = plan["tasks"][17]
    assert task18["unit_ids"] == ["party_office", "gov_office", "relevant_departments"]
    # 县政协党组 (31) and 政协党组 (40) are the same body.
    assert plan["tasks"][30]["unit_ids"] == plan["tasks"][39]["unit_ids"] == ["cppcc_party_group"]


def test_obligations_cover_every_number_in_tasks():
    plan = build(SOURCE_TEXT)
    by_id = {o["id"]: o for o in plan["obligations"]}
    assert by_id["quarterly_consultation"]["period"] == "quarter"
    assert by_id["standing_committee_thematic_meeting"]["count"] == 1
    assert by_id["supervision_topic_share"]["ratio"] == 0.2
    assert by_id["non_cpc_member_share"]["ratio"] == 0.6
    assert by_id["non_cpc_standing_share"]["ratio"] == 0.65
    assert by_id["member_training"]["period"] == "term"
    assert {by_id[k]["record_kind"] for k in ("member_activity", "member_proposal", "member_social_info")} == {
        "活动",
        "提案",
        "社情民意",
    }
    assert by_id["cppcc_work_conference"]["period"] == "term"
    assert by_id["branch_organisational_life"]["binds"] == "party_branch"
    assert by_id["proposal_reply_limit"]["months"] == 3
    quantified = re.compile(r"每年|每季度|每届|不少于|至少\d|届内")
    tasks_with_numbers = {t["number"] for t in plan["tasks"] if quantified.search(t["text"])}
    assert tasks_with_numbers <= {o["task"] for o in plan["obligations"]}


def _strip_noise(text: str) -> str:
    start = text.index("关于加强和改进新时代县政协工作的实施方案\n")
    end = text.index("扫一扫")
    return text[start:end]


VARIANTS = {
    "no_web_noise": _strip_noise,
    "crlf": lambda t: t.replace("\n", "\r\n"),
    "full_width_brackets": lambda t: re.sub(r"^\((\d+)\)", lambda m: f"（{m.group(1)}）", t, flags=re.M),
    "full_width_colon_and_comma_units": lambda t: re.sub(
        r"^责任单位:(.+)$", lambda m: "责任单位：" + m.group(1).replace("、", "，"), t, flags=re.M
    ),
    "extra_blank_lines": lambda t: t.replace("\n\n", "\n\n\n\n"),
    "no_blank_lines": lambda t: re.sub(r"\n+", "\n", t),
    "indented": lambda t: "\n".join("\u3000\u3000" + line if line else line for line in t.split("\n")),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_layout_variants_parse_to_the_same_tasks(name):
    reference = build(SOURCE_TEXT)
    variant = build(VARIANTS[name](SOURCE_TEXT))
    key = [(t["number"], t["group"], t["area"], t["unit_ids"]) for t in reference["tasks"]]
    assert [(t["number"], t["group"], t["area"], t["unit_ids"]) for t in variant["tasks"]] == key
    assert [g["title"] for g in variant["groups"]] == [g["title"] for g in reference["groups"]]


def test_missing_time_limit_is_allowed():
    text = SOURCE_TEXT.replace("完成时限:长期坚持", "", 1)
    plan = build(text)
    assert plan["tasks"][0]["time_limit"]["kind"] == "unspecified"
    assert plan["tasks"][1]["time_limit"]["kind"] == "ongoing"


def test_other_county_fixture(tmp_path, capsys):
    out = tmp_path / "plan.json"
    assert main(["plan", "build", str(OTHER), "-o", str(out), "--no-obligations"]) == 0
    plan = json.loads(out.read_text(encoding="utf-8"))
    tasks = plan["tasks"]
    assert len(tasks) == 4
    assert tasks[0]["time_limit"] == {"text": "2023年12月底", "kind": "deadline", "date": "2023-12-31"}
    assert tasks[1]["time_limit"]["kind"] == "unspecified"
    assert tasks[1]["units_printed"] == ["政协办", "政协各专门委员会"]
    assert tasks[2]["text"] == "将政协重点协商活动纳入县委、县政府总体工作安排，实施情况列入督查事项和考核体系。"
    assert tasks[2]["time_limit"]["date"] == "2024-06-30"
    assert tasks[3]["area"] == 2 and tasks[3]["group"] == 3
    assert "县乡村振兴局" in capsys.readouterr().err
    assert any(u["short"] == "县乡村振兴局" for u in plan["units"])


@pytest.mark.parametrize(
    ("printed", "kind", "date"),
    [
        ("长期坚持", "ongoing", None),
        ("2023年12月底", "deadline", "2023-12-31"),
        ("2024年2月底前", "deadline", "2024-02-29"),
        ("2024年", "deadline", "2024-12-31"),
        ("2023年9月15日", "deadline", "2023-09-15"),
        ("２０２３年１２月底", "deadline", "2023-12-31"),
        ("按要求完成", "other", None),
    ],
)
def test_time_limit_kinds(printed, kind, date):
    assert parse_time_limit(printed) == {"text": printed, "kind": kind, "date": date}


def _cut_at(text: str, marker: str) -> str:
    return text[: text.index(marker)]


BAD = {
    "not_a_plan": ("今天天气很好。\n我们去公园散步。\n", "不是一份实施方案"),
    "truncated_in_task": (_cut_at(SOURCE_TEXT, "责任单位:组织部、统战部、纪委监委"), "没有“责任单位”行"),
    "truncated_after_task": (_cut_at(SOURCE_TEXT, "三、工作要求"), "文件可能不完整"),
    "duplicate_number": (SOURCE_TEXT.replace("(8)要在加强", "(7)要在加强"), "重复出现"),
    "skipped_number": (SOURCE_TEXT.replace("(8)要在加强", "(9)要在加强"), "跳号"),
    "missing_units": (SOURCE_TEXT.replace("责任单位:财政局", ""), "任务(45)没有“责任单位”行"),
    "empty": ("", "文件为空"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_sources_fail_naming_the_problem_and_write_nothing(name, tmp_path, capsys):
    text, message = BAD[name]
    source = tmp_path / "source.txt"
    source.write_text(text, encoding="utf-8")
    out = tmp_path / "plan.json"
    out.write_text("previous", encoding="utf-8")
    assert main(["plan", "build", str(source), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert message in err
    assert out.read_text(encoding="utf-8") == "previous"
    assert {p.name for p in tmp_path.iterdir()} == {"source.txt", "plan.json"}  # no temp file left


def test_parse_errors_name_the_line():
    text = SOURCE_TEXT.replace("(8)要在加强", "(9)要在加强")
    line = text.splitlines().index(next(x for x in text.splitlines() if x.startswith("(9)要在加强"))) + 1
    with pytest.raises(PlanParseError) as info:
        parse_plan(text)
    assert info.value.line == line
    assert str(info.value).startswith(f"第{line}行")


def test_obligation_quote_must_be_in_task_text():
    obligations = load_json(KNOWLEDGE / "obligations.json")
    obligations["obligations"][0]["quote"] = "每年至少举行9次"
    with pytest.raises(PlanParseError, match="不在任务"):
        build_plan(SOURCE_TEXT, load_json(KNOWLEDGE / "units.json"), obligations)
