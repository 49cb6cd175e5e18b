"""The unit catalogue holds the county's departments besides the units the plan names."""

from __future__ import annotations

import json

import pytest

from bot.answers.engine import default_engine
from bot.config import knowledge_dir
from bot.plan.model import PlanError, default_plan, load_plan

PLAN = default_plan()


def test_departments_join_the_catalogue_and_plan_units_keep_their_ids():
    units = PLAN.catalogue.units
    assert units["hr_bureau"].in_plan and units["party_office"].in_plan
    assert len(PLAN.catalogue.plan_units()) == PLAN.summary()["units"] == 17
    for name in ("教育体育局", "住建局", "水务局", "卫健局", "农业农村局", "自然资源局", "生态环境分局", "交通局",
                 "民政局", "市场监管局", "文旅局", "商务局", "应急管理局", "医保局", "公安局", "司法局", "审计局",
                 "统计局", "习岗镇人民政府"):  # fmt: skip
        unit = PLAN.resolve_unit(name)
        assert unit is not None and not unit.in_plan, name
    assert PLAN.resolve_unit("人社局").id == "hr_bureau"
    assert PLAN.catalogue.units["town_xigang"].member_of == ("towns",)


def test_tasks_of_a_department_are_empty_and_the_answer_says_so():
    assert PLAN.tasks_of_unit("water_bureau").all_numbers == []
    answer = default_engine().answer("水务局负责什么")
    assert answer.intent == "unit" and answer.items == []
    assert "不是方案列明的责任单位" in answer.reply


def _plan_dir(tmp_path, departments) -> str:
    (tmp_path / "plan.json").write_text((knowledge_dir() / "plan.json").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "departments.json").write_text(json.dumps(departments, ensure_ascii=False), encoding="utf-8")
    return str(tmp_path / "plan.json")


def _departments() -> dict:
    return json.loads((knowledge_dir() / "departments.json").read_text(encoding="utf-8"))


BAD = {
    "plan_id_again": (lambda d: d["units"].append({"id": "hr_bureau", "short": "x", "full": "y"}), "hr_bureau"),
    "name_taken": (lambda d: d["units"][0]["aliases"].append("人社局"), "人社局"),
    "marked_in_plan": (lambda d: d["units"][0].update(in_plan=True), "in_plan"),
    "in_plan_not_bool": (lambda d: d["units"][0].update(in_plan="no"), "units[0].in_plan"),
    "missing_short": (lambda d: d["units"][1].pop("short"), "units[1].short"),
    "unknown_parent": (lambda d: d["units"][-1].update(member_of=["nowhere"]), "nowhere"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_departments_file_is_one_clear_error(name, tmp_path):
    data = _departments()
    change, expected = BAD[name]
    change(data)
    with pytest.raises(PlanError, match=r"departments\.json") as info:
        load_plan(_plan_dir(tmp_path, data))
    assert expected in str(info.value)


def test_a_plan_without_departments_file_still_loads(tmp_path):
    path = tmp_path / "plan.json"
    path.write_text((knowledge_dir() / "plan.json").read_text(encoding="utf-8"), encoding="utf-8")
    assert load_plan(path).resolve_unit("水务局") is None
    assert load_plan(_plan_dir(tmp_path, _departments())).resolve_unit("水务局").id == "water_bureau"
