"""Audiences: who a notice or reminder goes to, from words a secretary types.

    spec text ──parse_audience()──▶ Audience (JSON-serialisable) ──resolve()──▶ [Recipient]

A spec is one or more words joined by ``+ , ， 、 ;``: fixed words (全体委员, 常委, 联络员,
秘书, 所有人 — see the ``audience`` section of knowledge/notices.json), a 专委会 / 界别 /
乡镇街道 value from the members roster, or a unit from the plan's catalogue (its unit
contacts; a collective unit such as 县直有关部门 includes its member units). Words are
matched exactly first, then with rapidfuzz against the distinct roster values and the unit
names; nothing found or more than one candidate is an :class:`AudienceError` with a clear
message. A ``专委会:`` / ``界别:`` / ``乡镇:`` / ``单位:`` prefix restricts the match.
Combinations are unions.

Only people bound to a Telegram account can be reached: :func:`resolve` returns everyone,
with ``chat_id=None`` for the unbound, so previews and reports can list them.
"""

from __future__ import annotations

import dataclasses
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz

from bot.config import knowledge_dir, read_json
from bot.errors import UserError
from bot.plan.model import Plan, default_plan
from bot.storage import Member, Storage, UnitContact

FIXED_KINDS = ("all_members", "standing", "all_unit_contacts", "secretaries", "all_bound")
VALUE_KINDS = ("committee", "sector", "township", "unit")
KIND_LABELS = {
    "all_members": "全体委员",
    "standing": "常委",
    "all_unit_contacts": "全体单位联络员",
    "secretaries": "政协办秘书",
    "all_bound": "所有已绑定人员",
    "committee": "专委会",
    "sector": "界别",
    "township": "乡镇街道",
    "unit": "单位联络员",
}
_MEMBER_FIELD = {"committee": "committee", "sector": "sector", "township": "township"}


class AudienceError(UserError, ValueError):
    """The spec cannot be understood; ``message`` is Simplified Chinese for the user."""


# ---- vocabulary (knowledge/notices.json, "audience") ------------------------------------


@dataclass(frozen=True)
class Vocabulary:
    words: dict[str, tuple[str, ...]]  # fixed kind → words
    prefixes: dict[str, tuple[str, ...]]  # value kind → prefixes
    separators: str
    abbreviations: dict[str, str]
    min_score: float
    margin: float
    committees: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)  # short name → its names

    @classmethod
    def from_dict(cls, data: Any, where: str = "notices.json audience") -> Vocabulary:
        def fail(field: str, problem: str) -> AudienceError:
            return AudienceError(f"{where}.{field}: {problem}")

        def strings(value: Any, field: str) -> tuple[str, ...]:
            if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
                raise fail(field, "应为非空字符串列表")
            return tuple(_norm(v) for v in value)

        if not isinstance(data, dict):
            raise AudienceError(f"{where}: 应为对象")
        words = {kind: strings(data.get(kind), kind) for kind in FIXED_KINDS}
        prefixes_raw = data.get("prefixes")
        if not isinstance(prefixes_raw, dict) or set(prefixes_raw) != set(VALUE_KINDS):
            raise fail("prefixes", f"应为对象，且恰好包含 {', '.join(VALUE_KINDS)}")
        prefixes = {kind: strings(prefixes_raw[kind], f"prefixes.{kind}") for kind in VALUE_KINDS}
        separators = data.get("separators")
        if not isinstance(separators, str) or not separators:
            raise fail("separators", "应为非空字符串")
        abbreviations = data.get("abbreviations", {})
        if not isinstance(abbreviations, dict) or not all(
            isinstance(k, str) and k and isinstance(v, str) for k, v in abbreviations.items()
        ):
            raise fail("abbreviations", "应为字符串到字符串的对象")
        numbers = {}
        for field in ("min_score", "margin"):
            value = data.get(field)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
                raise fail(field, "应为 0 到 100 之间的数")
            numbers[field] = float(value)
        seen: dict[str, str] = {}
        for kind, items in words.items():
            for word in items:
                if seen.setdefault(word, kind) != kind:
                    raise fail(kind, f"“{word}”同时出现在 {seen[word]} 和 {kind}")
        committees = data.get("committees", {})
        if not isinstance(committees, dict) or not all(
            isinstance(short, str)
            and short.strip()
            and isinstance(names, list)
            and all(isinstance(n, str) for n in names)
            for short, names in committees.items()
        ):
            raise fail("committees", "应为 简称 → 全称列表 的对象")
        committee_names = {short: tuple(_norm(name) for name in [short, *names]) for short, names in committees.items()}
        return cls(words, prefixes, separators, dict(abbreviations), **numbers, committees=committee_names)


@cache
def default_vocabulary() -> Vocabulary:
    return load_vocabulary(knowledge_dir() / "notices.json")


