"""Deadlines (完成时限) as plans print them: on their own line, inline in the task, or absent.

A value is classified as ongoing (长期坚持), a deadline with an ISO date (2024年6月底前),
recurring (每年12月底前, 每季度末) or other free text; no value is "unspecified".
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

DEADLINE_RE = re.compile(r"(\d{4})年(?:(\d{1,2})月)?(?:(\d{1,2})日|底|前|末)?")
ONGOING_WORDS = ("长期", "持续", "常态")
RECURRING_RE = re.compile(r"^(每年|每季度|每半年|每月|年内|每届)")

# Inline phrases at the end of a task sentence or inside its closing parenthesis.
_DATE = r"(?:20\d{2}|２０\d{2})年(?:\d{1,2}月)?(?:\d{1,2}日|底|末)?"
INLINE_RE = re.compile(
    rf"(?:于|在|到)?(?P<phrase>{_DATE}(?:前|以前|之前)(?:完成|出台|建成|落实|见效|到位)?"
    rf"|{_DATE}(?:完成|出台|建成|落实|见效|到位)"
    r"|长期坚持|持续推进|长期推进|常态化推进|持续开展"
    r"|每年\d{1,2}月(?:底|末|\d{1,2}日)?(?:前|以前)(?:完成)?|每季度末(?:前)?(?:完成)?|每年年底(?:前)?(?:完成)?)"
    r"[。；;，,]?$"
)


# A deadline opening the task's last clause (“……，2024年6月底前完成培训规划。”, “每年1月底前报市委审定”).
CLAUSE_START_RE = re.compile(
    rf"^(?:于|在|到)?(?P<phrase>{_DATE}(?:前|以前|之前)|每年\d{{1,2}}月(?:底|末|\d{{1,2}}日)?(?:前|以前))"
)


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def parse_time_limit(printed: str | None) -> dict:
    """Classify a 完成时限 value: ongoing, a deadline (with an ISO date), recurring, or free text."""
    if not printed or not printed.strip():
        return {"text": None, "kind": "unspecified", "date": None}
    text = printed.strip()
    norm = _norm(text)
    if any(word in norm for word in ONGOING_WORDS):
        return {"text": text, "kind": "ongoing", "date": None}
    if RECURRING_RE.match(norm):
        return {"text": text, "kind": "recurring", "date": None}
    match = DEADLINE_RE.search(norm)
    if match:
        year = int(match.group(1))
        month = int(match.group(2) or 12)
        day_text = match.group(3)
        if day_text:
            day = int(day_text)
        else:
            next_month = date(year + (month == 12), month % 12 + 1, 1)
            day = (next_month - date(year, month, 1)).days
        try:
            return {"text": text, "kind": "deadline", "date": date(year, month, day).isoformat()}
        except ValueError:
            pass
    return {"text": text, "kind": "other", "date": None}


def is_deadline_phrase(text: str) -> bool:
    """True for a clause that is only a deadline (“2024年6月底前完成”, “长期坚持”)."""
    norm = _norm(text).rstrip("。；;，,")
    match = INLINE_RE.search(norm)
    return bool(match) and match.start() == 0


def deadline_start(text: str) -> int | None:
    """Where the deadline clause ending ``text`` starts (its printed position), or None."""
    norm = unicodedata.normalize("NFKC", text)
    match = INLINE_RE.search(norm.rstrip())
    return match.start() if match and len(norm) == len(text) else None


def inline_deadline(text: str) -> str | None:
    """The deadline phrase a task sentence ends with (“……，2024年6月底前完成。”) or its last clause
    opens with (“……，2024年6月底前完成培训规划。” → 2024年6月底前), or None."""
    norm = _norm(text)
    match = INLINE_RE.search(norm)
    if match:
        return match.group("phrase")
    last = re.split(r"[。；;，,]", norm.rstrip("。；;，, "))[-1].strip()
    match = CLAUSE_START_RE.match(last)
    return match.group("phrase") if match else None
