"""Responsible units as plans print them, with the lead (牵头) and co-operating (配合) roles apart.

Units come from a line (“责任单位：…”, “牵头单位：…；配合单位：…”) or from a parenthesis at the
end of the task (“（牵头单位：市委组织部；配合单位：市财政局）”, “（人社部、财政部负责。列第一位者为
牵头单位，下同）”, “（县委宣传部牵头，各乡镇配合）”). Group labels (各乡镇, 各有关部门) stay
one label each. Roles: ``lead`` (牵头), ``support`` (配合/协办/参与), ``responsible`` (责任单位
with no lead named); the lead comes first.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from bot.plan.deadlines import is_deadline_phrase

ROLES = ("lead", "responsible", "support")
ROLE_NAMES = {"lead": "牵头", "responsible": "责任", "support": "配合"}

_LABEL_ROLES = {
    "牵头单位": "lead",
    "牵头部门": "lead",
    "责任单位": "responsible",
    "责任部门": "responsible",
    "主办单位": "responsible",
    "承办单位": "responsible",
    "配合单位": "support",
    "配合部门": "support",
    "协办单位": "support",
    "协助单位": "support",
    "参与单位": "support",
    "参加单位": "support",
    "牵头": "lead",  # “牵头：县委办；配合：县政府办” in a table cell
    "配合": "support",
    "协办": "support",
}
_LABEL = "|".join(sorted(_LABEL_ROLES, key=len, reverse=True))
LINE_RE = re.compile(rf"^(?:{_LABEL})\s*[:：]")
_LABELLED_RE = re.compile(rf"({_LABEL})\s*[:：]\s*")
_SUFFIX_ROLES = (
    ("牵头负责", "lead"),
    ("牵头", "lead"),
    ("负责落实", "responsible"),
    ("具体负责", "responsible"),
    ("负责", "responsible"),
    ("落实", "responsible"),
    ("配合", "support"),
    ("协助", "support"),
    ("协办", "support"),
    ("参与", "support"),
)
_SUFFIX_NOISE = re.compile(r"(按职责分工|按职责|分别|共同|等单位|等部门|等)$")
# “（列第一位的为牵头单位，下同）” closing a unit line: the rule for this task (and later ones).
LEAD_NOTE_RE = re.compile(r"[(（]\s*(?:列第一位|排名第一)(?:的|者)?为牵头单位[^)）]*[)）]")
_MARKED_RE = re.compile(r"[(（](牵头|配合|协办|参与)[)）]$")
_MARKED_ROLES = {"牵头": "lead", "配合": "support", "协办": "support", "参与": "support"}
FIRST_IS_LEAD_RE = re.compile(r"[，,。;；]?\s*(?:列第一位(?:的|者)?为牵头单位|排名第一(?:的|者)?为牵头单位)[^)）]*$")
SPLIT_RE = re.compile(r"[、,，;；/\s]+")
UNIT_SUFFIX_RE = re.compile(
    r"(委|部|局|办|院|会|厅|室|站|所|中心|政府|乡镇|街道|单位|部门|组|队|社|联|团|处|科|馆|银行|司|署|机关|公司|学校|支部|场|园区|管委会|分局|校|政协|科协|人大)$"
)


@dataclass
class Units:
    """Unit labels in print order (lead first) with one role each."""

    labels: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)

    def add(self, label: str, role: str) -> None:
        if label and label not in self.labels:
            self.labels.append(label)
            self.roles.append(role)

    def extend(self, other: Units) -> None:
        for label, role in zip(other.labels, other.roles, strict=True):
            self.add(label, role)

    def ordered(self, first_is_lead: bool = False) -> Units:
        """Lead first; with “列第一位者为牵头单位”, the first of responsible units leads; beside a
        named lead, the other responsible units co-operate; beside co-operating units, the
        responsible ones lead."""
        roles = list(self.roles)
        if first_is_lead and roles and all(role == "responsible" for role in roles):
            roles = ["lead"] + ["support"] * (len(roles) - 1)
        elif "lead" in roles:
            roles = ["support" if role == "responsible" else role for role in roles]
        elif "support" in roles:  # 责任单位 beside 配合单位: the responsible ones lead
            roles = ["lead" if role == "responsible" else role for role in roles]
        pairs = sorted(zip(self.labels, roles, strict=True), key=lambda pair: ROLES.index(pair[1]))
        return Units([label for label, _ in pairs], [role for _, role in pairs])

    def __bool__(self) -> bool:
        return bool(self.labels)


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def split_labels(text: str) -> list[str]:
    """'县委办、政府办；政协办' → labels; trailing 等 and a final 。 dropped."""
    labels = []
    for part in SPLIT_RE.split(text.strip().rstrip("。.")):
        part = part.strip()
        while _SUFFIX_NOISE.search(part):  # 县人社局等按职责分工
            part = _SUFFIX_NOISE.sub("", part)
        if part.startswith("由") and looks_like_unit(part[1:]):  # 由县财政局牵头负责
            part = part[1:]
        if part:
            labels.append(part)
    return labels


def from_line(line: str) -> Units:
    """Units of a line such as “牵头单位：县委办；配合单位：政府办、政协办”, “责任单位：县委宣传部
    （牵头）、县文旅局” or “责任单位：县委宣传部牵头，各乡镇配合”."""
    return read_units(line, default_role="responsible")[0]


def read_units(text: str, default_role: str) -> tuple[Units, bool]:
    """Units of text with 牵头单位：/配合单位：… labels, and whether any role word was used."""
    pieces = _LABELLED_RE.split(text)
    # pieces: [before, label1, value1, label2, value2, ...]
    units, keyworded = parse_units(pieces[0], default_role)
    for index in range(1, len(pieces), 2):
        found, _ = parse_units(pieces[index + 1], _LABEL_ROLES[pieces[index]])
        units.extend(found)
    return units, keyworded or len(pieces) > 1


def parse_units(text: str, default_role: str) -> tuple[Units, bool]:
    """'县委宣传部牵头，各乡镇配合' or '县委宣传部（牵头）、县文旅局' → units with roles, and whether a
    role word was used; a clause that is a deadline (2024年底前完成) is no unit."""
    units = Units()
    keyworded = False
    for clause in re.split(r"[;；。，,]", text):
        clause = clause.strip()
        if not clause or is_deadline_phrase(clause) or clause in ("下同", "下同。"):
            continue
        role = default_role
        for suffix, suffix_role in _SUFFIX_ROLES:
            rest = split_labels(clause[: -len(suffix)]) if clause.endswith(suffix) else []
            # 政协办 ends with 协办: a role word only when what precedes it names a unit.
            if rest and looks_like_unit(rest[-1]):
                clause, role, keyworded = clause[: -len(suffix)], suffix_role, True
                break
        for label in split_labels(clause):
            marked = _MARKED_RE.search(label)
            first, joint, second = label.partition("会同")  # 县委统战部会同县政协办公室负责
            if joint and looks_like_unit(first) and looks_like_unit(second):
                units.add(first, "lead")
                units.add(second, "support")
                keyworded = True
            elif marked and marked.start() > 0:
                units.add(label[: marked.start()], _MARKED_ROLES[marked.group(1)])
                keyworded = True
            else:
                units.add(label, role)
    return units, keyworded


def from_parenthesis(content: str) -> tuple[Units, bool] | None:
    """Units of a closing parenthesis and whether it says “列第一位者为牵头单位”; None when the
    parenthesis is not about units (“（以下简称“两办”）”, “（2023—2025年）”)."""
    text = content.strip()  # labels stay as printed
    first_is_lead = False
    marker = FIRST_IS_LEAD_RE.search(text)
    if marker:
        first_is_lead = True
        text = text[: marker.start()]
    text = re.sub(r"[，,。;；]?\s*下同$", "", text).strip()
    text = split_limit(text)[0]
    units, keyworded = read_units(text, default_role="responsible")
    if not units:
        return None
    unit_like = [looks_like_unit(label) for label in units.labels]
    if not all(unit_like) and not (keyworded and any(unit_like)):
        return None
    return units, first_is_lead


_INLINE_FIELD_RE = re.compile(rf"(?<=[。；;，,\s])(?:{_LABEL})\s*[:：]")
_INLINE_LIMIT_RE = re.compile(r"[。；;，,\s]*(?:完成时限|完成时间|时间节点|时限要求|完成期限)\s*[:：]")


def split_inline_fields(text: str) -> tuple[str, str, str | None] | None:
    """'建立制度。责任单位：县委办；完成时限：2024年底' → ('建立制度。', '责任单位：县委办', '2024年底'):
    unit (and deadline) fields written on the task's own line; None when there are none."""
    found = next((m for m in _INLINE_FIELD_RE.finditer(text) if _depth(text[: m.start()]) == 0), None)
    if not found:
        return None
    fields = text[found.start() :]
    fields, deadline = split_limit(fields)
    return text[: found.start()].rstrip("；;，, "), fields, deadline


