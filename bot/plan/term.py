"""The CPPCC term (届), from knowledge/settings.json, validated at load."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from bot.config import ConfigError, knowledge_dir, read_json
from bot.dates import add_months


@dataclass(frozen=True)
class Term:
    start: date
    end: date  # first day after the term

    def label(self) -> str:
        return f"{self.start.year}—{self.end.year}"


@dataclass(frozen=True)
class TermSettings:
    term_start: date
    term_years: int

    def term_on(self, day: date) -> Term:
        """The term containing ``day`` (terms repeat every term_years from term_start, both ways)."""
        months = self.term_years * 12
        offset = (day.year * 12 + day.month - self.term_start.year * 12 - self.term_start.month) // months
        start = add_months(self.term_start, offset * months)
        if start > day:
            start = add_months(start, -months)
        return Term(start, add_months(start, months))


def load_term_settings(path: Path | str | None = None) -> TermSettings:
    """Read and validate settings.json; raise ConfigError naming the file and the field."""
    path = Path(path) if path else knowledge_dir() / "settings.json"
    data = read_json(path, ConfigError, "设置文件")
    if not isinstance(data, dict) or data.get("version") != 1:
        raise ConfigError(f"{path}: 不支持的 version {data.get('version') if isinstance(data, dict) else None!r}")
    try:
        start = date.fromisoformat(data.get("term_start", ""))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: term_start 应为 YYYY-MM-DD 日期") from exc
    years = data.get("term_years")
    if not isinstance(years, int) or isinstance(years, bool) or not 1 <= years <= 10:
        raise ConfigError(f"{path}: term_years 应为 1 到 10 之间的整数")
    return TermSettings(start, years)


@cache
def default_term_settings() -> TermSettings:
    return load_term_settings()
