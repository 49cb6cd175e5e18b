"""The plan model: loads knowledge/plan.json once and answers structural questions.

Other code never reads plan.json directly; it asks a :class:`Plan`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.config import knowledge_dir, read_json
from bot.plan.responsibility import ROLE_NAMES
from bot.plan.units import CatalogueError, Unit, UnitCatalogue


class PlanError(ValueError):
    """plan.json is missing, corrupt or inconsistent."""


@dataclass(frozen=True)
class TimeLimit:
    text: str | None
    kind: str  # ongoing | deadline | recurring | other | unspecified
    date: str | None


@dataclass(frozen=True)
class Task:
    number: int
    area: int
    group: int
    text: str
    units_printed: tuple[str, ...]
    unit_ids: tuple[str, ...]
    time_limit: TimeLimit
    unit_roles: tuple[str, ...] = ()  # one per printed unit: lead | responsible | support

    @property
    def label(self) -> str:
        """The plan's own citation form, e.g. （33）."""
        return f"（{self.number}）"


@dataclass(frozen=True)
class Heading:
    number: int
    title: str


@dataclass(frozen=True)
class Group(Heading):
    area: int


@dataclass(frozen=True)
class Obligation:
    id: str
    task: int
    binds: str
    what: str
    kind: str  # min_count | min_ratio | time_limit
    period: str | None
    count: int | None
    ratio: float | None
    ratio_text: str | None
    months: int | None
    record_kind: str | None
    quote: str
    note: str | None

    def describe(self) -> str:
        """Plain Chinese, e.g. '每年至少 1 次专题议政性常务委员会会议'."""
        period = {"year": "每年", "quarter": "每季度", "term": "每届", "election": "换届时"}.get(self.period or "", "")
        if self.kind == "min_count":
            return f"{period}至少 {self.count} 次（份/条）{self.what}"
        if self.kind == "min_ratio":
            return f"{period}{self.what}不少于{self.ratio_text}"
        return f"{self.what}：{self.note or ''}".rstrip("：")


@dataclass(frozen=True)
class UnitTasks:
    """Tasks of a unit: its own, plus those it shares as 'one of' a collective unit."""

    unit: Unit
    direct: tuple[Task, ...]
    inherited: tuple[tuple[Unit, tuple[Task, ...]], ...]

    @property
    def all_numbers(self) -> list[int]:
        numbers = {t.number for t in self.direct}
        for _, tasks in self.inherited:
            numbers.update(t.number for t in tasks)
        return sorted(numbers)


def _require(condition: bool, where: str, message: str) -> None:
    if not condition:
        raise PlanError(f"plan.json {where}: {message}")


