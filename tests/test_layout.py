"""The architecture as a test: which part of the code may import which.

The rules, stated once (the README's architecture section describes them in words):

* shared modules at the top of `bot/` (config, errors, dates, phone, reply, …) import only
  each other;
* `bot/storage` imports only shared modules and itself: no feature;
* each feature package imports shared modules, storage and the features listed for it in
  FEATURES below, which form a DAG (no cycles between features);
* `bot/services.py` is the composition root of the core and may import every feature;
* the core (all of `bot/` except the command line) never imports `telegram`, `handlers` or
  `scheduler`; only `bot/cli` (the entry point that starts the bot), `handlers/` and
  `scheduler/` do;
* `handlers/` and `scheduler/` never import `bot/cli`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOP_PACKAGES = ("bot", "handlers", "scheduler")

# feature package → the features it may import (besides shared modules and storage)
FEATURES: dict[str, set[str]] = {
    "plan": set(),
    "people": {"plan"},
    "answers": {"plan", "people"},
    "notices": {"plan", "people"},
    "ledger": {"plan", "people", "answers"},
    "calendar": {"plan", "people", "notices", "ledger", "proposals"},
    "proposals": {"plan", "people", "notices"},
    "inbox": {"plan", "people", "notices", "calendar"},
}
COMPOSITION_ROOT = "services"
ENTRY = "cli"
TRANSPORT = ("telegram", "handlers", "scheduler")


@dataclass(frozen=True)
class Violation:
    module: str
    imported: str
    rule: str

    def __str__(self) -> str:
        return f"{self.module} imports {self.imported}: {self.rule}"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(source: str) -> set[str]:
    """Every module named by an import anywhere in the source (functions and TYPE_CHECKING included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "absolute imports only"
            found.add(node.module or "")
            # `from bot import notices` names a module too
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def component(module: str) -> str | None:
    """The part of the architecture a module of ours belongs to; None for third-party modules."""
    parts = module.split(".")
    if parts[0] in ("handlers", "scheduler"):
        return parts[0]
    if parts[0] != "bot":
        return None
    if len(parts) == 1:
        return "shared"
    if parts[1] in FEATURES or parts[1] in ("storage", ENTRY, COMPOSITION_ROOT):
        return parts[1]
    return "shared"


def check(modules: dict[str, str]) -> list[Violation]:
    """Check the import rules over {module name: source}; returns every violation."""
    known = set(modules)
    violations: list[Violation] = []
    for module, source in sorted(modules.items()):
        own = component(module)
        for imported in sorted(imports_of(source)):
            top = imported.split(".")[0]
            if top in TRANSPORT:
                if own not in (ENTRY, "handlers", "scheduler"):
                    violations.append(Violation(module, imported, "the core never imports the transport"))
                continue
            if imported not in known:
                continue  # third-party, or `from bot.x import name` naming a function rather than a module
            other = component(imported)
            if other == own or other == "shared":
                continue
            if own == "shared":
                violations.append(Violation(module, imported, "shared modules import only each other"))
            elif own == "storage":
                violations.append(Violation(module, imported, "storage imports no feature"))
            elif own in FEATURES:
                if other == "storage" or other in FEATURES[own]:
                    continue
                violations.append(Violation(module, imported, f"feature {own} may import only {sorted(FEATURES[own])}"))
            elif own == COMPOSITION_ROOT:
                if other in (ENTRY, "handlers", "scheduler"):
                    violations.append(Violation(module, imported, "services is part of the core"))
            elif own in ("handlers", "scheduler") and other == ENTRY:
                violations.append(Violation(module, imported, "the transport does not import the command line"))
    return violations


def feature_cycles(modules: dict[str, str]) -> list[list[str]]:
    """Cycles in the graph of imports between feature packages, as the code has them."""
    known = set(modules)
    edges: dict[str, set[str]] = {name: set() for name in FEATURES}
    for module, source in modules.items():
        own = component(module)
        if own not in FEATURES:
            continue
        for imported in imports_of(source):
            other = component(imported) if imported in known else None
            if other in FEATURES and other != own:
                edges[own].add(other)
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(edges[node]):
            if nxt in path:
                cycle = path[path.index(nxt) :]
                if min(cycle) == cycle[0]:
                    cycles.append([*cycle, nxt])
            else:
                visit(nxt, [*path, nxt])

    for start in sorted(edges):
        visit(start, [start])
    return cycles


def read_modules(root: Path, packages: Iterable[str] = TOP_PACKAGES) -> dict[str, str]:
    return {
        module_name(path, root): path.read_text(encoding="utf-8")
        for package in packages
        for path in sorted((root / package).rglob("*.py"))
    }


def test_the_code_keeps_the_import_rules():
    violations = check(read_modules(ROOT))
    assert not violations, "\n".join(map(str, violations))


def test_feature_packages_import_each_other_without_cycles():
    assert feature_cycles(read_modules(ROOT)) == []


def test_the_declared_feature_directions_are_a_dag():
    def reaches(start: str, goal: str, seen: frozenset[str] = frozenset()) -> bool:
        return any(nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})) for nxt in FEATURES[start])

    assert not [name for name in FEATURES if reaches(name, name)]


def test_every_feature_package_exists_and_says_what_it_owns():
    for name in FEATURES:
        init = ROOT / "bot" / name / "__init__.py"
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and "Owns" in doc and "May import" in doc, (
            f"{init} needs a docstring saying what it owns and imports"
        )


def _with(modules: dict[str, str], module: str, line: str) -> dict[str, str]:
    changed = dict(modules)
    changed[module] = modules[module] + "\n" + line + "\n"
    return changed


def test_the_checker_catches_a_core_module_importing_telegram():
    modules = read_modules(ROOT)
    for module in ("bot.answers.engine", "bot.storage.core", "bot.config", "bot.services"):
        found = check(_with(modules, module, "import telegram"))
        assert {v.module for v in found} == {module}
        found = check(_with(modules, module, "from handlers.render import send_reply"))
        assert {v.module for v in found} == {module}


def test_the_checker_catches_storage_importing_a_feature_and_a_wrong_direction():
    modules = read_modules(ROOT)
    assert check(_with(modules, "bot.storage.ledger", "from bot.plan.model import Plan"))
    assert check(_with(modules, "bot.plan.model", "from bot.people.roles import Caller"))
    assert check(_with(modules, "bot.config", "from bot.notices import outbox"))


def test_the_cycle_finder_sees_a_cycle_between_two_features():
    modules = _with(read_modules(ROOT), "bot.plan.model", "from bot.people import roles")
    assert ["people", "plan", "people"] in feature_cycles(modules)
