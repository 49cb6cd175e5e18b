"""Plans in other layouts: task markers, heading levels, units with roles, deadlines, failures."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.config import knowledge_dir
from bot.plan.build import build_plan, dump_plan, load_json
from bot.plan.deadlines import inline_deadline, parse_time_limit
from bot.plan.importer import Knowledge, import_plan
from bot.plan.newunits import derive_names
from bot.plan.parse import PlanParseError, parse_plan, read_plan
from bot.plan.responsibility import from_line, from_parenthesis, split_closing_parenthesis

KNOWLEDGE = knowledge_dir()
PLANS = Path(__file__).parent / "data" / "plans"
HELAN = KNOWLEDGE / "source" / "helan-cppcc-plan-2023.txt"
# sha256 of knowledge/plan.json before unit roles were added (commit 3b1b1be).
HELAN_PLAN_BEFORE_ROLES = "9388fd2cd6ee89f8a92dfebdf1a81406f48d85c68cb7707f3cf9140460d7d03e"


def fixture(name: str) -> str:
    return (PLANS / name).read_text(encoding="utf-8")


def test_helan_rebuild_is_todays_plan_apart_from_roles(tmp_path):
    out = tmp_path / "plan.json"
    assert main(["plan", "build", str(HELAN), "-o", str(out)]) == 0
    plan = json.loads(out.read_text(encoding="utf-8"))
    for task in plan["tasks"]:
        # Helan prints 责任单位 lines without naming a lead: every unit is responsible.
        assert task.pop("unit_roles") == dict.fromkeys(task["units_printed"], "responsible")
    assert hashlib.sha256(dump_plan(plan).encode("utf-8")).hexdigest() == HELAN_PLAN_BEFORE_ROLES


def roles(task: dict) -> list[tuple[str, str]]:
    return list(task["unit_roles"].items())


def test_inline_labelled_parentheses():
    plan = parse_plan(fixture("inline-labelled.txt"))
    tasks = plan["tasks"]
    assert len(tasks) == 8
    titles = ["坚持党对政协工作的全面领导", "加强专门协商机构建设", "加强委员队伍建设"]
    assert [a["title"] for a in plan["areas"]] == titles
    assert [t["area"] for t in tasks] == [1, 1, 1, 2, 2, 2, 3, 3]
    assert roles(tasks[1]) == [("县委办公室", "lead"), ("县委组织部", "support"), ("县政协办公室", "support")]
    # The unit parenthesis is cut from the text; the sentence keeps its full stop.
    assert tasks[1]["text"] == "完善县委领导同志联系县政协工作制度，2024年6月底前完成。"
    assert tasks[1]["time_limit"] == {"text": "2024年6月底前完成", "kind": "deadline", "date": "2024-06-30"}
    assert tasks[7]["time_limit"]["kind"] == "ongoing"
    assert tasks[0]["time_limit"]["kind"] == "unspecified"
    assert [s["title"] for s in plan["work_requirements"]] == ["保障措施"]


def test_first_listed_is_lead_and_holds_for_later_tasks():
    tasks = parse_plan(fixture("first-listed-lead.txt"))["tasks"]
    assert len(tasks) == 7
    assert roles(tasks[0]) == [("县委办公室", "lead"), ("县政府办公室", "support"), ("县政协办公室", "support")]
    # “下同”: the rule holds for the following tasks too; 各乡镇 stays one group label.
    assert roles(tasks[1]) == [("县政协办公室", "lead"), ("各乡镇", "support")]
    assert roles(tasks[5]) == [("县财政局", "lead")]
    assert "列第一位" not in tasks[0]["text"]


def test_yishi_segments_are_tasks_with_lead_and_support():
    plan = parse_plan(fixture("yishi-paragraphs.txt"))
    tasks = plan["tasks"]
    assert len(tasks) == 7
    assert [t["area"] for t in tasks] == [1, 1, 2, 2, 2, 3, 3]
    assert tasks[0]["text"] == "组织委员学习党的创新理论，每年举办委员读书活动。"
    assert roles(tasks[0]) == [("县委宣传部", "lead"), ("各乡镇", "support")]
    assert roles(tasks[3]) == [("县政协办公室", "lead"), ("各有关部门", "support")]
    assert roles(tasks[5]) == [("县财政局", "responsible")]
    assert tasks[4]["time_limit"]["kind"] == "ongoing"
    assert plan["task_section"]["title"] == "重点任务"
    assert [s["title"] for s in plan["general_requirements"]] == ["总体要求"]
    assert [s["title"] for s in plan["work_requirements"]] == ["工作要求"]


def test_flat_list_with_lead_and_support_lines():
    plan = parse_plan(fixture("flat-lines.txt"))
    tasks = plan["tasks"]
    assert len(tasks) == 6
    assert len(plan["areas"]) == len(plan["groups"]) == 1
    assert roles(tasks[2]) == [("县政协办公室", "lead"), ("县大数据中心", "support"), ("县财政局", "support")]
    assert [t["time_limit"]["kind"] for t in tasks] == [
        "deadline",
        "recurring",
        "deadline",
        "ongoing",
        "unspecified",
        "deadline",
    ]
    assert roles(tasks[5]) == [("县政协办公室", "responsible"), ("县委党校", "responsible")]


def test_three_heading_levels_keep_the_outer_and_inner_ones():
    plan = parse_plan(fixture("three-levels.txt"))
    assert [a["title"] for a in plan["areas"]] == ["加强协商民主建设", "加强委员队伍建设"]
    assert [g["title"] for g in plan["groups"]] == [
        "健全协商计划制度",
        "规范协商程序",
        "拓展基层协商",
        "严格委员推荐程序",
        "加强委员教育管理",
    ]
    assert [(t["area"], t["group"]) for t in plan["tasks"]] == [(1, 1), (1, 1), (1, 2), (1, 3), (2, 4), (2, 5)]


def test_numbering_restarting_under_each_heading_is_renumbered():
    text = "关于某项工作的实施方案\n一、甲\n1.任务一（县委办牵头）\n2.任务二（县委办牵头）\n"
    text += "二、乙\n1.任务三（政府办牵头）\n"
    tasks = parse_plan(text)["tasks"]
    assert [(t["number"], t["area"], t["text"]) for t in tasks] == [
        (1, 1, "任务一"),
        (2, 1, "任务二"),
        (3, 2, "任务三"),
    ]


@pytest.mark.parametrize("name", ["inline-labelled.txt", "first-listed-lead.txt", "yishi-paragraphs.txt"])
def test_every_inline_task_has_a_lead_first(name):
    for task in parse_plan(fixture(name))["tasks"]:
        first = next(iter(task["unit_roles"].values()))
        assert first in ("lead", "responsible"), task
        assert list(task["unit_roles"]) == task["units_printed"]


def test_tasks_without_units_are_listed_with_their_lines_never_guessed():
    text = fixture("flat-lines.txt").replace("牵头单位：县委统战部\n配合单位：县政协办公室\n", "")
    text = text.replace("责任单位：县政协办公室、县委党校\n", "")
    parsed = read_plan(text)
    lines = text.splitlines()
    assert [p.line for p in parsed.problems] == [
        lines.index(next(x for x in lines if x.startswith("4、"))) + 1,
        lines.index(next(x for x in lines if x.startswith("6、"))) + 1,
    ]
    assert all("没有“责任单位”行" in p.message for p in parsed.problems)
    assert parsed.data["tasks"][3]["units_printed"] == []
    with pytest.raises(PlanParseError) as info:
        parsed.require_complete()
    assert str(info.value).startswith(f"第{parsed.problems[0].line}行")
    assert "另有 1 个问题" in str(info.value)


NOT_PLANS = {
    "notice": (
        "关于召开县政协常委会会议的通知\n各位常委：\n定于12月5日上午9时召开常委会会议。\n请准时参加。\n县政协办公室\n"
    ),
    "news": (
        "县政协召开专题协商会\n12月1日，县政协召开专题协商会。\n"
        "一、会议听取了有关情况汇报。\n二、委员们提出了意见建议。\n"
    ),
}


@pytest.mark.parametrize("name", sorted(NOT_PLANS))
def test_text_that_is_no_plan_says_what_was_found(name):
    with pytest.raises(PlanParseError) as info:
        parse_plan(NOT_PLANS[name])
    message = str(info.value)
    assert "这不是一份实施方案文本" in message
    if name == "news":
        assert "找到 2 个编号条目" in message and "没有一条写明责任单位" in message
    else:
        assert "没有一个编号条目" in message


def test_build_resolves_known_units_and_adds_new_ones():
    plan, warnings = build_plan(fixture("first-listed-lead.txt"), load_json(KNOWLEDGE / "units.json"), None)
    by_label = {}
    for task in plan["tasks"]:
        by_label.update(zip(task["units_printed"], task["unit_ids"], strict=False))
    assert by_label["县委办公室"] == "party_office"
    assert by_label["县委组织部"] == "organization_dept"
    assert by_label["各乡镇"].startswith("auto_")
    assert any("各乡镇" in w for w in warnings)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "牵头单位：市委组织部；配合单位：市人力资源社会保障局、市财政局",
            ["市委组织部", "市人力资源社会保障局", "市财政局"],
        ),
        ("人力资源社会保障部、财政部负责。列第一位者为牵头单位，下同", ["人力资源社会保障部", "财政部"]),
        ("县委宣传部牵头，各乡镇配合", ["县委宣传部", "各乡镇"]),
    ],
)
def test_parenthesis_forms_from_the_issue(content, expected):
    units, _ = from_parenthesis(content)
    units = units.ordered(first_is_lead=_ is True)
    assert units.labels == expected
    assert units.roles[0] == "lead" and set(units.roles[1:]) == {"support"}


@pytest.mark.parametrize("content", ["以下简称“两办”", "2023—2025年", "试行"])
def test_parentheses_that_are_not_units(content):
    assert from_parenthesis(content) is None


def test_lead_and_support_on_one_line():
    units = from_line("牵头单位：县委办；配合单位：政府办、政协办")
    assert list(zip(units.labels, units.roles, strict=True)) == [
        ("县委办", "lead"),
        ("政府办", "support"),
        ("政协办", "support"),
    ]


def test_closing_parenthesis_split():
    assert split_closing_parenthesis("建立目录（县委办牵头）。") == ("建立目录。", "县委办牵头")
    assert split_closing_parenthesis("建立目录。（县委办牵头）") == ("建立目录。", "县委办牵头")
    assert split_closing_parenthesis("建立（试点）目录") is None
    assert split_closing_parenthesis("一是建立目录（县委办负责）；") == ("一是建立目录。", "县委办负责")


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("建立制度，2024年6月底前完成。", "2024年6月底前完成"),
        ("定期通报，长期坚持。", "长期坚持"),
        ("报送年度计划，每年12月底前完成", "每年12月底前完成"),
        ("完善培训机制，2024年6月底前完成培训规划。", "2024年6月底前"),  # opening the last clause
        ("制定年度协商计划，每年1月底前报县委审定。", "每年1月底前"),
        ("于2020年以来的基础上，继续完善。", None),
        ("建立制度。", None),
    ],
)
def test_inline_deadlines(text, phrase):
    assert inline_deadline(text) == phrase


def test_recurring_time_limit():
    assert parse_time_limit("每年12月底前") == {"text": "每年12月底前", "kind": "recurring", "date": None}


@pytest.mark.parametrize(
    ("label", "names"),
    [
        ("县委组织部", ["县委组织部", "组织部", "组织部门"]),
        ("县财政局", ["县财政局", "财政局", "财政部门"]),
        ("县政协办公室", ["县政协办公室", "政协办公室", "政协办"]),
        ("各有关部门", ["各有关部门", "有关部门"]),
        ("县委办公室", ["县委办公室", "县委办"]),  # never the bare 办公室
        ("市场监管局", ["市场监管局", "市场监管部门"]),  # 市 of 市场 is no prefix
    ],
)
def test_derived_unit_names(label, names):
    assert derive_names(label) == names


def test_preview_shows_known_and_new_units_with_aliases_and_suggestions():
    text = fixture("flat-lines.txt").replace("县大数据中心", "县人力资源社会保障局、县大数据中心")
    result = import_plan(text.encode(), "清单.txt", Knowledge.load(KNOWLEDGE))
    preview = result.preview
    assert result.plan is not None and preview.ok
    assert ("县委统战部", "统战部") in preview.known_units
    assert ("各乡镇", "各乡镇") in preview.known_units  # a county department (departments.json)
    new = {unit.label: unit for unit in preview.new_units}
    assert new["县大数据中心"].aliases == ("大数据中心",)
    assert new["县人力资源社会保障局"].maybe == "人社局"
    assert "可能就是“人社局”" in preview.text()
    assert "完成时限：读出 5 项" in preview.text() and "未写明 1 项" in preview.text()
    by_id = {u["id"]: u for u in result.plan["units"]}
    assert by_id["towns"].get("from_departments") is True  # named by the plan: a plan unit now
    merged = import_plan(text.encode(), "清单.txt", Knowledge.load(KNOWLEDGE), same={"县人力资源社会保障局": "人社局"})
    assert "县人力资源社会保障局" not in {unit.label for unit in merged.preview.new_units}
    assert "hr_bureau" in merged.plan["tasks"][2]["unit_ids"]


def test_first_listed_lead_said_once_for_the_plan():
    text = "某县政协工作任务清单\n注：各项任务中列第一位的为牵头单位。\n1、甲任务\n责任单位：县委办、政府办\n"
    text += "2、乙任务\n责任单位：政协办\n"
    tasks = parse_plan(text)["tasks"]
    assert roles(tasks[0]) == [("县委办", "lead"), ("政府办", "support")]
    assert roles(tasks[1]) == [("政协办", "lead")]


def test_unit_and_deadline_fields_on_the_task_line():
    text = "某县政协工作任务清单\n1.建立制度。责任单位：县委办、政府办；完成时限：2024年底\n"
    text += "2.完善机制。牵头单位：政协办；配合单位：县委办\n"
    tasks = parse_plan(text)["tasks"]
    assert tasks[0]["text"] == "建立制度。"
    assert roles(tasks[0]) == [("县委办", "responsible"), ("政府办", "responsible")]
    assert tasks[0]["time_limit"] == {"text": "2024年底", "kind": "deadline", "date": "2024-12-31"}
    assert roles(tasks[1]) == [("政协办", "lead"), ("县委办", "support")]


def test_lead_marked_after_a_unit_name():
    text = "某县政协工作任务清单\n1、甲任务\n责任单位：县委宣传部（牵头）、县文旅局、各乡镇\n"
    assert roles(parse_plan(text)["tasks"][0]) == [
        ("县委宣传部", "lead"),
        ("县文旅局", "support"),
        ("各乡镇", "support"),
    ]


def test_yishi_with_one_parenthesis_for_the_paragraph_is_one_task():
    text = "某县实施意见\n一、重点任务\n（一）加强学习。一是学理论；二是学业务。（县委宣传部牵头）\n"
    text += "（二）加强调研。一是深入基层（县政协办公室牵头）。二是形成报告（县政协办公室牵头）。\n"
    tasks = parse_plan(text)["tasks"]
    assert [t["text"] for t in tasks] == ["加强学习。一是学理论；二是学业务。", "深入基层。", "形成报告。"]
    assert roles(tasks[0]) == [("县委宣传部", "lead")]


def test_a_deadline_inside_the_unit_parenthesis_is_no_unit():
    text = "某县政协工作任务清单\n1.甲任务（牵头单位：县委办；完成时限：2024年6月底）\n"
    text += "2.乙任务（政协办牵头，各有关部门（单位）配合，2025年底前完成）\n"
    tasks = parse_plan(text)["tasks"]
    assert roles(tasks[0]) == [("县委办", "lead")]
    assert tasks[0]["time_limit"]["date"] == "2024-06-30"
    assert roles(tasks[1]) == [("政协办", "lead"), ("各有关部门（单位）", "support")]
    assert tasks[1]["time_limit"] == {"text": "2025年底前完成", "kind": "deadline", "date": "2025-12-31"}


def test_the_model_reads_roles_and_plans_written_before_them():
    from bot.plan.model import Plan, PlanError

    data = json.loads((KNOWLEDGE / "plan.json").read_text(encoding="utf-8"))
    assert set(Plan(data).task(1).unit_roles) == {"responsible"}
    for task in data["tasks"]:
        del task["unit_roles"]
    assert Plan(data).task(1).unit_roles == ("responsible", "responsible")
    data["tasks"][0]["unit_roles"] = {"县委办": "boss", "政府办": "lead"}
    with pytest.raises(PlanError, match=r"tasks\[0\]\.unit_roles"):
        Plan(data)


def test_page_numbers_of_a_printed_copy_do_not_enter_task_text():
    text = "某县政协工作任务清单\n1、建立县委常委会议定期研究\n— 3 —\n政协工作制度\n责任单位：县委办\n"
    assert parse_plan(text)["tasks"][0]["text"] == "建立县委常委会议定期研究政协工作制度"


def test_a_deadline_clause_after_the_unit_parenthesis():
    text = "某县政协工作任务清单\n1.建立制度（县委办牵头），2024年底前完成。\n"
    task = parse_plan(text)["tasks"][0]
    assert task["text"] == "建立制度，2024年底前完成。"
    assert roles(task) == [("县委办", "lead")] and task["time_limit"]["date"] == "2024-12-31"


def test_responsible_units_beside_co_operating_ones_lead():
    text = "某县政协工作任务清单\n1、甲任务\n责任单位：县委办公室（县委督查室）\n配合单位：政府办\n"
    plan, _ = build_plan(text, load_json(KNOWLEDGE / "units.json"), None)
    task = plan["tasks"][0]
    assert roles(task) == [("县委办公室（县委督查室）", "lead"), ("政府办", "support")]
    assert task["unit_ids"] == ["party_office", "gov_office"]  # the bracketed note is no other unit


def test_a_unit_line_wrapped_mid_name_is_joined_a_signature_is_not():
    text = "某县政协工作任务清单\n1、甲任务\n责任单位：县委办、县政府办、县\n政协办公室\n完成时限：长期坚持\n"
    text += "2、乙任务\n牵头单位：县委办\n配合单位：县财政局、县人力资源\n社会保障局\n中共某县委办公室\n"
    tasks = parse_plan(text)["tasks"]
    assert tasks[0]["units_printed"] == ["县委办", "县政府办", "县政协办公室"]
    assert roles(tasks[1]) == [("县委办", "lead"), ("县财政局", "support"), ("县人力资源社会保障局", "support")]


def test_units_on_the_task_line_wrapped_onto_the_next():
    text = "某县政协工作任务清单\n1.建立制度。责任单位：县委办、县\n政府办\n2.完善机制。责任单位：政协办\n"
    assert [t["units_printed"] for t in parse_plan(text)["tasks"]] == [["县委办", "县政府办"], ["政协办"]]


def test_units_named_like_schools_and_bodies_in_a_yishi_paragraph():
    text = (
        "某县政协工作任务清单\n"
        "（一）强化党的领导。一是健全党组工作制度（县政协党组负责）；二是落实联系制度（县政协党组牵头，各专委会配合）。\n"
        "（二）提升履职能力。一是开展委员培训（县政协办公室、县委党校负责）；二是开展委员述职（县人大、县政协负责）。\n"
    )
    tasks = parse_plan(text)["tasks"]
    assert len(tasks) == 4
    assert roles(tasks[2]) == [("县政协办公室", "responsible"), ("县委党校", "responsible")]
    assert [label for label, _ in roles(tasks[3])] == ["县人大", "县政协"]


def test_a_line_naming_the_responsible_leader_is_neither_task_text_nor_a_unit():
    text = "某县政协工作任务清单\n一、党的领导\n1.每年听取1次县政协党组工作汇报。\n责任领导：王某某\n"
    text += "牵头单位：县委办公室\n配合单位：县政协办公室\n2.纳入督查计划。\n责任单位：县委办公室\n"
    tasks = parse_plan(text)["tasks"]
    assert tasks[0]["text"] == "每年听取1次县政协党组工作汇报。"
    assert roles(tasks[0]) == [("县委办公室", "lead"), ("县政协办公室", "support")]


def test_a_task_at_a_headings_level_heads_its_own_area():
    text = (
        "某县政协工作任务清单\n"
        "（一）强化党的领导。一是健全党组工作制度（县政协党组负责）；二是落实联系制度（县政协党组牵头，各专委会配合）。\n"
        "（二）加强保障。保障委员活动经费（县财政局负责，长期坚持）。\n"
    )
    plan = parse_plan(text)
    assert [a["title"] for a in plan["areas"]] == ["强化党的领导", "加强保障"]
    assert [t["area"] for t in plan["tasks"]] == [1, 1, 2]
    assert plan["tasks"][2]["time_limit"]["kind"] == "ongoing"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("由县财政局牵头负责", [("县财政局", "lead")]),
        ("县政协办公室具体负责", [("县政协办公室", "responsible")]),
        ("县委统战部会同县政协办公室负责", [("县委统战部", "lead"), ("县政协办公室", "support")]),
        ("县委组织部、县人社局等按职责分工负责", [("县委组织部", "responsible"), ("县人社局", "responsible")]),
    ],
)
def test_more_parenthesis_wordings(content, expected):
    units, first_is_lead = from_parenthesis(content)
    ordered = units.ordered(first_is_lead)
    assert list(zip(ordered.labels, ordered.roles, strict=True)) == expected


def test_first_listed_is_lead_said_in_brackets_on_a_unit_line():
    text = "某县任务清单\n1.甲任务。\n责任单位：县委组织部、县委统战部（列第一位的为牵头单位）\n"
    text += "2.乙任务。\n责任单位：县财政局、县政协办\n"
    tasks = parse_plan(text)["tasks"]
    assert roles(tasks[0]) == [("县委组织部", "lead"), ("县委统战部", "support")]
    assert roles(tasks[1]) == [("县财政局", "responsible"), ("县政协办", "responsible")]  # not 下同
    tasks = parse_plan(text.replace("牵头单位）", "牵头单位，下同）"))["tasks"]
    assert roles(tasks[1]) == [("县财政局", "lead"), ("县政协办", "support")]


def test_a_plan_inside_its_printing_notice_keeps_title_number_and_sections():
    text = (
        "中共某某县委办公室文件\n某党办发〔2024〕12号\n"
        "关于印发《某某县政协工作任务分工方案》的通知\n各乡镇党委：\n现将方案印发给你们，请认真贯彻落实。\n"
        "中共某某县委办公室\n2024年3月1日\n某某县政协工作任务分工方案\n为加强政协工作，制定本方案。\n"
        "一、总体要求\n坚持党的领导。\n二、重点任务\n（一）加强党的领导\n"
        "1.县委每年召开1次政协工作会议。（县委办公室牵头，县政协办公室配合）\n"
        "2.县委常委会每年听取县政协党组工作汇报。（县委办公室负责）\n"
        "三、保障措施\n（一）加强组织领导。各乡镇要高度重视。\n"
    )
    plan = parse_plan(text)
    document = plan["document"]
    assert (document["title"], document["doc_number"]) == ("某某县政协工作任务分工方案", "某党办发〔2024〕12号")
    assert document["issued_date"] == "2024-03-01"
    assert [s["title"] for s in plan["general_requirements"]] == ["总体要求"]
    assert [s["title"] for s in plan["work_requirements"]] == ["保障措施"]
    assert len(plan["tasks"]) == 2


def test_another_countys_plan_never_shows_this_countys_full_unit_names():
    text = "临川县政协工作任务清单\n1.召开政协工作会议。（县委办公室牵头，县政协办公室配合）\n"
    result = import_plan(text.encode(), "清单.txt", Knowledge.load(knowledge_dir()), obligations=False)
    fulls = {unit["id"]: unit["full"] for unit in result.plan["units"]}
    assert fulls["party_office"] == "县委办公室" and fulls["cppcc_office"] == "县政协办公室"
    assert not any("贺兰" in full for full in fulls.values())
    helan = import_plan(text.replace("临川县", "贺兰县").encode(), "清单.txt", Knowledge.load(knowledge_dir()))
    assert {u["id"]: u["full"] for u in helan.plan["units"]}["party_office"] == "中共贺兰县委办公室"
