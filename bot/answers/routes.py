"""Questions that are not about the plan's text: about the asker, or beyond what the plan says.

Both read their cue phrases from knowledge/intents.json (validated when loaded, one-line errors
naming the file and the entry):

* :class:`PersonalCues` — “我的履职情况”, “我的提案办得怎么样了”, “验证身份”: a route to the
  member's own progress, their proposals, or the binding step;
* :class:`ScopeTopics` — named persons, phone numbers, money amounts, dates of meetings,
  procedures and other bodies: the plan does not say, so the answer never cites a task.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.config import ConfigError

PROGRESS, PROPOSALS, BINDING = "progress", "proposals", "binding"
BEST = "best"  # ScopeTopic.related: the best-ranked task
PERSONAL_KEYS = ("personal_owner", "personal_topic", "personal_strong", "personal_proposals", "binding", "personal_not")
PERSONAL_KEYS += ("personal_self_check",)
PERSONAL_KEYS += ("personal_items", "binding_not", "personal_count")
OWNER_KEYS = ("personal_pronouns", "personal_that", "personal_submitted")
TALLY_KEYS = ("personal_pronouns", "personal_did", "personal_not_done")
OWNER_GAP = 6  # characters allowed between 我 and 提的 (去年, 前阵子, 上个月 …)


def _phrases(value: object, where: str) -> re.Pattern[str]:
    """A list of cue phrases as one pattern (one search instead of a loop per phrase)."""
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: 应为非空字符串列表")
    return re.compile("|".join(re.escape(v.strip().lower()) for v in value))


NOTHING = re.compile(r"(?!)")  # matches nothing
_PLURAL = re.compile("我们|俺们|咱们")


def _has(norm: str, phrases: re.Pattern[str]) -> bool:
    return phrases.search(norm) is not None


def _within(characters: int) -> str:
    """At most ``characters`` characters of the same clause (no punctuation between)."""
    return rf"[^,，。;；?？!！]{{0,{characters}}}?"


def _singular(pattern: str) -> str:
    """``pattern`` not followed by 们: 我, 俺 speak for the asker, 我们 for a unit or all members."""
    return rf"(?:{pattern})(?!们)"


def _owned(data: dict, where: str) -> re.Pattern[str]:
    """A particular item of the asker's: 我那条, 俺那个 (a pronoun and a demonstrative), or 我去年交的,
    俺前阵子提的 (a pronoun, at most OWNER_GAP characters, a verb of handing in and 的); not 我们."""
    pronoun, that, submitted = (_phrases(data.get(key), f"{where} {key}").pattern for key in OWNER_KEYS)
    gap = _within(OWNER_GAP)
    return re.compile(rf"{_singular(pronoun)}(?:(?:{that})|{gap}(?:{submitted}))")


def _tally(data: dict, where: str) -> re.Pattern[str]:
    """The asker counting their own record: 我今年交了几条, 今年我去过几回 (a pronoun, at most
    OWNER_GAP characters, a personal_did verb and 几/多少), or 我是不是今年一次协商会都没参加 (a pronoun
    and, in the same clause within twice that, a personal_not_done phrase); not 我们."""
    pronoun, did, not_done = (_phrases(data.get(key), f"{where} {key}").pattern for key in TALLY_KEYS)
    gap, clause = _within(OWNER_GAP), _within(2 * OWNER_GAP)
    return re.compile(rf"{_singular(pronoun)}(?:{gap}(?:{did})(?:几|多少)|{clause}(?:{not_done}))")


@dataclass(frozen=True)
class PersonalCues:
    owner: re.Pattern[str]
    topic: re.Pattern[str]
    strong: re.Pattern[str]
    proposals: re.Pattern[str]
    binding: re.Pattern[str]
    rules: re.Pattern[str]  # 标准, 规定 …: a question about the rules, not the asker's record
    self_check: re.Pattern[str]  # 合格, 达标 …: with an owner phrase, the asker judging their own record
    items: re.Pattern[str]  # 提案, 社情民意, 建议 …: what a member hands in
    binding_not: re.Pattern[str]  # app, 密码 …: another system's login, not binding to the assistant
    count: re.Pattern[str]  # 数量, 够不够 …: with an owner phrase, a count of one's record
    owned: re.Pattern[str]  # 我那条, 俺去年交的 …: see _owned
    tally: re.Pattern[str]  # 我今年交了几条, 我是不是一次都没参加 …: see _tally
    self_: re.Pattern[str]  # 我, 俺, 替, 帮老爷子 … not followed by 们: the asker speaks of themself

    @classmethod
    def from_intents(cls, data: dict, where: str = "intents.json") -> PersonalCues:
        phrases = [_phrases(data.get(key), f"{where} {key}") for key in PERSONAL_KEYS]
        self_ = re.compile(_singular(_phrases(data.get("personal_self"), f"{where} personal_self").pattern))
        return cls(*phrases, _owned(data, where), _tally(data, where), self_)

    def speaks_for_self(self, norm: str) -> bool:
        """The asker speaks of themself or for the member whose account it is (我, 俺, 替我妈, 帮老爷子;
        not 我们 for a unit or all members)."""
        return _has(norm, self.self_)

    def asks_rules(self, norm: str) -> bool:
        """标准, 规定, 制度 …: a question about the rules, not about the asker's record."""
        return _has(norm, self.rules)

    def route(self, norm: str) -> str | None:
        """binding | proposals | progress for a question about the asker themself, else None.
        我们, 俺们, 咱们 speak for a unit or all members, not for the asker (看看我们要干的事)."""
        norm = _PLURAL.sub("众", norm)
        if _has(norm, self.binding) and not _has(norm, self.binding_not):
            return BINDING
        owner = _has(norm, self.owner)
        if owner and _has(norm, self.self_check):
            return PROGRESS  # 我这个委员今年算不算合格了: 算不算 asks about the asker's record here
        if _has(norm, self.rules):
            return None
        if _has(norm, self.tally):
            return PROGRESS  # a count of one's own record, even of 社情民意 (看看我今年交了几条社情民意)
        if owner and _has(norm, self.count):
            return PROGRESS  # 查查我今年的社情民意和提案数量够不够
        if (owner or _has(norm, self.owned)) and _has(norm, self.items) and _has(norm, self.proposals):
            return PROPOSALS
        if _has(norm, self.strong) or (owner and _has(norm, self.topic)):
            return PROGRESS
        return None


