"""A task number as people type it after a command: 33, ３３, （33）, 第33条, #33, 第三十三项.

The digits go through the shared number parser (bot/numbers.py: ASCII and full-width digits only);
Chinese numerals are read after 第 or 任务 only (第三十三条), as in questions. The valid range is the
plan's own: 1 to the number of tasks it has.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.numbers import NumberError, digits_of, looks_numeric, read_number, shown
from bot.plan.model import Plan
from bot.plan.parse import CN_DIGITS, cn_to_int

_CN = "".join(CN_DIGITS) + "十百"
_SEPARATORS = r"\s（()）#第项条項條:：,，、.．。;；!！?？"
# A task number at the start of a text: "第三十三条" or "#33" / "（33）" / "第33项" / "33"; ``rest`` follows.
_LEADING = re.compile(
    rf"(?:#|第|任务)\s*(?P<cn>[{_CN}]{{1,6}})\s*[项条項條]?"
    rf"|(?:#|第|任务)?\s*[（(]?\s*(?P<digits>[^{_SEPARATORS}\u3400-\u9fff]+)\s*[)）]?\s*[项条項條]?"
)
_AFTER = re.compile(r"\s*[:：,，、.．]?\s*(?P<rest>.*)", re.DOTALL)


@dataclass(frozen=True)
class TaskArgument:
    """A task number written at the start of a command's arguments, and what follows it."""

    number: int
    rest: str


def task_count(plan: Plan) -> int:
    return len(plan.tasks)


def _number(match: re.Match, plan: Plan, usage: str) -> int:
    count = task_count(plan)
    written = match["cn"] or match["digits"]
    if match["cn"]:
        value = cn_to_int(written)
    elif digits_of(written) is None:
        raise NumberError(f"“{shown(written)}”不是有效的任务编号：任务编号只能用数字 0–9 书写。\n{usage}")
    else:
        value = read_number(written, low=1, high=count)
    if value is None or plan.task(value) is None:
        raise NumberError(
            f"方案共有 {count} 项任务，没有第（{shown(written)}）项，请写 1 到 {count} 之间的编号。\n{usage}"
        )
    return value


def parse_task_number(text: str, plan: Plan, usage: str) -> int:
    """The task number that is all of ``text`` (33, （33）, 第33条, 第三十三项 …), or NumberError with ``usage``."""
    match = _LEADING.fullmatch(text.strip())
    if match is None:
        raise NumberError(
            f"请写一个任务编号。\n{usage}" if not text.strip() else f"“{shown(text)}”不是任务编号。\n{usage}"
        )
    return _number(match, plan, usage)


def split_task_number(text: str, plan: Plan, usage: str) -> TaskArgument | None:
    """A task number at the start of ``text`` and the text after it; None when ``text`` does not
    start with something written as a task number; NumberError when it does but is not one."""
    match = _LEADING.match(text.strip())
    if match is None:
        return None
    rest = _AFTER.fullmatch(text.strip(), match.end())
    return TaskArgument(_number(match, plan, usage), rest["rest"].strip() if rest else "")


def looks_like_task_number(text: str) -> bool:
    """True when ``text`` as a whole is written as a task number, valid or not (33, ²³, 第99条 …)."""
    match = _LEADING.fullmatch(text.strip())
    if match is None:
        return False
    if match["cn"]:
        return True
    return looks_numeric(match["digits"])