def split_limit(text: str) -> tuple[str, str | None]:
    """'县委办牵头；完成时限：2024年6月底' → ('县委办牵头', '2024年6月底')."""
    limit = _INLINE_LIMIT_RE.search(text)
    if not limit:
        return text, None
    return text[: limit.start()], text[limit.end() :].strip().rstrip("。；;") or None


def _depth(text: str) -> int:
    return sum(ch in "(（" for ch in text) - sum(ch in ")）" for ch in text)


def looks_like_unit(label: str) -> bool:
    """A name that ends like a body (…局, …办, …委员会) or a group label (各乡镇, 各有关单位)."""
    norm = re.sub(r"[(（][^()（）]*[)）]$", "", _norm(label))  # 各有关部门（单位）
    return len(norm) <= 30 and (bool(UNIT_SUFFIX_RE.search(norm)) or norm.startswith("各"))


def split_closing_parenthesis(text: str) -> tuple[str, str] | None:
    """('task text without it', 'content') for a text ending with a balanced （…） (a final 。
    may follow it or precede it); None when the text does not end with one."""
    stripped = text.rstrip()
    tail = ""
    while stripped and stripped[-1] in "。.；;，,":
        tail = stripped[-1] + tail
        stripped = stripped[:-1].rstrip()
    if not stripped or stripped[-1] not in ")）":
        return None
    depth = 0
    for index in range(len(stripped) - 1, -1, -1):
        ch = stripped[index]
        if ch in ")）":
            depth += 1
        elif ch in "(（":
            depth -= 1
            if depth == 0:
                body = stripped[:index].rstrip()
                content = stripped[index + 1 : -1]
                if (body and body[-1] in "。.；;") or not tail:
                    return body, content
                return body + ("。" if tail[0] in "；;" else tail[:1]), content  # 一是…（…）；二是…
    return None