@dataclass(frozen=True)
class ScopeTopic:
    id: str
    what: str  # completes “方案没有规定…”
    all: tuple[re.Pattern[str], ...]  # one phrase of every list must be present
    unless: re.Pattern[str]
    pointer: str  # where to ask instead
    related: tuple[int, ...] | str  # the task(s) the plan says something related in, or BEST

    def matches(self, norm: str) -> bool:
        return all(_has(norm, group) for group in self.all) and not _has(norm, self.unless)


@dataclass(frozen=True)
class ScopeTopics:
    topics: tuple[ScopeTopic, ...]

    @classmethod
    def from_intents(
        cls, data: dict, task_numbers: set[int], doc_number: str | None = None, where: str = "intents.json"
    ) -> ScopeTopics:
        """``related`` task numbers refer to the plan named by the file's "plan" key; with another
        plan in force they become BEST."""
        other_plan = data.get("plan") not in (None, doc_number)
        raw = data.get("out_of_scope_topics")
        if not isinstance(raw, list):
            raise ConfigError(f"{where} out_of_scope_topics: 应为列表")
        topics = []
        for index, entry in enumerate(raw):
            at = f"{where} out_of_scope_topics[{index}]"
            if not isinstance(entry, dict):
                raise ConfigError(f"{at}: 应为对象")
            for key in ("id", "what", "pointer"):
                if not isinstance(entry.get(key), str) or not entry[key].strip():
                    raise ConfigError(f"{at}.{key}: 缺少或不是非空字符串")
            groups = entry.get("all")
            if not isinstance(groups, list) or not groups:
                raise ConfigError(f"{at}.all: 应为短语列表的列表")
            related = entry.get("related", [])
            if other_plan and isinstance(related, list) and related:
                related = BEST
            if related != BEST and (
                not isinstance(related, list) or not all(isinstance(n, int) and n in task_numbers for n in related)
            ):
                raise ConfigError(f'{at}.related: 应为方案中存在的任务编号列表或 "best"')
            unless = entry.get("unless")
            topics.append(
                ScopeTopic(
                    id=entry["id"],
                    what=entry["what"],
                    all=tuple(_phrases(group, f"{at}.all[{i}]") for i, group in enumerate(groups)),
                    unless=_phrases(unless, f"{at}.unless") if unless is not None else NOTHING,
                    pointer=entry["pointer"],
                    related=related if related == BEST else tuple(related),
                )
            )
        return cls(tuple(topics))

    def find(self, norm: str) -> ScopeTopic | None:
        return next((topic for topic in self.topics if topic.matches(norm)), None)
