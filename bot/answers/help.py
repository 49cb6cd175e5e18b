"""Role-aware help and how-to answers, from knowledge/help.json.

/help shows the plan questions everyone can ask, then a section per capacity the caller holds
(guest, member, unit contact, secretary — a secretary who is also a member sees both), each
command with one example. A how-to question (“怎么导入名册”, “怎么发通知”, “怎么请假”) is answered
with the topic's steps: the question is matched after removing punctuation and filler words,
exactly or with rapidfuzz against the topic's phrasings.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz

from bot.answers.matching import VocabularyError
from bot.config import knowledge_dir, read_json

ROLES = ("guest", "member", "unit_contact", "admin")
ROLE_TITLES = {"guest": "尚未验证身份", "member": "政协委员", "unit_contact": "单位联络员", "admin": "政协办秘书"}
_PUNCTUATION = re.compile(r"[\s\W_]+")


class HelpError(VocabularyError):
    """knowledge/help.json is malformed; the message names the file and the entry (a
    VocabularyError, so `cppcc-bot run` stops with that one line)."""


@dataclass(frozen=True)
class Section:
    group: str
    commands: tuple[tuple[str, str], ...]  # (example, what it does)


@dataclass(frozen=True)
class Topic:
    title: str
    questions: tuple[str, ...]
    steps: tuple[str, ...]

    def text(self) -> str:
        steps = "\n".join(f"{index}. {step}" for index, step in enumerate(self.steps, start=1))
        return f"{self.title}：\n{steps}"


@dataclass(frozen=True)
class HelpBook:
    sections: dict[str, tuple[Section, ...]]
    start_lines: dict[str, str]
    topics: tuple[Topic, ...]
    filler: tuple[str, ...]
    min_score: float

    @classmethod
    def from_dict(cls, data: Any, where: str = "help.json") -> HelpBook:
        def fail(entry: str, problem: str) -> HelpError:
            return HelpError(f"{where}: {entry}: {problem}")

        def strings(value: Any, entry: str) -> tuple[str, ...]:
            if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
                raise fail(entry, "应为非空字符串列表")
            return tuple(value)

        if not isinstance(data, dict):
            raise HelpError(f"{where}: 应为对象")
        sections: dict[str, tuple[Section, ...]] = {}
        for role in ROLES:
            found = []
            for index, item in enumerate(data.get("sections", {}).get(role) or []):
                entry = f"sections.{role}[{index}]"
                if not isinstance(item, dict) or not isinstance(item.get("group"), str):
                    raise fail(entry, "需要 group 和 commands")
                commands = item.get("commands")
                if not isinstance(commands, list) or not all(
                    isinstance(c, list) and len(c) == 2 and all(isinstance(x, str) and x for x in c) for c in commands
                ):
                    raise fail(entry, "commands 应为 [示例, 说明] 的列表")
                found.append(Section(item["group"], tuple((c[0], c[1]) for c in commands)))
            if not found:
                raise fail(f"sections.{role}", "缺少")
            sections[role] = tuple(found)
        start = data.get("start")
        if not isinstance(start, dict) or not all(isinstance(start.get(role), str) for role in ROLES):
            raise fail("start", f"应为每种身份（{'、'.join(ROLES)}）一行文字")
        topics = []
        for index, item in enumerate(data.get("topics") or []):
            entry = f"topics[{index}]"
            if not isinstance(item, dict) or not isinstance(item.get("title"), str):
                raise fail(entry, "需要 title、questions 和 steps")
            topics.append(
                Topic(
                    item["title"],
                    strings(item.get("questions"), f"{entry}.questions"),
                    strings(item.get("steps"), f"{entry}.steps"),
                )
            )
        score = data.get("min_score")
        if not isinstance(score, int | float) or not 50 <= score <= 100:
            raise fail("min_score", "应为 50 到 100 之间的数")
        filler = tuple(sorted(strings(data.get("filler"), "filler"), key=len, reverse=True))  # 怎么样 before 怎么
        return cls(sections, {role: start[role] for role in ROLES}, tuple(topics), filler, float(score))

    def help_text(self, capacities: Iterable[str] | None) -> str:
        """The sections for every capacity held (a guest's when none); None: a pointer to them."""
        if capacities is None:
            return "在与我的私聊中发送 /help，可查看您能用的全部命令和示例。"
        held = [role for role in ROLES if role in set(capacities)] or ["guest"]
        blocks = []
        for role in held:
            lines = [f"【{ROLE_TITLES[role]}】"]
            for section in self.sections[role]:
                lines.append(f"{section.group}：")
                lines.extend(f"  {example} — {what}" for example, what in section.commands)
            blocks.append("\n".join(lines))
        blocks.append("也可以问“怎么导入名册”“怎么发通知”“怎么请假”等，我会一步步说明。")
        return "\n\n".join(blocks)

    def start_line(self, capacities: Iterable[str]) -> str:
        held = set(capacities)
        return "\n".join(self.start_lines[role] for role in ROLES if role in held and self.start_lines[role])

    def topic(self, text: str) -> Topic | None:
        """The how-to topic a question asks about, or None."""
        key = self._key(text)
        if not key or len(key) > 20:
            return None
        best: tuple[float, Topic] | None = None
        for topic in self.topics:
            for question in topic.questions:
                candidate = self._key(question)
                if key == candidate:
                    return topic
                score = fuzz.ratio(key, candidate)
                if score >= self.min_score and (best is None or score > best[0]):
                    best = (score, topic)
        return best[1] if best else None

    def _key(self, text: str) -> str:
        key = _PUNCTUATION.sub("", unicodedata.normalize("NFKC", text or ""))
        for word in self.filler:
            key = key.replace(word, "")
        return key


@cache
def default_help() -> HelpBook:
    path = Path(knowledge_dir()) / "help.json"
    data = read_json(path, HelpError, "帮助文件")
    return HelpBook.from_dict(data, str(path))
