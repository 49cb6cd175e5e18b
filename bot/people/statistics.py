"""Duty statistics for (34): per member the year's counts from every source, attendance, and the lists
the plan asks for (members who met every minimum; members who met none, for 谈话提醒).

Counts come from the records table, which holds every source: self-reported (/record), imported,
entered by secretaries, and the records the assistant links itself (submitted proposals and
社情民意 from the proposals feature, attended meetings and training from the calendar). Attendance
comes from the outcomes written when each meeting closed (attended / approved leave / absent).
An optional points rule (履职积分, the ``points`` section of knowledge/attendance.json, off by
default) ranks members.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from bot.config import ConfigError, knowledge_dir, read_json
from bot.people.duties import LABELS, member_obligations
from bot.people.progress import Requirement, _requirements, _term_for
from bot.plan.model import Plan, default_plan
from bot.plan.term import TermSettings, default_term_settings
from bot.storage import RECORD_KINDS, Member, Storage


class PointsError(ConfigError):
    """The points section of knowledge/attendance.json is malformed (one line naming the entry)."""


@dataclass(frozen=True)
class PointsRule:
    enabled: bool
    per_kind: dict[str, int]
    absent: int  # per absence without approved leave (usually negative)

    def score(self, counts: dict[str, int], absent: int) -> int:
        return sum(self.per_kind.get(kind, 0) * n for kind, n in counts.items()) + self.absent * absent


def points_from_dict(data: Any, where: str = "attendance.json") -> PointsRule:
    points = data.get("points") if isinstance(data, dict) else None
    if not isinstance(points, dict) or not isinstance(points.get("enabled"), bool):
        raise PointsError(f"{where} points.enabled: 应为 true 或 false")
    per_kind = points.get("per_kind")
    if not isinstance(per_kind, dict) or not set(per_kind) <= set(RECORD_KINDS):
        raise PointsError(f"{where} points.per_kind: 应为对象，键为履职记录类型：{'、'.join(RECORD_KINDS)}")
    for key, value in {**per_kind, "absent": points.get("absent")}.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise PointsError(f"{where} points.{key}: 应为整数，实际为 {value!r}")
    return PointsRule(points["enabled"], dict(per_kind), points["absent"])


@cache
def _points_at(path: str) -> PointsRule:
    return points_from_dict(read_json(path, PointsError, "会议出勤配置文件"), path)


def default_points() -> PointsRule:
    """The points rule of knowledge/attendance.json (CPPCC_KNOWLEDGE honoured)."""
    return _points_at(str(knowledge_dir() / "attendance.json"))


@dataclass(frozen=True)
class DutyRow:
    member: Member
    counts: dict[str, int]  # record kind → records dated that year, all sources
    cosigned: int  # proposals of others co-signed (联名), counted apart
    attended: int
    on_leave: int
    absent: int  # without approved leave
    requirements: tuple[Requirement, ...]
    points: int | None

    @property
    def invited(self) -> int:
        return self.attended + self.on_leave + self.absent

    @property
    def rate(self) -> float | None:
        """Attendance rate: attended / meetings the member was invited to (None: none closed)."""
        return self.attended / self.invited if self.invited else None

    @property
    def all_met(self) -> bool:
        return all(r.met for r in self.requirements)

    @property
    def none_met(self) -> bool:
        return not any(r.met for r in self.requirements)


@dataclass(frozen=True)
class DutyStatistics:
    year: int
    rows: list[DutyRow]
    points_on: bool

    @property
    def all_met(self) -> list[DutyRow]:
        return [row for row in self.rows if row.all_met]

    @property
    def none_met(self) -> list[DutyRow]:
        return [row for row in self.rows if row.none_met]


def duty_statistics(
    storage: Storage,
    year: int,
    *,
    committee: str | None = None,
    sector: str | None = None,
    township: str | None = None,
    today: date | None = None,
    plan: Plan | None = None,
    term_settings: TermSettings | None = None,
    points: PointsRule | None = None,
) -> DutyStatistics:
    """Every active member (optionally filtered) for ``year`` (any past year too); by points when
    the rule is on, else by name order of the roster."""
    today = today or storage.today()
    points = points or default_points()
    obligations = member_obligations(plan or default_plan())
    term = _term_for(year, today, term_settings or default_term_settings())
    start, end = date(year, 1, 1), date(year + 1, 1, 1)
    year_counts = storage.record_counts(start, end)
    term_counts = storage.record_counts(term.start, term.end)
    outcomes = storage.outcome_counts(start, end)
    cosigned = _cosigned(storage, start, end)
    wanted = {"committee": committee, "sector": sector, "township": township}
    rows = []
    for member in storage.people("member", active=True):
        if not all(value is None or getattr(member, field) == value for field, value in wanted.items()):
            continue
        counts = year_counts.get(member.id, {})
        seen = outcomes.get(member.id, {})
        absent = seen.get("absent", 0)
        rows.append(
            DutyRow(
                member,
                dict(counts),
                cosigned.get(member.id, 0),
                seen.get("attended", 0),
                seen.get("leave", 0),
                absent,
                _requirements(obligations, counts, term_counts.get(member.id, {})),
                points.score(counts, absent) if points.enabled else None,
            )
        )
    if points.enabled:
        rows.sort(key=lambda row: -row.points)
    return DutyStatistics(year, rows, points.enabled)


def _cosigned(storage: Storage, start: date, end: date) -> dict[int, int]:
    """Co-signed proposals (联名) per member, kept by the proposals feature."""
    return storage.cosigned_counts(start.isoformat(), end.isoformat())


# ---- output ------------------------------------------------------------------------------------------

HEADERS = ["姓名", "界别", "专委会", "乡镇街道"]


def _names(rows: list[DutyRow], limit: int = 80) -> str:
    names = "、".join(row.member.name for row in rows[:limit])
    return (names + (f" 等 {len(rows)} 人" if len(rows) > limit else "")) or "无"


def _rate(row: DutyRow) -> str:
    return "—" if row.rate is None else f"{row.rate:.0%}"


def format_statistics(stats: DutyStatistics, *, limit: int = 60) -> str:
    """The lists first (what (34) asks for), then one line per member."""
    lines = [
        f"{stats.year}年委员履职统计（{len(stats.rows)} 人）",
        f"全部达到最低要求（{len(stats.all_met)} 人）：{_names(stats.all_met)}",
        f"一项也未完成，建议谈话提醒（{len(stats.none_met)} 人）：{_names(stats.none_met)}",
        "",
    ]
    for row in stats.rows[:limit]:
        counts = " ".join(f"{LABELS[k]}{row.counts.get(k, 0)}" for k in LABELS)
        extra = f" 联名{row.cosigned}" if row.cosigned else ""
        attendance = f" 出勤{row.attended}/{row.invited}（{_rate(row)}）" + (f" 缺席{row.absent}" if row.absent else "")
        score = f" 积分{row.points}" if row.points is not None else ""
        lines.append(f"{row.member.name}：{counts}{extra}{attendance}{score} {'✅' if row.all_met else '❗'}")
    if len(stats.rows) > limit:
        lines.append(f"……另有 {len(stats.rows) - limit} 人，完整名单请导出 xlsx（/progress xlsx）。")
    return "\n".join(lines)


RATE_COLUMN = "出勤率"


def statistics_table(stats: DutyStatistics) -> list[list[Any]]:
    """The one definition of the exported columns (xlsx and csv): a header, then a row per member."""
    header = [*HEADERS, *(LABELS[k] for k in LABELS), "联名提案", "应出席", "出席", "请假", "未请假缺席"]
    header += [RATE_COLUMN, "全部达标", "一项未完成", "未完成项"] + (["履职积分"] if stats.points_on else [])
    table = [header]
    for row in stats.rows:
        m = row.member
        values = [m.name, m.sector or "", m.committee or "", m.township or ""]
        values += [row.counts.get(k, 0) for k in LABELS]
        values += [row.cosigned, row.invited, row.attended, row.on_leave, row.absent]
        values += [
            round(row.rate, 4) if row.rate is not None else None,
            "是" if row.all_met else "",
            "是" if row.none_met else "",
            "、".join(r.label for r in row.requirements if not r.met),
        ]
        if stats.points_on:
            values.append(row.points)
        table.append(values)
    return table


def statistics_csv(stats: DutyStatistics) -> str:
    """The 履职统计 sheet as CSV text (encode as utf-8-sig so Excel shows the Chinese correctly)."""
    table = statistics_table(stats)
    rate = table[0].index(RATE_COLUMN)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table[0])
    for values in table[1:]:
        writer.writerow(["" if v is None else f"{v:.0%}" if i == rate else v for i, v in enumerate(values)])
    return out.getvalue()


def statistics_xlsx(stats: DutyStatistics) -> bytes:
    """An .xlsx workbook: 履职统计 (one row per member, :func:`statistics_table`) and 名单 (the two lists)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "履职统计"
    table = statistics_table(stats)
    for values in table:
        sheet.append(values)
    rate = table[0].index(RATE_COLUMN) + 1
    for (cell,) in sheet.iter_rows(min_row=2, min_col=rate, max_col=rate):
        cell.number_format = "0%"
    lists = book.create_sheet("名单")
    lists.append(["全部达到最低要求", "一项也未完成（谈话提醒）"])
    done, none = stats.all_met, stats.none_met
    for i in range(max(len(done), len(none))):
        lists.append([done[i].member.name if i < len(done) else None, none[i].member.name if i < len(none) else None])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