def load_vocabulary(path: Path) -> Vocabulary:
    data = read_json(path, AudienceError, "通知配置文件")
    return Vocabulary.from_dict(data.get("audience") if isinstance(data, dict) else None, f"{path} audience")


# ---- the model ----------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    kind: str  # one of FIXED_KINDS or VALUE_KINDS
    value: str | None = None  # roster value, or unit id for "unit"

    def __post_init__(self) -> None:
        if self.kind in FIXED_KINDS and self.value is not None:
            raise ValueError(f"{self.kind} takes no value")
        if self.kind in VALUE_KINDS and not self.value:
            raise ValueError(f"{self.kind} needs a value")
        if self.kind not in FIXED_KINDS + VALUE_KINDS:
            raise ValueError(f"unknown audience kind {self.kind!r}")

    def label(self, plan: Plan | None = None) -> str:
        if self.kind in FIXED_KINDS:
            return KIND_LABELS[self.kind]
        if self.kind == "unit":
            unit = (plan or default_plan()).catalogue.units.get(self.value)
            return f"{unit.short if unit else self.value}联络员"
        return f"{KIND_LABELS[self.kind]}“{self.value}”"


@dataclass(frozen=True)
class Audience:
    """A union of terms, in the order written."""

    terms: tuple[Term, ...]

    def label(self, plan: Plan | None = None) -> str:
        return " + ".join(term.label(plan) for term in self.terms)

    def to_json(self) -> str:
        return json.dumps([[t.kind, t.value] for t in self.terms], ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Audience:
        return cls(tuple(Term(kind, value) for kind, value in json.loads(text)))


@dataclass(frozen=True)
class Recipient:
    kind: str  # "member" | "unit_contact" | "secretary"
    person_id: int  # the Telegram id for a secretary who is not on a roster
    name: str
    chat_id: int | None  # None: no Telegram binding, cannot be reached

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.person_id}"


# ---- parsing --------------------------------------------------------------------------


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or "")).lower()


@dataclass(frozen=True)
class _Candidate:
    term: Term
    name: str  # as shown to the user


def _abbreviate(text: str, vocabulary: Vocabulary) -> str:
    for long, short in vocabulary.abbreviations.items():
        text = text.replace(_norm(long), _norm(short))
    return text


def _candidates(storage: Storage, plan: Plan) -> dict[str, list[tuple[str, _Candidate]]]:
    """Value kind → (name, candidate) for every distinct roster value and every unit name."""
    found: dict[str, dict[tuple[str, str], _Candidate]] = {kind: {} for kind in VALUE_KINDS}
    for member in storage.people("member", active=True):
        for kind, attribute in _MEMBER_FIELD.items():
            value = (getattr(member, attribute) or "").strip()
            if value:
                found[kind][(value, value)] = _Candidate(Term(kind, value), value)
    for unit in plan.catalogue.units.values():
        for name in unit.names:
            found["unit"][(name, unit.id)] = _Candidate(Term("unit", unit.id), unit.short)
    return {kind: [(name, c) for (name, _), c in entries.items()] for kind, entries in found.items()}


def _describe(candidates: Iterable[_Candidate], plan: Plan) -> str:
    return "、".join(c.term.label(plan) for c in candidates)


def _match_word(
    word: str,
    kinds: tuple[str, ...],
    candidates: dict[str, list[tuple[str, _Candidate]]],
    vocabulary: Vocabulary,
    plan: Plan,
) -> list[Term]:
    key = _abbreviate(_norm(word), vocabulary)
    pool = [(name, c) for kind in kinds for name, c in candidates[kind]]
    exact = {c.term: c for name, c in pool if _abbreviate(_norm(name), vocabulary) == key}
    if len(exact) == 1:
        return [next(iter(exact))]
    if len(exact) > 1:
        raise AudienceError(_ambiguous(word, exact.values(), plan))
    best: dict[Term, tuple[float, _Candidate]] = {}
    for name, c in pool:
        score = fuzz.ratio(key, _abbreviate(_norm(name), vocabulary))
        if score > best.get(c.term, (-1.0, c))[0]:
            best[c.term] = (score, c)
    ranked = sorted(best.values(), key=lambda item: -item[0])
    if not ranked or ranked[0][0] < vocabulary.min_score:
        near = [c for score, c in ranked[:3] if score >= vocabulary.min_score * 0.6]
        hint = f"您是不是想找：{_describe(near, plan)}？" if near else ""
        raise AudienceError(
            f"没有找到与“{word}”对应的通知对象。{hint}"
            "可以写：全体委员、常委、某个专委会/界别/乡镇街道（按委员名册）、某个单位的联络员、秘书、所有人，"
            "多个对象用“+”连接，例如“常委+经济委”。"
        )
    top = ranked[0][0]
    close = [c for score, c in ranked if score >= vocabulary.min_score and top - score < vocabulary.margin]
    if len(close) > 1:
        raise AudienceError(_ambiguous(word, close, plan))
    return [close[0].term]


