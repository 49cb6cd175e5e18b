"""Units an imported plan names: matched against the whole catalogue, or new with derived aliases.

A printed label is matched exactly (name or alias), then by its derived forms: 县委组织部 ↔
组织部 ↔ 组织部门, 县财政局 ↔ 财政局 ↔ 财政部门, 县政协办公室 ↔ 政协办公室 ↔ 政协办. A label
the catalogue does not know becomes a new unit whose aliases are those forms (minus names
another unit already has), and the closest known unit is offered as a possible match for the
secretary to merge (``--same 新名称=已有单位`` on the command line).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from bot.plan.units import UnitCatalogue

PREFIX_RE = re.compile(
    r"^(?:中共)?(?:[\u4e00-\u9fff]{2,3}[县市区](?:委|人民政府|政府)?|县委|县人民政府|县政府|市委|市政府|区委|县(?![直域级城]))(?=.{2,})"
)
GROUP_RE = re.compile(r"^(各|县直各|全县各|县直有关|有关|相关)")
SUGGEST_SCORE = 80
GENERIC = frozenset({"办公室", "办", "部门", "单位", "机关", "党组", "政府", "人民政府"})


@dataclass(frozen=True)
class Match:
    """How a printed label was resolved: ids, and whether a unit is new (with its entry)."""

    label: str
    ids: tuple[str, ...]
    new: dict | None = None  # the catalogue entry of a new unit
    suggestion: str | None = None  # id of the closest known unit, for a new one
    group: bool = False  # 各乡镇, 各有关部门: a group label, kept as one unit


def _key(name: str) -> str:
    return unicodedata.normalize("NFKC", name).strip()


def derive_names(label: str) -> list[str]:
    """The label and the forms people use for it: 县委组织部 → 县委组织部, 组织部, 组织部门."""
    label = _key(label)
    names = [label]
    bare = re.sub(r"\([^()]*\)$", "", label)  # 县委办公室(县委督查室) → 县委办公室
    if bare != label and len(bare) >= 2:
        names.append(bare)
        label = bare
    if label.startswith("各") and len(label) > 3:
        names.append(label[1:])  # 各有关部门 → 有关部门
    short = PREFIX_RE.sub("", label, count=1)
    if short != label and short not in GENERIC:
        names.append(short)
    for name in names[-1:]:
        if name.endswith("办公室") and len(name) > 4:
            names.append(name[: -len("办公室")] + "办")
        if name.endswith("部") and not name.endswith("党组"):
            names.append(name + "门")
        elif name.endswith("局") and len(name) >= 3:
            names.append(name[:-1] + "部门")
    seen: dict[str, None] = {}
    for name in names:
        seen.setdefault(name, None)
    return list(seen)


def unit_id_for(label: str) -> str:
    return "auto_" + hashlib.sha1(_key(label).encode("utf-8")).hexdigest()[:8]


class Resolver:
    """Resolves printed labels against one catalogue (exact names, then derived forms)."""

    def __init__(self, catalogue: UnitCatalogue):
        self.catalogue = catalogue
        self.index = catalogue.name_index()
        derived: dict[str, set[str]] = {}
        for name, unit_id in self.index.items():
            for form in derive_names(name)[1:]:
                derived.setdefault(form, set()).add(unit_id)
        # A derived form that points at two units (县委办 / 政府办 → 办) is no evidence.
        self.derived = {form: next(iter(ids)) for form, ids in derived.items() if len(ids) == 1}

    def match(self, label: str) -> Match:
        exact = self.catalogue.resolve_label(label)
        if exact:
            return Match(label, exact)
        names = derive_names(label)
        for name in names[1:]:
            if name in self.index:
                return Match(label, (self.index[name],))
        for name in names:
            if name in self.derived:
                return Match(label, (self.derived[name],))
        aliases = [name for name in names[1:] if name not in self.index and name not in self.derived]
        entry = {
            "id": unit_id_for(label),
            "short": _key(label),
            "full": _key(label),
            "aliases": aliases,
            "member_of": [],
        }
        return Match(
            label,
            (entry["id"],),
            new=entry,
            suggestion=suggest(self.catalogue, label),
            group=bool(GROUP_RE.match(_key(label))),
        )


def suggest(catalogue: UnitCatalogue, label: str) -> str | None:
    """The known unit whose name is closest to ``label`` (score ≥ 80), or None."""
    choices = {f"{unit.id}\t{name}": name for unit in catalogue.units.values() for name in unit.names}
    short = derive_names(label)[-1]
    found = process.extractOne(short, choices, scorer=fuzz.ratio, score_cutoff=SUGGEST_SCORE)
    return found[2].split("\t", 1)[0] if found else None
