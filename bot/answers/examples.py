"""Example questions per task (knowledge/examples.json): a second field of the ranker.

The examples were written from the plan text alone by someone who saw no evaluation set (the
file's header says how). Each task's examples form one BM25 document; a question's example
scores are z-scored over the tasks and blended into the task-text score (weight in
:class:`ExampleIndex`), so a question phrased like the members phrase things finds its task
even when it shares few characters with the plan's wording. The out-of-scope checks stay on
the task text, so the examples cannot make a stranger question look in scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.answers.matching import BM25, Vocabulary, spread
from bot.answers.normalize import normalize
from bot.config import ConfigError, knowledge_dir, read_json
from bot.plan.model import Plan

FILE = "examples.json"


def load_examples(plan: Plan, path: Path | None = None) -> dict[int, tuple[str, ...]]:
    """Task number → its example questions; {} when the file is absent. ConfigError names the entry."""
    path = path or knowledge_dir() / FILE
    if not path.exists():
        return {}
    return parse_examples(read_json(path, ConfigError, "示例问题文件"), plan, str(path))


def parse_examples(data: object, plan: Plan, where: str = FILE) -> dict[int, tuple[str, ...]]:
    """Validated examples; {} when the file names another plan (its "plan" document number)."""
    if isinstance(data, dict) and not for_plan(data, plan):
        return {}
    tasks = data.get("tasks") if isinstance(data, dict) else None
    if not isinstance(tasks, dict):
        raise ConfigError(f"{where}: 缺少 tasks 对象（任务编号 → 例句列表）")
    numbers = {task.number for task in plan.tasks}
    owner: dict[str, int] = {}
    out: dict[int, tuple[str, ...]] = {}
    for key, questions in tasks.items():
        number = int(key) if key.isascii() and key.isdigit() else None
        if number not in numbers:
            raise ConfigError(f"{where} tasks[{key!r}]: 方案中没有这项任务")
        if not isinstance(questions, list) or not all(isinstance(q, str) and q.strip() for q in questions):
            raise ConfigError(f"{where} tasks[{key!r}]: 应为非空字符串列表")
        for question in questions:
            other = owner.setdefault(normalize(question), number)
            if other != number:
                raise ConfigError(f"{where} tasks[{key!r}]: 例句 {question!r} 已列在任务 {other} 下")
        out[number] = tuple(questions)
    return out


def for_plan(data: dict, plan: Plan) -> bool:
    """Plan-bound data applies to the plan its "plan" key names (any plan when it has none)."""
    bound = data.get("plan")
    return bound is None or bound == plan.document.get("doc_number")


@dataclass(frozen=True)
class ExampleIndex:
    """BM25 over each task's examples, z-scored across tasks and scaled for blending."""

    bm25: BM25
    positions: tuple[int, ...]  # index into plan.tasks of each document
    size: int  # number of tasks
    weight: float

    @classmethod
    def build(
        cls, plan: Plan, vocabulary: Vocabulary, examples: dict[int, tuple[str, ...]], weight: float
    ) -> ExampleIndex:
        order = {task.number: index for index, task in enumerate(plan.tasks)}
        positions, docs = [], []
        for number, questions in sorted(examples.items()):
            tokens: list[str] = []
            for question in questions:
                text = vocabulary.strip_question(vocabulary.rewrite(normalize(question)))
                tokens += vocabulary.tokens(text)
            positions.append(order[number])
            docs.append(tokens)
        return cls(BM25(docs), tuple(positions), len(plan.tasks), weight)

    def boosts(self, weighted: list[tuple[str, float]], scale: float) -> list[float]:
        """Per task: weight × z-score of the example score × ``scale`` (the text scores' deviation)."""
        if not self.positions:
            return [0.0] * self.size
        raw = [0.0] * self.size
        for position, score in zip(self.positions, self.bm25.scores(weighted), strict=True):
            raw[position] = score
        mean, deviation = spread(raw)
        if deviation == 0:
            return [0.0] * self.size
        return [self.weight * scale * (value - mean) / deviation for value in raw]