class Plan:
    """Immutable view of the structured plan."""

    def __init__(self, data: dict, departments: dict | None = None):
        _require(isinstance(data, dict), "", "顶层应为对象")
        _require(data.get("schema") == 1, "schema", f"不支持的版本 {data.get('schema')!r}")
        for key in ("document", "areas", "groups", "tasks", "units", "obligations"):
            _require(key in data, key, "缺少该字段")
        self.data = data
        self.document: dict = data["document"]
        try:
            self.catalogue = UnitCatalogue.from_dict({"units": data["units"], "compounds": data.get("compounds", {})})
        except CatalogueError as exc:
            raise PlanError(f"plan.json units: {exc}") from exc
        if departments is not None:
            # An imported plan that names a county department holds it as a plan unit.
            named = {u["id"] for u in data["units"] if isinstance(u, dict) and u.get("from_departments")}
            if named and isinstance(departments.get("units"), list):
                departments = {
                    **departments,
                    "units": [d for d in departments["units"] if not (isinstance(d, dict) and d.get("id") in named)],
                }
            try:
                self.catalogue = self.catalogue.with_departments(departments)
            except CatalogueError as exc:
                raise PlanError(f"departments.json {exc}") from exc
        self.areas = [self._heading(a, f"areas[{i}]") for i, a in enumerate(data["areas"])]
        self.groups = [
            Group(**self._heading(g, f"groups[{i}]").__dict__, area=g.get("area")) for i, g in enumerate(data["groups"])
        ]
        self.tasks = [self._task(t, f"tasks[{i}]") for i, t in enumerate(data["tasks"])]
        self._tasks = {t.number: t for t in self.tasks}
        _require(
            [t.number for t in self.tasks] == list(range(1, len(self.tasks) + 1)),
            "tasks",
            "任务编号应从 1 起连续",
        )
        self.obligations = [self._obligation(o, f"obligations[{i}]") for i, o in enumerate(data["obligations"])]

    @staticmethod
    def _heading(raw: dict, where: str) -> Heading:
        _require(isinstance(raw, dict), where, "应为对象")
        _require(isinstance(raw.get("number"), int), f"{where}.number", "应为整数")
        _require(isinstance(raw.get("title"), str) and raw["title"], f"{where}.title", "应为非空字符串")
        return Heading(raw["number"], raw["title"])

    def _task(self, raw: dict, where: str) -> Task:
        _require(isinstance(raw, dict), where, "应为对象")
        for key, kind in (("number", int), ("area", int), ("group", int), ("text", str)):
            _require(isinstance(raw.get(key), kind), f"{where}.{key}", f"应为 {kind.__name__}")
        for key in ("units_printed", "unit_ids"):
            value = raw.get(key)
            _require(
                isinstance(value, list) and value and all(isinstance(v, str) for v in value),
                f"{where}.{key}",
                "应为非空字符串列表",
            )
        for unit_id in raw["unit_ids"]:
            _require(unit_id in self.catalogue.units, f"{where}.unit_ids", f"未知单位 {unit_id!r}")
        _require(any(a.number == raw["area"] for a in self.areas), f"{where}.area", "指向不存在的任务大类")
        _require(any(g.number == raw["group"] for g in self.groups), f"{where}.group", "指向不存在的分组")
        limit = raw.get("time_limit")
        _require(isinstance(limit, dict) and "kind" in limit, f"{where}.time_limit", "应为对象")
        roles = raw.get("unit_roles", {label: "responsible" for label in raw["units_printed"]})
        _require(
            isinstance(roles, dict)
            and list(roles) == raw["units_printed"]
            and all(role in ROLE_NAMES for role in roles.values()),
            f"{where}.unit_roles",
            f"应为每个责任单位一个角色（{'、'.join(ROLE_NAMES)}）",
        )
        return Task(
            number=raw["number"],
            area=raw["area"],
            group=raw["group"],
            text=raw["text"],
            units_printed=tuple(raw["units_printed"]),
            unit_ids=tuple(raw["unit_ids"]),
            time_limit=TimeLimit(limit.get("text"), limit["kind"], limit.get("date")),
            unit_roles=tuple(roles.values()),
        )

    def _obligation(self, raw: dict, where: str) -> Obligation:
        _require(isinstance(raw, dict), where, "应为对象")
        for key in ("id", "binds", "what", "kind", "quote"):
            _require(isinstance(raw.get(key), str), f"{where}.{key}", "应为字符串")
        _require(raw.get("task") in self._tasks, f"{where}.task", "指向不存在的任务")
        _require(raw["kind"] in ("min_count", "min_ratio", "time_limit"), f"{where}.kind", "未知类型")
        return Obligation(
            id=raw["id"],
            task=raw["task"],
            binds=raw["binds"],
            what=raw["what"],
            kind=raw["kind"],
            period=raw.get("period"),
            count=raw.get("count"),
            ratio=raw.get("ratio"),
            ratio_text=raw.get("ratio_text"),
            months=raw.get("months"),
            record_kind=raw.get("record_kind"),
            quote=raw["quote"],
            note=raw.get("note"),
        )

    # ---- queries -------------------------------------------------------

    def task(self, number: int) -> Task | None:
        return self._tasks.get(number)

    def area(self, number: int) -> Heading:
        return next(a for a in self.areas if a.number == number)

    def group(self, number: int) -> Group:
        return next(g for g in self.groups if g.number == number)

    def unit(self, unit_id: str) -> Unit:
        return self.catalogue.units[unit_id]

    def units_of_task(self, number: int) -> list[Unit]:
        task = self._tasks[number]
        return [self.unit(unit_id) for unit_id in task.unit_ids]

    def resolve_unit(self, name: str) -> Unit | None:
        """Exact lookup by short name, full name or alias (plan units and county departments)."""
        ids = self.catalogue.resolve_label(name)
        return self.unit(ids[0]) if ids and len(ids) == 1 else None

    def tasks_of_unit(self, unit_id: str) -> UnitTasks:
        unit = self.unit(unit_id)
        direct = tuple(t for t in self.tasks if unit_id in t.unit_ids)
        inherited = tuple(
            (self.unit(parent), tuple(t for t in self.tasks if parent in t.unit_ids and t not in direct))
            for parent in unit.member_of
        )
        return UnitTasks(unit, direct, tuple((p, ts) for p, ts in inherited if ts))

    def obligations_for(self, binds: str | None = None, task: int | None = None) -> list[Obligation]:
        return [o for o in self.obligations if (binds is None or o.binds == binds) and (task is None or o.task == task)]

    def setting(self, obligation_id: str) -> Obligation:
        return next(o for o in self.obligations if o.id == obligation_id)

    def summary(self) -> dict[str, int]:
        return {
            "areas": len(self.areas),
            "groups": len(self.groups),
            "tasks": len(self.tasks),
            "units": len(self.catalogue.plan_units()),
            "obligations": len(self.obligations),
        }


def _read(path: Path) -> dict:
    return read_json(path, PlanError, "方案数据文件")


def load_plan(path: Path | str | None = None, departments: Path | None = None) -> Plan:
    """Load and validate a plan file; raise PlanError with a clear message.

    The county's departments (``departments``, else `departments.json` next to the plan file,
    when present) join the unit catalogue as units the plan does not name.
    """
    path = Path(path) if path else knowledge_dir() / "plan.json"
    data = _read(path)
    departments = departments or path.parent / "departments.json"
    return Plan(data, _read(departments) if departments.exists() else None)


def imported_plan(data: dict) -> Plan:
    """Validate an imported plan's data, with the county's departments of the knowledge directory."""
    departments = knowledge_dir() / "departments.json"
    return Plan(data, _read(departments) if departments.exists() else None)


def load_plan_in_force(db_path: Path | None = None) -> Plan:
    """The plan in force for the database at ``db_path`` (else CPPCC_DB's): the imported plan put
    in force in the plans directory (bot/plan/store.py), else knowledge/plan.json."""
    from bot.plan.store import PlanStore, PlanStoreError

    try:
        path = PlanStore.at(db_path).in_force()
    except PlanStoreError as exc:
        raise PlanError(str(exc)) from exc
    return load_plan(path, departments=knowledge_dir() / "departments.json")


_in_force: list[Plan] = []


def default_plan() -> Plan:
    """The plan in force in this process, loaded once (see :func:`load_plan_in_force`); a running
    bot replaces it with :func:`use_plan` when a secretary puts an imported plan in force."""
    if not _in_force:
        _in_force.append(load_plan_in_force())
    return _in_force[0]


def use_plan(plan: Plan | None) -> None:
    """Make ``plan`` the one :func:`default_plan` returns (None: load it again when next asked)."""
    _in_force.clear()
    if plan is not None:
        _in_force.append(plan)
