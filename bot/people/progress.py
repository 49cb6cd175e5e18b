"""How far members are with the plan's yearly and per-term requirements ((32) and (33))."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.people.duties import LABELS, PHRASES, duty_lines, member_obligations
from bot.people.records import STATUS_LABELS, unit_names
from bot.people.roles import BIND_HINT
from bot.plan.model import Obligation, Plan, default_plan
from bot.plan.term import Term, TermSettings, default_term_settings
from bot.storage import Storage


@dataclass(frozen=True)
class Requirement:
    obligation_id: str
    task: int
    record_kind: str
    period: str  # "year" | "term"
    required: int
    done: int

    @property
    def met(self) -> bool:
        return self.done >= self.required

    @property
    def label(self) -> str:
        return LABELS[self.record_kind] + ("（本届）" if self.period == "term" else "")

    def line(self) -> str:
        return f"{self.label} {self.done}/{self.required} {'✅' if self.met else '❗'}"


@dataclass(frozen=True)
class ProposalLine:
    record_id: int
    title: str
    date: date
    status: str
    units: tuple[str, ...]
    reply_due: date | None
    replied_on: date | None
    overdue: bool

    def describe(self) -> str:
        state = STATUS_LABELS[self.status]
        if self.status == "assigned":
            due = f"答复期限 {self.reply_due.isoformat()}" + ("，已超期" if self.overdue else "")
            state = f"{state}：{'、'.join(self.units)}，{due}"
        elif self.status == "replied":
            state = f"{state} {self.replied_on.isoformat()}"
        return f"·《{self.title}》{state}"


@dataclass(frozen=True)
class Progress:
    member_id: int
    name: str
    year: int
    today: date
    term: Term
    requirements: tuple[Requirement, ...]
    proposals: tuple[ProposalLine, ...]
    cosigned: int = 0  # proposals of others this member agreed to co-sign (联名) that year

    @property
    def all_met(self) -> bool:
        return all(r.met for r in self.requirements)


def _term_for(year: int, today: date, settings: TermSettings) -> Term:
    return settings.term_on(min(today, date(year, 12, 31)))


def _requirements(
    obligations: list[tuple[Obligation, str]], year_counts: dict[str, int], term_counts: dict[str, int]
) -> tuple[Requirement, ...]:
    return tuple(
        Requirement(
            obligation.id,
            obligation.task,
            kind,
            obligation.period,
            obligation.count,
            (year_counts if obligation.period == "year" else term_counts).get(kind, 0),
        )
        for obligation, kind in obligations
    )


def member_progress(
    storage: Storage,
    member_id: int,
    year: int,
    today: date,
    *,
    plan: Plan | None = None,
    term_settings: TermSettings | None = None,
) -> Progress:
    """One member's counts for ``year`` (training: within the term), and their proposals that year."""
    plan = plan or default_plan()
    member = storage.person("member", member_id)
    if member is None:
        raise ValueError(f"没有编号为 {member_id} 的委员")
    term = _term_for(year, today, term_settings or default_term_settings())
    year_start, year_end = date(year, 1, 1), date(year + 1, 1, 1)
    year_counts = storage.record_counts(year_start, year_end, member_id).get(member_id, {})
    term_counts = storage.record_counts(term.start, term.end, member_id).get(member_id, {})
    proposals = tuple(
        ProposalLine(
            r.id,
            r.title,
            r.date,
            r.status,
            tuple(unit_names(r, plan)),
            r.reply_due,
            r.replied_on,
            r.status == "assigned" and r.reply_due is not None and r.reply_due < today,
        )
        for r in storage.records_of(member_id, year_start, year_end)
        if r.kind == "提案"
    )
    requirements = _requirements(member_obligations(plan), year_counts, term_counts)
    cosigned = storage.cosigned_count(member_id, year_start.isoformat(), year_end.isoformat())
    return Progress(member.id, member.name, year, today, term, requirements, proposals, cosigned)


def _next_step(progress: Progress) -> str:
    if progress.all_met:
        return f"{progress.year}年各项履职要求均已完成，谢谢您的付出！"
    when = "今年" if progress.year == progress.today.year else f"{progress.year}年"
    parts = [
        ("本届" if r.period == "term" else when) + "还需" + PHRASES[r.record_kind].format(n=r.required - r.done)
        for r in progress.requirements
        if not r.met
    ]
    return "下一步：" + "；".join(parts) + "。"


def format_progress(progress: Progress) -> str:
    """A member's progress as short lines for a phone screen."""
    lines = [f"{progress.name} · {progress.year}年履职情况"]
    lines += [r.line() for r in progress.requirements]
    if progress.cosigned:
        lines.append(f"联名提案 {progress.cosigned} 件（另计）")
    if progress.proposals:
        lines.append("提案办理：")
        lines += [p.describe() for p in progress.proposals]
    lines.append(_next_step(progress))
    return "\n".join(lines)


def general_rule_text(plan: Plan | None = None) -> str:
    """The members' requirements and how to bind, for users who are not yet identified."""
    return "\n".join([*duty_lines(plan or default_plan()), f"想查看本人的完成情况，{BIND_HINT}"])
