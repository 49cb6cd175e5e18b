"""Fixture plans in every layout, and another county's knowledge directory (CPPCC_KNOWLEDGE).

The knowledge directory's answer data that names Helan's tasks (example questions, colloquial
unit phrases, out-of-scope topics' related tasks) is written for Helan's plan; a county that
starts from its own plan has none yet. :func:`county_knowledge` copies knowledge/ without it.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from bot.config import knowledge_dir
from tests.plan_tables_support import plan_docx, plan_xlsx

PLANS = Path(__file__).parent / "data" / "plans"
PLAN_BOUND = ("examples.json", "unit_phrases.json")


@dataclass(frozen=True)
class Fixture:
    filename: str
    tasks: int
    task: int  # a task to look up with /item and `ask 第N条`
    snippet: str  # in that task's text
    unit: str  # a printed unit of that task, as people ask for it
    question: str  # a question the plan answers with ``task``

    def data(self) -> bytes:
        if self.filename.endswith(".docx"):
            return plan_docx()
        if self.filename.endswith(".xlsx"):
            return plan_xlsx()
        return (PLANS / self.filename).read_bytes()


FIXTURES = {
    "inline-labelled": Fixture("inline-labelled.txt", 8, 7, "提高党外委员比例", "统战部", "党外委员比例谁负责"),
    "first-listed-lead": Fixture("first-listed-lead.txt", 7, 6, "列入年度财政预算", "财政局", "政协工作经费列入预算"),
    "yishi-paragraphs": Fixture("yishi-paragraphs.txt", 7, 5, "群众来信来访", "县信访局", "群众来信来访谁负责"),
    "flat-lines": Fixture("flat-lines.txt", 6, 3, "委员履职服务平台", "县大数据中心", "委员履职服务平台建设"),
    "three-levels": Fixture("three-levels.txt", 6, 6, "履职积分制度", "政协办", "委员履职积分制度"),
    "task-table-docx": Fixture("任务分工.docx", 6, 5, "委员履职档案", "政协办", "委员履职档案"),
    "task-table-xlsx": Fixture("任务清单.xlsx", 5, 4, "委员联系群众工作站", "各乡镇", "委员联系群众工作站"),
}


def county_knowledge(target: Path) -> Path:
    """A copy of knowledge/ without the answer data bound to Helan's task numbers."""
    shutil.copytree(knowledge_dir(), target)
    for name in PLAN_BOUND:
        (target / name).unlink(missing_ok=True)
    intents = json.loads((target / "intents.json").read_text(encoding="utf-8"))
    for topic in intents.get("out_of_scope_topics", []):
        if isinstance(topic, dict) and isinstance(topic.get("related"), list):
            topic["related"] = "best"
    (target / "intents.json").write_text(json.dumps(intents, ensure_ascii=False), encoding="utf-8")
    return target
