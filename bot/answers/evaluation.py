"""Accuracy of the engine on a labelled question set (tests/data/questions.jsonl).

A question counts as answered correctly when:
- out_of_scope: no task is cited;
- greeting / duties / task: the intent is right (and for task lookups the task);
- unit: the unit is right and every one of its tasks is listed;
- unit lines may name the unit as printed ({"unit_name": "纪委监委"}) instead of giving its id
  and tasks: the name is resolved through the unit catalogue and the items are all of that
  unit's tasks;
- personal ({"intent": "personal", "route": "progress"}): routed to the asker's own progress,
  proposals or binding step (no plan text);
- topic / numbers: the first cited task is one of the acceptable ones.

Out-of-scope questions that cite a task are also counted on their own (``cited_out_of_scope``);
a task named only as related (``Answer.related``) is not a citation.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bot.answers.engine import Answer, Engine
from bot.plan.model import Plan

STRICT_INTENTS = {"greeting", "duties", "task"}


@dataclass
class Miss:
    line: int
    question: str
    type: str
    expected: str
    got: str


@dataclass
class Report:
    total: int = 0
    correct: int = 0
    by_type: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    misses: list[Miss] = field(default_factory=list)
    cited_out_of_scope: int = 0  # out-of-scope questions answered with a cited task (false citations)
    out_of_scope: int = 0

    def accuracy(self, kind: str | None = None) -> float:
        if kind is None:
            return self.correct / self.total if self.total else 0.0
        ok, n = self.by_type.get(kind, (0, 0))
        return ok / n if n else 0.0

    def render(self) -> str:
        lines = [f"总计 {self.correct}/{self.total} = {self.accuracy():.1%}"]
        for kind in sorted(self.by_type):
            ok, n = self.by_type[kind]
            lines.append(f"  {kind:<14} {ok:>3}/{n:<3} {ok / n:.1%}")
        lines.append(f"范围外问题被引用任务的次数：{self.cited_out_of_scope}（共 {self.out_of_scope} 个范围外问题）")
        if self.misses:
            lines.append("未答对：")
            lines += [f"  第{m.line}行 [{m.type}] {m.question} — 期望 {m.expected}，得到 {m.got}" for m in self.misses]
        return "\n".join(lines)


def load_questions(path: Path) -> list[tuple[int, dict]]:
    questions = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    questions.append((number, json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path} 第{number}行不是有效的 JSON：{exc}") from exc
    return questions


def resolve(item: dict, plan: Plan, line: int = 0) -> dict:
    """The item with a printed unit name turned into the unit's id and all of its tasks."""
    name = item.get("unit_name")
    if name is None:
        return item
    ids = plan.catalogue.resolve_label(name)
    if not ids or len(ids) != 1:
        raise ValueError(f"第{line}行：单位目录中没有“{name}”")
    return {**item, "intent": "unit", "unit": ids[0], "items": plan.tasks_of_unit(ids[0]).all_numbers}


def is_correct(item: dict, answer: Answer) -> bool:
    intent = item["intent"]
    if intent == "out_of_scope":
        return not answer.items
    if intent == "personal":
        return answer.intent == "personal" and answer.route == item["route"]
    if intent == "unit":
        return answer.intent == "unit" and answer.unit == item["unit"] and answer.items == sorted(item["items"])
    if intent in STRICT_INTENTS and answer.intent != intent:
        return False
    if not item.get("items"):
        return True
    return bool(answer.items) and answer.items[0] in item["items"]


def evaluate(engine: Engine, questions: list[tuple[int, dict]]) -> Report:
    report = Report()
    for line, raw in questions:
        item = resolve(raw, engine.plan, line)
        answer = engine.answer(item["q"])
        ok = is_correct(item, answer)
        report.total += 1
        report.correct += ok
        report.by_type[item["type"]][0] += ok
        report.by_type[item["type"]][1] += 1
        if item["intent"] == "out_of_scope":
            report.out_of_scope += 1
            report.cited_out_of_scope += bool(answer.items)
        if not ok:
            expected = f"{item['intent']} {item.get('route') or item.get('unit') or item.get('items', [])}"
            got = f"{answer.intent} {answer.route or answer.unit or answer.items[:3]}"
            report.misses.append(Miss(line, item["q"], item["type"], expected, got))
    return report
