"""Settings of the proposals feature (knowledge/proposals.json), validated when loaded."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bot.config import ConfigError, knowledge_dir, read_json

FILE = "proposals.json"
_INTS = (
    "reply_months",
    "reopen_months",
    "cosign_wait_days",
    "draft_days",
    "draft_reminder_days",
    "review_digest_working_days",
    "input_minutes",
    "max_title",
    "max_body",
    "max_attachment_mb",
)


# template → the placeholders it may use (knowledge/proposals.json "templates")
TEMPLATE_FIELDS: dict[str, tuple[str, ...]] = {
    "cosign_invite": ("proposer", "text", "until"),
    "cosign_answer": ("who", "word", "name"),
    "to_review": ("name", "what"),
    "accepted": ("title", "number"),
    "assigned_member": ("number", "title", "units", "due"),
    "assigned_unit": ("role", "due"),
    "rejected": ("title", "reason"),
    "converted": ("title",),
    "returned": ("title", "comment"),
    "reply_member": ("number", "title", "unit", "again", "result", "text"),
    "reopen_unit": ("comment", "due"),
    "opinion_done": ("title", "what"),
    "opinion_not_adopted": ("title", "reason"),
    "instruction": ("title", "text"),
    "draft_reminder": ("kind", "title", "days"),
    "draft_expired": ("kind", "title", "days"),
}


class ProposalConfigError(ConfigError):
    """knowledge/proposals.json is missing or malformed; the message names the file and entry."""


@dataclass(frozen=True)
class ProposalConfig:
    reply_months: int = 3
    reopen_months: int = 1
    cosign_wait_days: int = 3
    draft_days: int = 7
    draft_reminder_days: int = 6
    review_digest_working_days: int = 3
    cosign_counts: bool = False
    input_minutes: int = 120
    max_title: int = 200
    max_body: int = 50000
    max_attachment_mb: int = 20
    attachment_types: tuple[str, ...] = (".docx", ".doc", ".pdf", ".txt", ".wps")
    number_format: str = "{year}-{seq:03d}"
    reject_categories: tuple[str, ...] = ()
    results: tuple[tuple[str, str], ...] = (
        ("A", "已解决或采纳"),
        ("B", "正在解决或列入计划"),
        ("C", "因条件限制留作参考"),
    )
    ratings: tuple[tuple[str, str], ...] = (("1", "满意"), ("2", "基本满意"), ("3", "不满意"))
    templates: tuple[tuple[str, str], ...] = ()

    def text(self, key: str, **values: object) -> str:
        """A message from its template (KeyError for an unknown key: a programming error)."""
        return dict(self.templates)[key].format(**values)

    @property
    def result_labels(self) -> dict[str, str]:
        return dict(self.results)

    @property
    def rating_labels(self) -> dict[str, str]:
        return dict(self.ratings)

    def number(self, year: int, seq: int) -> str:
        return self.number_format.format(year=year, seq=seq)

    @classmethod
    def from_dict(cls, data: dict, source: str = FILE) -> ProposalConfig:
        def fail(where: str, message: str) -> ProposalConfigError:
            return ProposalConfigError(f"{source} {where}: {message}")

        if not isinstance(data, dict):
            raise fail("", "顶层应为对象")
        values: dict = {}
        for key in _INTS:
            value = data.get(key, getattr(cls, key))
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise fail(key, "应为正整数")
            values[key] = value
        if values["draft_reminder_days"] >= values["draft_days"]:
            raise fail("draft_reminder_days", "应小于 draft_days")
        if not isinstance(data.get("cosign_counts", False), bool):
            raise fail("cosign_counts", "应为 true 或 false")
        values["cosign_counts"] = data.get("cosign_counts", False)
        for key in ("attachment_types", "reject_categories"):
            value = data.get(key, list(getattr(cls, key)))
            if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
                raise fail(key, "应为非空字符串列表")
            values[key] = tuple(v.strip().lower() if key == "attachment_types" else v.strip() for v in value)
        for index, category in enumerate(values["reject_categories"]):
            if len(category) > 40:
                raise fail(f"reject_categories[{index}]", "过长（按钮上最多 40 字）")
        number_format = data.get("number_format", cls.number_format)
        try:
            number_format.format(year=2027, seq=1)
        except (AttributeError, KeyError, ValueError, IndexError) as exc:
            raise fail("number_format", f"无效的格式 {number_format!r}") from exc
        values["number_format"] = number_format
        for key, expected in (("results", ("A", "B", "C")), ("ratings", ("1", "2", "3"))):
            value = data.get(key, dict(getattr(cls, key)))
            if not isinstance(value, dict) or tuple(value) != expected:
                raise fail(key, f"应为对象，键依次为 {'、'.join(expected)}")
            if not all(isinstance(v, str) and v.strip() for v in value.values()):
                raise fail(key, "每项应为非空字符串")
            values[key] = tuple(value.items())
        values["templates"] = _templates(data.get("templates"), fail)
        return cls(**values)


def _templates(raw: object, fail) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, dict):
        raise fail("templates", "应为对象")
    missing = [key for key in TEMPLATE_FIELDS if key not in raw]
    if missing:
        raise fail("templates", f"缺少 {'、'.join(missing)}")
    for key, text in raw.items():
        if key not in TEMPLATE_FIELDS:
            raise fail(f"templates.{key}", "未知的模板")
        if not isinstance(text, str) or not text.strip():
            raise fail(f"templates.{key}", "应为非空字符串")
        try:
            text.format(**dict.fromkeys(TEMPLATE_FIELDS[key], "x"))
        except (KeyError, IndexError, ValueError) as exc:
            allowed = "、".join("{" + name + "}" for name in TEMPLATE_FIELDS[key])
            raise fail(f"templates.{key}", f"占位符 {exc} 无效，可用：{allowed}") from exc
    return tuple((key, raw[key]) for key in TEMPLATE_FIELDS)


def load_config(path: Path | str | None = None) -> ProposalConfig:
    path = Path(path) if path else knowledge_dir() / FILE
    data = read_json(path, ProposalConfigError, "提案设置文件")
    return ProposalConfig.from_dict(data, str(path))


@cache
def default_config() -> ProposalConfig:
    return load_config()
