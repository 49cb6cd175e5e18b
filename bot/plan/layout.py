"""Numbered items of a plan's text: markers, their nesting and how one line is read.

Markers, outermost first (the usual order of Chinese official documents): 一、 · （一） ·
1. / 1、 · （1） · ① · 一是/二是. An :class:`Item` is one numbered item with the lines that
follow it (continuation text, unit lines, a deadline line); the parser in ``parse`` decides
which items are tasks and which are headings.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from bot.plan.responsibility import Units

CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
CN_NUM = "零〇一二三四五六七八九十百两"
CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"

# (kind, rank, pattern on the NFKC line); the number is group 1, the text group 2.
MARKERS = (
    ("section", 0, re.compile(rf"^([{CN_NUM}]+)、\s*(.+)$")),
    ("paren_cn", 1, re.compile(rf"^\(([{CN_NUM}]+)\)\s*(.+)$")),
    ("arabic", 2, re.compile(r"^(\d{1,3})(?:\.(?!\d)|、)\s*(\S.*)$")),
    ("paren_arabic", 3, re.compile(r"^\((\d{1,3})\)\s*(.*)$")),
    ("circled", 4, re.compile(rf"^([{CIRCLED}])\s*(.+)$")),
    ("shi", 5, re.compile(r"^([一二三四五六七八九十]{1,3})是\s*(\S.*)$")),
)
RANKS = {kind: rank for kind, rank, _ in MARKERS} | {"table_area": 1, "row": 3}
KIND_NAMES = {
    "section": "“一、”",
    "paren_cn": "“（一）”",
    "arabic": "“1.”",
    "paren_arabic": "“（1）”",
    "circled": "“①”",
    "shi": "“一是”",
    "row": "表格行",
    "table_area": "表格分类",
}
INLINE_SHI_RE = re.compile(r"(?:^|(?<=[。；;！!]))\s*([一二三四五六七八九十]{1,3})是(?=\S)")
LIMIT_LINE_RE = re.compile(r"^(?:完成时限|完成时间|时间节点|时限要求|完成期限)\s*[:：]\s*(.*)$")
# Lines naming people, not units (责任领导：王某某): no part of the task, never a unit.
PERSON_LINE_RE = re.compile(
    r"^(?:责任领导|牵头领导|分管领导|包抓领导|联系领导|牵头县领导|县级领导|督办领导|责任人)\s*[:：]"
)


_KEEP_CIRCLED = str.maketrans({ch: chr(0xE000 + i) for i, ch in enumerate(CIRCLED)})
_BACK_CIRCLED = str.maketrans({chr(0xE000 + i): ch for i, ch in enumerate(CIRCLED)})


def norm(line: str) -> str:
    """NFKC (full-width punctuation and digits as ASCII), keeping ① markers (NFKC makes them 1)."""
    return unicodedata.normalize("NFKC", line.translate(_KEEP_CIRCLED)).translate(_BACK_CIRCLED).strip()


def cn_to_int(text: str) -> int:
    """Convert a Chinese numeral up to 999 (一, 十二, 二十三, 四十五, 一百零五) or digits to int."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    total, current = 0, 0
    for ch in text:
        if ch in CN_DIGITS:
            current = CN_DIGITS[ch]
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
        else:
            raise ValueError(f"not a Chinese numeral: {text!r}")
    return total + current


@dataclass(eq=False)
class Item:
    """One numbered item (or table row) and what follows it up to the next one."""

    kind: str
    number: int
    head: str  # printed text on the marker's line, after the marker
    where: str  # “第12行” or “表格第3行”, for messages
    line: int = 0
    more: list[str] = field(default_factory=list)  # continuation lines, printed
    units: Units = field(default_factory=Units)  # from unit lines or table cells
    unit_lines: list[str] = field(default_factory=list)  # the unit lines as printed
    first_is_lead: bool = False
    deadline: str | None = None  # from a 完成时限 line or cell
    has_unit_line: bool = False
    parent: Item | None = None
    children: list[Item] = field(default_factory=list)
    inline: tuple[str, Units, bool] | None = None  # text without its unit parenthesis, units, first-is-lead
    split_from: Item | None = None  # for 一是 segments cut out of a paragraph

    @property
    def rank(self) -> int:
        return RANKS.get(self.kind, 3)

    @property
    def task_text(self) -> str:
        """Printed text of a task: wrapped lines join without a space (Chinese)."""
        return self.head + "".join(self.more)

    @property
    def has_units(self) -> bool:
        return bool(self.units) or self.inline is not None


def match_marker(normalised: str) -> tuple[str, int, str] | None:
    """(kind, number, text after the marker) for a line that starts a numbered item."""
    for kind, _, pattern in MARKERS:
        found = pattern.match(normalised)
        if found:
            number = found.group(1)
            if kind == "circled":
                return kind, CIRCLED.index(number) + 1, found.group(2)
            try:
                return kind, cn_to_int(number), found.group(2)
            except ValueError:
                return None
    return None


def after_marker(raw: str) -> str:
    """Printed text after a leading '(1)', '（一）', '1.', '一、', '①' or '一是' marker."""
    stripped = raw.strip()
    match = re.match(
        rf"^(?:[(（][^)）]{{1,4}}[)）]|[{CN_NUM}]+、|[0-9０-９]{{1,3}}(?:[.．](?![0-9０-９])|、)|[{CIRCLED}]|[{CN_NUM}]{{1,3}}是)\s*",
        stripped,
    )
    return stripped[match.end() :].strip() if match else stripped


def split_inline_shi(text: str) -> tuple[str, list[tuple[int, str]]] | None:
    """'总述。一是甲。二是乙。' → ('总述。', [(1, '一是甲。'), (2, '二是乙。')]) when 一是 is
    followed by 二是; None otherwise."""
    found = list(INLINE_SHI_RE.finditer(text))
    numbers = []
    for match in found:
        try:
            numbers.append(cn_to_int(match.group(1)))
        except ValueError:
            return None
    if len(found) < 2 or numbers[:2] != [1, 2]:
        return None
    segments = []
    for index, match in enumerate(found):
        end = found[index + 1].start() if index + 1 < len(found) else len(text)
        segments.append((numbers[index], text[match.start() : end].strip()))
    return text[: found[0].start()].strip(), segments
