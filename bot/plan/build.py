"""Build knowledge/plan.json: parsed plan text + units catalogue + obligations."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bot.plan.newunits import Match, Resolver
from bot.plan.parse import PlanParseError, parse_plan
from bot.plan.units import UnitCatalogue

SCHEMA_VERSION = 1


def build_plan(
    text: str,
    catalogue: dict,
    obligations: dict | None,
    departments: dict | None = None,
    same: dict[str, str] | None = None,
) -> tuple[dict, list[str]]:
    """Return (plan data, warnings). Raises PlanParseError on any problem.

    Units printed in the plan but missing from the catalogue get an automatic
    entry (and a warning), so plans of other counties still build; Helan's own
    plan must resolve every unit through the catalogue (a test holds this).
    """
    built = build_from_parsed(parse_plan(text), catalogue, obligations, departments, same)
    return built.plan, built.warnings


@dataclass
class Built:
    """A built plan and how each printed unit label was resolved."""

    plan: dict
    matches: dict[str, Match] = field(default_factory=dict)

    @property
    def new_units(self) -> list[Match]:
        return [m for m in self.matches.values() if m.new is not None]

    @property
    def warnings(self) -> list[str]:
        return [f"单位“{m.label}”不在单位目录中，已自动建立条目 {m.ids[0]}" for m in self.new_units]


def build_from_parsed(
    parsed: dict,
    catalogue: dict,
    obligations: dict | None,
    departments: dict | None = None,
    same: dict[str, str] | None = None,
) -> Built:
    """Resolve the units of parsed plan data (text or table) against the whole catalogue (the
    plan units of ``catalogue`` and the county's ``departments``); ``same`` maps a printed label
    to a known unit name the secretary says it is."""
    cat = UnitCatalogue.from_dict(catalogue)
    if departments is not None:
        cat = cat.with_departments(departments)
    resolver = Resolver(cat)
    units = {u["id"]: u for u in cat.to_dict()["units"]}
    matches: dict[str, Match] = {}
    used: dict[str, None] = {}
    for task in parsed["tasks"]:
        ids: list[str] = []
        for label in task["units_printed"]:
            if label not in matches:
                matches[label] = _match(resolver, label, same or {})
            match = matches[label]
            if match.new is not None:
                units.setdefault(match.new["id"], match.new)
            for unit_id in match.ids:
                if unit_id not in ids:
                    ids.append(unit_id)
        task["unit_ids"] = ids
        task["unit_roles"] = task.pop("unit_roles")
        used.update(dict.fromkeys(ids))
    # Parents of used units are part of the picture too ("is one of" relations).
    for unit_id in list(used):
        used.update(dict.fromkeys(units[unit_id]["member_of"]))
    # County departments that are "one of" a used unit (the townships of 各乡镇) share its tasks.
    grown = True
    while grown:
        members = [u for u in units if u not in used and set(units[u].get("member_of", [])) & set(used)]
        used.update(dict.fromkeys(members))
        grown = bool(members)
    plan_units = []
    for unit_id in units:
        if unit_id in used:
            entry = dict(units[unit_id])
            if entry.pop("in_plan", True) is False:
                entry["from_departments"] = True  # named by this plan: a plan unit now
            plan_units.append(entry)

    plan = {
        "schema": SCHEMA_VERSION,
        **parsed,
        "units": _local_names(plan_units, parsed, matches),
        "compounds": {
            label: list(ids)
            for label, ids in cat.compounds.items()
            if any(label in t["units_printed"] for t in parsed["tasks"])
        },
        "obligations": _check_obligations(obligations, parsed["tasks"]) if obligations else [],
    }
    return Built(plan, matches)


_PLACE = re.compile(r"^(?:中共|政协|中国)?(?P<place>[\u4e00-\u9fff]{2,3}?[县市区旗])")


def _local_names(units: list[dict], parsed: dict, matches: dict[str, Match]) -> list[dict]:
    """Another county's plan over this catalogue: a known unit's full name that names the
    catalogue's county (中共贺兰县委办公室) is replaced by the name the plan printed (县委办公室),
    so answers never name the wrong county. A plan that names the county keeps them all."""
    places = Counter(m.group("place") for u in units if (m := _PLACE.match(u["full"])))
    if not places:
        return units
    place, count = places.most_common(1)[0]
    document = parsed.get("document", {})
    said = " ".join(str(document.get(key) or "") for key in ("title", "notice_title", "issuer", "preamble"))
    if count * 2 < len(units) or place in said or place[:-1] in said:
        return units
    printed: dict[str, str] = {}
    for label, match in matches.items():
        for unit_id in match.ids if match.new is None else ():
            printed.setdefault(unit_id, label)
    local = []
    for unit in units:
        if place in unit["full"] and unit["id"] in printed:
            unit = {**unit, "full": printed[unit["id"]]}
        local.append(unit)
    return local


def _match(resolver: Resolver, label: str, same: dict[str, str]) -> Match:
    if label in same:
        target = resolver.catalogue.resolve_label(same[label])
        if target is None:
            raise PlanParseError(0, f"--same {label}={same[label]}：单位目录里没有“{same[label]}”")
        return Match(label, target)
    return resolver.match(label)


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
