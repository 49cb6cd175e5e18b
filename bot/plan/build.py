"""Build knowledge/plan.json: parsed plan text + units catalogue + obligations."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from bot.plan.parse import PlanParseError, parse_plan
from bot.plan.units import UnitCatalogue

SCHEMA_VERSION = 1


def _auto_unit_id(label: str) -> str:
    return "auto_" + hashlib.sha1(label.encode("utf-8")).hexdigest()[:8]


def build_plan(text: str, catalogue: dict, obligations: dict | None) -> tuple[dict, list[str]]:
    """Return (plan data, warnings). Raises PlanParseError on any problem.

    Units printed in the plan but missing from the catalogue get an automatic
    entry (and a warning), so plans of other counties still build; Helan's own
    plan must resolve every unit through the catalogue (a test holds this).
    """
    return build_from_parsed(parse_plan(text), catalogue, obligations)


def build_from_parsed(parsed: dict, catalogue: dict, obligations: dict | None) -> tuple[dict, list[str]]:
    """Resolve the units of parsed plan data (text or table) against the catalogue."""
    cat = UnitCatalogue.from_dict(catalogue)
    warnings: list[str] = []
    units = {u["id"]: u for u in cat.to_dict()["units"]}
    used: dict[str, None] = {}
    for task in parsed["tasks"]:
        ids: list[str] = []
        for label in task["units_printed"]:
            resolved = cat.resolve_label(label)
            if resolved is None:
                unit_id = _auto_unit_id(label)
                if unit_id not in units:
                    warnings.append(f"任务({task['number']}): 单位“{label}”不在单位目录中，已自动建立条目 {unit_id}")
                    units[unit_id] = {"id": unit_id, "short": label, "full": label, "aliases": [], "member_of": []}
                resolved = (unit_id,)
            for unit_id in resolved:
                if unit_id not in ids:
                    ids.append(unit_id)
        task["unit_ids"] = ids
        task["unit_roles"] = task.pop("unit_roles")
        used.update(dict.fromkeys(ids))
    # Parents of used units are part of the picture too ("is one of" relations).
    for unit_id in list(used):
        used.update(dict.fromkeys(units[unit_id]["member_of"]))

    plan = {
        "schema": SCHEMA_VERSION,
        **parsed,
        "units": [units[unit_id] for unit_id in units if unit_id in used],
        "compounds": {
            label: list(ids)
            for label, ids in cat.compounds.items()
            if any(label in t["units_printed"] for t in parsed["tasks"])
        },
        "obligations": _check_obligations(obligations, parsed["tasks"]) if obligations else [],
    }
    return plan, warnings


def _check_obligations(data: dict, tasks: list[dict]) -> list[dict]:
    by_number = {t["number"]: t for t in tasks}
    result = []
    for index, item in enumerate(data.get("obligations", [])):
        where = f"obligations[{index}] ({item.get('id', '?')})"
        task = by_number.get(item.get("task"))
        if task is None:
            raise PlanParseError(0, f"{where}: 任务({item.get('task')})不存在")
        if item.get("quote") not in task["text"]:
            raise PlanParseError(0, f"{where}: 引文“{item.get('quote')}”不在任务({task['number']})的原文中")
        result.append(item)
    return result


def load_json(path: Path) -> dict:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def dump_plan(plan: dict) -> str:
    return json.dumps(plan, ensure_ascii=False, indent=2) + "\n"


def write_atomically(path: Path, content: str) -> None:
    """Write via a temporary file and rename, so a failure never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