def _ambiguous(word: str, candidates: Iterable[_Candidate], plan: Plan) -> str:
    return (
        f"“{word}”可能指多个对象：{_describe(candidates, plan)}。"
        "请写得更具体，或加上类别，例如“专委会:提案委”“界别:经济界”“乡镇:习岗镇”“单位:财政局”。"
    )


def _committee_terms(word: str, storage: Storage, vocabulary: Vocabulary) -> list[Term] | None:
    """A committee's short or full name from the data (文史委, 社法委, 提案委 …) → the roster's
    committee values that name it; None when the word is no committee's name. A committee name
    means the committee's members, never the unit contacts of a unit with the same name."""
    key = _norm(word)
    for short, forms in vocabulary.committees.items():
        if key in forms:
            values = sorted(
                {m.committee.strip() for m in storage.people("member", active=True) if m.committee} - {""},
            )
            found = [Term("committee", value) for value in values if _norm(value) in forms]
            if not found:
                raise AudienceError(
                    f"委员名册的“专委会”一栏中没有{short}的委员。如要通知同名单位的联络员，请写“单位:{word}”。"
                )
            return found
    return None


_TRAILING = re.compile(r"[：:，,、;；\s]+$")


def parse_audience(
    spec: str, storage: Storage, *, plan: Plan | None = None, vocabulary: Vocabulary | None = None
) -> Audience:
    """Turn what a secretary typed into an Audience, or raise AudienceError. A trailing colon or
    comma (“全体委员：”) is ignored."""
    plan = plan or default_plan()
    vocabulary = vocabulary or default_vocabulary()
    pattern = "[" + re.escape(vocabulary.separators) + r"\s]+"
    spec = unicodedata.normalize("NFKC", spec or "").strip()
    trimmed = _TRAILING.sub("", spec)
    last = re.split(pattern, trimmed)[-1] if trimmed else ""
    if not any(_norm(last) in prefixes for prefixes in vocabulary.prefixes.values()):  # “界别:” lacks its name
        spec = trimmed
    words = [w for w in re.split(pattern, spec) if w]
    if not words:
        raise AudienceError("请写明通知对象，例如：全体委员、常委、经济委、习岗镇、财政局，多个对象用“+”连接。")
    fixed = {word: kind for kind, items in vocabulary.words.items() for word in items}
    candidates: dict[str, list[tuple[str, _Candidate]]] | None = None
    terms: list[Term] = []
    for word in words:
        norm = _norm(word)
        if norm in fixed:
            terms.append(Term(fixed[norm]))
            continue
        kinds, bare = VALUE_KINDS, word
        head, colon, rest = re.sub("[：:]", ":", word).partition(":")
        if colon:
            kinds = tuple(kind for kind in VALUE_KINDS if _norm(head) in vocabulary.prefixes[kind])
            if not kinds:
                raise AudienceError(f"不认识类别“{head}”：可以用 专委会、界别、乡镇、单位。")
            bare = rest
            if not bare.strip():
                raise AudienceError(f"“{word}”缺少名称，例如“{head}:经济委”。")
        committees = _committee_terms(bare, storage, vocabulary) if "committee" in kinds else None
        if committees is not None:
            terms.extend(committees)
            continue
        if candidates is None:
            candidates = _candidates(storage, plan)
        terms.extend(_match_word(bare, kinds, candidates, vocabulary, plan))
    return Audience(tuple(dict.fromkeys(terms)))


def split_audience(text: str, storage: Storage, *, plan: Plan | None = None) -> tuple[str, str]:
    """`/notice` arguments → (audience, notice text): “常委 明天开会”, “全体委员：明天上午9点开会”,
    “常委，经济委，明天开会” (the longest start that names an audience, up to a colon or comma)."""
    match = re.match(r"\s*(\S+)", text or "")
    if not match:
        return "", ""
    first, after = match.group(1), text[match.end() :]
    if _parses(first, storage, plan):
        return first, after.strip()
    best: tuple[str, str] | None = None
    for boundary in re.finditer(r"[：:，,]", first):
        left, right = first[: boundary.start()], first[boundary.end() :]
        if left and right and _parses(left, storage, plan):
            best = (left, right)
    if best is None:
        return first, after.strip()
    return best[0], (best[1] + after).strip()


def _parses(spec: str, storage: Storage, plan: Plan | None) -> bool:
    try:
        parse_audience(spec, storage, plan=plan)
    except AudienceError:
        return False
    return True


# ---- resolving -----------------------------------------------------------------------


