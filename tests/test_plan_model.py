"""The plan model in bot/plan/model.py: lookups, unit relations, validation at load."""

from __future__ import annotations

import json

import pytest

from bot.cli.main import main
from bot.config import knowledge_dir
from bot.plan.model import PlanError, default_plan, load_plan

PLAN = default_plan()
CATALOGUE = json.loads((knowledge_dir() / "units.json").read_text(encoding="utf-8"))


def test_task_lookup():
    task = PLAN.task(33)
    assert task.label == "（33）"
    assert "提交1份提案" in task.text
    assert [u.short for u in PLAN.units_of_task(33)] == ["政协办", "政协提案和委员联络委"]
    assert PLAN.group(task.group).title == "提高委员履职能力"
    assert PLAN.area(task.area).title.startswith("加强委员队伍建设")
    assert PLAN.task(0) is None and PLAN.task(46) is None


@pytest.mark.parametrize(
    ("unit_id", "name"),
    [(u["id"], name) for u in CATALOGUE["units"] for name in [u["short"], u["full"], *u.get("aliases", [])]],
)
def test_every_alias_resolves_to_its_unit(unit_id, name):
    unit = PLAN.resolve_unit(name)
    assert unit is not None and unit.id == unit_id


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("统战部", [19, 30, 37]),
        ("组织部", [19, 30, 37, 43, 44]),
        ("财政局", [45]),
        ("县委党校", [21, 32]),
        ("纪委监委", [30]),
        ("编办", [43]),
        ("人社局", [43]),
        ("宣传部", [19]),
        ("县直有关部门", [11, 13, 24, 35]),
        ("政协党组", [31, 40, 41, 42]),
        ("县政协党组", [31, 40, 41, 42]),
        ("各专委会功能型党支部", [42]),
        ("相关部门", [18]),
        ("政府办", [1, 2, 4, 7, 10, 14, 18, 38]),
        ("县委办", [1, 2, 4, 7, 10, 14, 18, 19, 21, 36, 37, 38]),
    ],
)
def test_unit_tasks_are_complete(name, expected):
    assert PLAN.tasks_of_unit(PLAN.resolve_unit(name).id).all_numbers == expected


def test_unit_tasks_match_brute_force_over_printed_labels():
    for unit in PLAN.catalogue.units.values():
        names = set(unit.names)
        printed = [t.number for t in PLAN.tasks if names & set(t.units_printed)]
        compound = [
            t.number
            for t in PLAN.tasks
            if any(unit.id in PLAN.catalogue.compounds.get(label, ()) for label in t.units_printed)
        ]
        assert [t.number for t in PLAN.tasks_of_unit(unit.id).direct] == sorted(set(printed + compound)), unit.id


def test_is_one_of_relation_brings_committee_tasks():
    result = PLAN.tasks_of_unit("proposal_committee")
    assert [t.number for t in result.direct] == [33]
    (parent, tasks) = result.inherited[0]
    assert parent.id == "cppcc_committees"
    assert 6 in [t.number for t in tasks] and 33 not in [t.number for t in tasks]
    committee_tasks = [t.number for t in PLAN.tasks_of_unit("cppcc_committees").direct]
    assert result.all_numbers == sorted({33, *committee_tasks})


def test_obligations_by_audience():
    member = PLAN.obligations_for("member")
    assert {o.id for o in member} == {"member_training", "member_activity", "member_proposal", "member_social_info"}
    assert PLAN.setting("proposal_reply_limit").months == 3
    assert PLAN.setting("quarterly_consultation").describe() == "每季度至少 1 次（份/条）重要协商活动"
    assert PLAN.setting("non_cpc_member_share").describe() == "换届时党外代表人士在委员中的比例不少于60%"


def _write(tmp_path, data) -> str:
    path = tmp_path / "plan.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


def _plan_data() -> dict:
    return json.loads((knowledge_dir() / "plan.json").read_text(encoding="utf-8"))


CORRUPTIONS = {
    "not_json": lambda d: '{"schema": 1, "tasks": [',
    "wrong_schema": lambda d: {**d, "schema": 99},
    "no_tasks": lambda d: {k: v for k, v in d.items() if k != "tasks"},
    "unknown_unit": lambda d: {**d, "tasks": [{**d["tasks"][0], "unit_ids": ["nope"]}, *d["tasks"][1:]]},
    "gap_in_numbers": lambda d: {**d, "tasks": d["tasks"][:3] + d["tasks"][4:]},
    "text_not_string": lambda d: {**d, "tasks": [{**d["tasks"][0], "text": 5}, *d["tasks"][1:]]},
    "bad_obligation_task": lambda d: {**d, "obligations": [{**d["obligations"][0], "task": 99}]},
}


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_corrupt_plan_fails_fast_with_clear_message(name, tmp_path, capsys):
    path = _write(tmp_path, CORRUPTIONS[name](_plan_data()))
    with pytest.raises(PlanError, match=r"plan\.json|方案数据文件"):
        load_plan(path)
    assert main(["plan", "check", path]) == 1
    assert "错误" in capsys.readouterr().err


def test_plan_check_summary(capsys):
    assert main(["plan", "check"]) == 0
    out = capsys.readouterr().out
    assert "贺党办〔2023〕70号" in out
    assert "任务大类 4 · 分组 18 · 任务 45 · 责任单位 17 · 量化要求 12" in out
