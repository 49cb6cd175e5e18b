"""The catalogue of responsible units: ids, printed names, aliases and relations."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field


class CatalogueError(ValueError):
    """The units catalogue is malformed."""


@dataclass(frozen=True)
class Unit:
    id: str
    short: str
    full: str
    aliases: tuple[str, ...] = ()
    member_of: tuple[str, ...] = ()
    in_plan: bool = True  # False for county departments the plan does not name (knowledge/departments.json)

    @property
    def names(self) -> tuple[str, ...]:
        """Every name this unit is known by, printed name first."""
        seen: dict[str, None] = {}
        for name in (self.short, self.full, *self.aliases):
            seen.setdefault(name, None)
        return tuple(seen)


def _key(name: str) -> str:
    return unicodedata.normalize("NFKC", name).strip()


@dataclass
class UnitCatalogue:
    units: dict[str, Unit]
    compounds: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict) -> UnitCatalogue:
        """Build and validate a catalogue from its JSON form (see knowledge/units.json)."""
        if not isinstance(data, dict) or not isinstance(data.get("units"), list):
            raise CatalogueError("单位目录缺少 units 列表")
        units: dict[str, Unit] = {}
        for index, entry in enumerate(data["units"]):
            where = f"units[{index}]"
            if not isinstance(entry, dict):
                raise CatalogueError(f"{where}: 应为对象")
            for key in ("id", "short", "full"):
                if not isinstance(entry.get(key), str) or not entry[key].strip():
                    raise CatalogueError(f"{where}.{key}: 缺少或不是非空字符串")
            for key in ("aliases", "member_of"):
                value = entry.get(key, [])
                if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                    raise CatalogueError(f"{where}.{key}: 应为字符串列表")
            if not isinstance(entry.get("in_plan", True), bool):
                raise CatalogueError(f"{where}.in_plan: 应为 true 或 false")
            if entry["id"] in units:
                raise CatalogueError(f"{where}.id: 重复的单位 id {entry['id']!r}")
            units[entry["id"]] = Unit(
                id=entry["id"],
                short=entry["short"],
                full=entry["full"],
                aliases=tuple(entry.get("aliases", [])),
                member_of=tuple(entry.get("member_of", [])),
                in_plan=entry.get("in_plan", True),
            )
        compounds_raw = data.get("compounds", {})
        if not isinstance(compounds_raw, dict):
            raise CatalogueError("compounds: 应为对象")
        compounds = {label: tuple(ids) for label, ids in compounds_raw.items()}
        catalogue = cls(units=units, compounds=compounds)
        catalogue._validate_references()
        return catalogue

    def _validate_references(self) -> None:
        for unit in self.units.values():
            for parent in unit.member_of:
                if parent not in self.units:
                    raise CatalogueError(f"单位 {unit.id}: member_of 指向不存在的单位 {parent!r}")
        for label, ids in self.compounds.items():
            for unit_id in ids:
                if unit_id not in self.units:
                    raise CatalogueError(f"compounds[{label!r}]: 指向不存在的单位 {unit_id!r}")
        owners: dict[str, str] = {}
        for unit in self.units.values():
            for name in unit.names:
                other = owners.setdefault(_key(name), unit.id)
                if other != unit.id:
                    raise CatalogueError(f"名称 {name!r} 同时属于 {other} 和 {unit.id}")

    def with_departments(self, data: dict) -> UnitCatalogue:
        """This catalogue plus the county's departments (knowledge/departments.json), validated.

        The plan's units keep their ids (in_plan true); each department must have a new id and
        names of its own, and is marked in_plan false. Errors name the entry (units[3].id …).
        """
        extra = UnitCatalogue.from_dict({"units": data.get("units") if isinstance(data, dict) else None})
        for index, unit in enumerate(extra.units.values()):
            if unit.id in self.units:
                raise CatalogueError(f"units[{index}].id: {unit.id!r} 已是方案中的单位，请勿重复列出")
            if unit.in_plan:
                raise CatalogueError(f"units[{index}].in_plan: 方案外的单位应为 false")
        merged = UnitCatalogue(units={**self.units, **extra.units}, compounds=dict(self.compounds))
        merged._validate_references()
        return merged

    def plan_units(self) -> list[Unit]:
        """The units the plan itself names, in catalogue order."""
        return [unit for unit in self.units.values() if unit.in_plan]

    def to_dict(self) -> dict:
        return {
            "units": [
                {
                    "id": u.id,
                    "short": u.short,
                    "full": u.full,
                    "aliases": list(u.aliases),
                    "member_of": list(u.member_of),
                    **({} if u.in_plan else {"in_plan": False}),
                }
                for u in self.units.values()
            ],
            "compounds": {label: list(ids) for label, ids in self.compounds.items()},
        }

    def name_index(self) -> dict[str, str]:
        """Normalised name → unit id, for every short name, full name and alias."""
        return {_key(name): unit.id for unit in self.units.values() for name in unit.names}

    def resolve_label(self, label: str) -> tuple[str, ...] | None:
        """Unit ids for a label as printed in a 责任单位 line, or None if unknown."""
        key = _key(label)
        if key in self.compounds:
            return self.compounds[key]
        unit_id = self.name_index().get(key)
        return (unit_id,) if unit_id else None

    def members(self, unit_id: str) -> list[Unit]:
        """Units that are 'one of' the given collective unit."""
        return [u for u in self.units.values() if unit_id in u.member_of]