def _unit_ids(term: Term, plan: Plan) -> set[str]:
    ids = {term.value}
    ids.update(unit.id for unit in plan.catalogue.members(term.value))
    return ids


def resolve(
    storage: Storage,
    audience: Audience,
    *,
    admin_ids: Iterable[int] = (),
    plan: Plan | None = None,
) -> list[Recipient]:
    """Everyone the audience names (active people only), each once, in the order of the
    terms; people without a binding have ``chat_id=None``. A chat appears at most once."""
    plan = plan or default_plan()
    members: list[Member] = storage.people("member", active=True)
    contacts: list[UnitContact] = storage.people("unit_contact", active=True)
    chats = {kind: storage.chat_ids_of(kind) for kind in ("member", "unit_contact")}
    found: dict[str, Recipient] = {}

    def add(kind: str, person_id: int, name: str, chat_id: int | None) -> None:
        found.setdefault(f"{kind}:{person_id}", Recipient(kind, person_id, name, chat_id))

    for term in audience.terms:
        if term.kind in ("all_members", "standing", "committee", "sector", "township", "all_bound"):
            for m in members:
                chosen = (
                    term.kind == "all_members"
                    or (term.kind == "standing" and m.is_standing)
                    or (
                        term.kind in _MEMBER_FIELD
                        and (getattr(m, _MEMBER_FIELD[term.kind]) or "").strip() == term.value
                    )
                    or (term.kind == "all_bound" and m.id in chats["member"])
                )
                if chosen:
                    add("member", m.id, m.name, chats["member"].get(m.id))
        if term.kind in ("all_unit_contacts", "unit", "all_bound"):
            ids = _unit_ids(term, plan) if term.kind == "unit" else None
            for c in contacts:
                chosen = (
                    term.kind == "all_unit_contacts"
                    or (ids is not None and c.unit_id in ids)
                    or (term.kind == "all_bound" and c.id in chats["unit_contact"])
                )
                if chosen:
                    add("unit_contact", c.id, c.name, chats["unit_contact"].get(c.id))
        if term.kind == "secretaries":
            for telegram_id in sorted(set(admin_ids) | {a.telegram_id for a in storage.admins()}):
                add("secretary", telegram_id, _secretary_name(storage, telegram_id), telegram_id)
    unique: list[Recipient] = []
    chats_seen: set[int] = set()
    for recipient in found.values():
        if recipient.chat_id is not None:
            if recipient.chat_id in chats_seen:
                continue
            chats_seen.add(recipient.chat_id)
        unique.append(recipient)
    return unique


def includes(
    storage: Storage,
    audience: Audience,
    key: str,
    *,
    admin_ids: Iterable[int] = (),
    plan: Plan | None = None,
) -> Recipient | None:
    """The one person ``key`` ("member:3", "unit_contact:4", "secretary:<telegram id>") if the
    audience names them (as :func:`resolve` would), else None; without resolving everyone."""
    kind, _, number = key.partition(":")
    if kind == "secretary":
        telegram_id = int(number)
        named = any(t.kind == "secretaries" for t in audience.terms)
        if named and telegram_id in set(admin_ids) | {a.telegram_id for a in storage.admins()}:
            return Recipient("secretary", telegram_id, _secretary_name(storage, telegram_id), telegram_id)
        return None
    person = storage.person(kind, int(number)) if kind in ("member", "unit_contact") else None
    if person is None or not person.active:
        return None
    binding = storage.binding_of_person(kind, person.id)
    chat = binding.telegram_id if binding else None
    for term in audience.terms:
        if kind == "member":
            chosen = (
                term.kind == "all_members"
                or (term.kind == "standing" and person.is_standing)
                or (
                    term.kind in _MEMBER_FIELD
                    and (getattr(person, _MEMBER_FIELD[term.kind]) or "").strip() == term.value
                )
                or (term.kind == "all_bound" and chat is not None)
            )
        else:
            chosen = (
                term.kind == "all_unit_contacts"
                or (term.kind == "unit" and person.unit_id in _unit_ids(term, plan or default_plan()))
                or (term.kind == "all_bound" and chat is not None)
            )
        if chosen:
            return Recipient(kind, person.id, person.name, chat)
    return None


def _field(member: Member, term: Term) -> str:
    return (getattr(member, _MEMBER_FIELD[term.kind]) or "").strip()


def _secretary_name(storage: Storage, telegram_id: int) -> str:
    binding = storage.binding(telegram_id)
    person = storage.person(binding.person_kind, binding.person_id) if binding else None
    return person.name if person else f"秘书（{telegram_id}）"


def reachable(recipients: Iterable[Recipient]) -> list[Recipient]:
    return [r for r in recipients if r.chat_id is not None]


def unbound(recipients: Iterable[Recipient]) -> list[Recipient]:
    return [r for r in recipients if r.chat_id is None]
