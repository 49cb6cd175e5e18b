"""Text normalisation for questions: one canonical form before any matching.

Order: drop control characters → NFKC (full-width digits, letters, brackets)
→ traditional to simplified (OpenCC t2s) → lower case → collapse spaces.
Task numbers are read only in explicit forms (第33条, （33）, 33条, 任务33, a
bare "33"), so fixed phrases such as 八项规定 or 两会一联系 never become task
numbers.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from bot.plan.parse import cn_to_int

_CN = "零〇一二三四五六七八九十百两"
# 第三十三条 / 第33项 / 第 12 — but not 第一次, 第十五届, 第3季度, 第一个题目, 第二章 …
_NOT_TASK_AFTER = "次届年季月天周批名期位轮遍责把时步线个件份篇场点种类页章节号组段回"  # 第一次, 第一个 …
_ORDINAL_RE = re.compile(rf"第\s*([0-9]{{1,3}}|[{_CN}]{{1,4}})\s*(?![{_NOT_TASK_AFTER}0-9{_CN}])")
_PAREN_RE = re.compile(r"\(\s*([0-9]{1,3})\s*\)")
# 33条谁负责 / 36条 — but not 反映1条社情民意 (a count, not a task).
_COUNTED_RE = re.compile(r"(?<![0-9.])([0-9]{1,3})\s*(?:条|项)(?=$|[\s?？。,，!！是说讲谁啥什内的要规呢吗里有归由])")
_TASK_WORD_RE = re.compile(rf"任务\s*([0-9]{{1,3}}|[{_CN}]{{1,4}})(?![0-9{_CN}])")
_BARE_RE = re.compile(r"^\s*#?\s*([0-9]{1,3})\s*[?？。.!！]*\s*$")


@cache
def _t2s():
    import opencc  # deferred: ~20 ms, only when the first question arrives

    return opencc.OpenCC("t2s")


def strip_controls(text: str) -> str:
    """Remove NUL and other control/format characters, keep newlines as spaces."""
    return "".join(" " if ch in "\n\r\t" else ch for ch in text if ch in "\n\r\t" or unicodedata.category(ch)[0] != "C")


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", strip_controls(text))
    text = _t2s().convert(text)
    return re.sub(r"\s+", " ", text).strip().lower()


def extract_task_number(norm: str) -> int | None:
    """A task number stated explicitly in an already-normalised question, else None."""
    for pattern in (_PAREN_RE, _ORDINAL_RE, _TASK_WORD_RE, _COUNTED_RE, _BARE_RE):
        match = pattern.search(norm)
        if match:
            try:
                return cn_to_int(match.group(1))
            except ValueError:
                continue
    return None


def is_meaningless(norm: str) -> bool:
    """True when nothing but punctuation, symbols or emoji is left."""
    return not any(unicodedata.category(ch)[0] in "LN" for ch in norm)
