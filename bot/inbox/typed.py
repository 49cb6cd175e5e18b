"""Typed replies: what a member types after a notice or a meeting message, read into an intent.

:func:`classify` reads the words (knowledge/attendance.json ``typed``): 收到 / 好的 (received),
参加 / 准时参加 (attend), 请假 with an optional reason and hints naming the meeting (“18号的协商会
我请假”), 签到 with an optional code, 撤回请假. Anything else, and anything that reads like a
question, is not a typed reply: the question engine answers it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.calendar.meeting_config import MeetingConfig, default_config

_EDGE = " \t\r\n，,。.！!~～…、；;：:🙏👌👍"
_QUESTION = re.compile(r"[?？]|吗|什么|怎么|如何|为什么|哪|谁|几点|多少|是否|能否|能不能|可不可以|要不要")
_DAY = re.compile(r"(\d{1,2})\s*[号日]")
_RELATIVE = {"今天": 0, "明天": 1, "后天": 2}
_KIND_HINTS = {
    "协商": "协商活动",
    "常委会": "常委会会议",
    "全会": "全体会议",
    "全体会议": "全体会议",
    "培训": "培训",
    "视察": "视察调研",
    "调研": "视察调研",
    "组织生活": "组织生活会",
}
_FILLER = re.compile(r"我|俺|本人|想|要|的|会议|会|这次|那个|那次|一下|申请|因为|由于|因|，|,|\s")
_CODE = re.compile(r"签到\s*[:：]?\s*(\d{3,8})")
_MAX_SHORT = 12  # longer messages are not taken as a bare 收到 / 参加


@dataclass(frozen=True)
class Typed:
    intent: str  # received | attend | leave | signin | withdraw
    reason: str | None = None
    day: int | None = None  # day of the month named (“18号”)
    relative_day: int | None = None  # 今天 0 / 明天 1 / 后天 2
    kind: str | None = None  # event kind named (“协商会” → 协商活动)
    code: str | None = None  # 签到码 typed with 签到


def _normal(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip(_EDGE)


def _hints(text: str) -> dict:
    found: dict = {}
    day = _DAY.search(text)
    if day:
        found["day"] = int(day.group(1))
    for word, offset in _RELATIVE.items():
        if word in text:
            found["relative_day"] = offset
    for word, kind in _KIND_HINTS.items():
        if word in text:
            found["kind"] = kind
            break
    return found


def _strip_hints(text: str) -> str:
    text = _DAY.sub("", text)
    for word in (*_RELATIVE, *_KIND_HINTS):
        text = text.replace(word, "")
    return _FILLER.sub("", text)


def _leave(text: str, config: MeetingConfig) -> Typed | None:
    word = next((w for w in sorted(config.typed["leave"], key=len, reverse=True) if w in text), None)
    if word is None:
        return None
    before, _, after = text.partition(word)
    reason = after.strip(_EDGE)
    if not reason:
        rest = _strip_hints(before).strip(_EDGE)
        reason = before.strip(_EDGE) if len(rest) >= 2 else ""
        for prefix in ("因为", "由于", "因"):
            reason = reason.removeprefix(prefix)
    return Typed("leave", reason=reason.strip(_EDGE) or None, **_hints(before))


def classify(text: str, config: MeetingConfig | None = None) -> Typed | None:
    """The intent of a typed reply, or None when the text is something else (a question)."""
    config = config or default_config()
    norm = _normal(text)
    if not norm or _QUESTION.search(norm):
        return None
    if any(word in norm for word in config.typed["withdraw"]):
        return Typed("withdraw")
    code = _CODE.fullmatch(norm)
    if code:
        return Typed("signin", code=code.group(1))
    if norm in config.typed["signin"]:
        return Typed("signin")
    leave = _leave(norm, config)
    if leave is not None:
        return leave
    if len(norm) > _MAX_SHORT or "不" in norm or "没" in norm:
        return None
    bare = norm.replace("，", "").replace(",", "").replace(" ", "")
    if norm in config.typed["attend"] or bare in config.typed["attend"] or bare.endswith(("准时参加", "按时参加")):
        return Typed("attend", **_hints(norm))
    if norm in config.typed["received"] or bare in config.typed["received"]:
        return Typed("received")
    return None
