"""What every member must do, in plain words: the countable member obligations of the plan.

Kept free of storage so that the question engine (and `cppcc-bot ask`) can use it cheaply;
bot/people/progress.py counts records against the same list.
"""

from __future__ import annotations

from bot.plan.model import Obligation, Plan

# Record kinds in display order, with the short label of a progress line.
LABELS = {"提案": "提案", "社情民意": "社情民意", "活动": "会议或视察调研", "培训": "培训"}
PHRASES = {
    "提案": "提交 {n} 份提案",
    "社情民意": "反映 {n} 条社情民意信息",
    "活动": "参加 {n} 次协商议政会议或视察考察调研活动",
    "培训": "参加 {n} 次委员培训（轮训）",
}


def member_obligations(plan: Plan) -> list[tuple[Obligation, str]]:
    """The plan's countable member obligations with the record kind each counts, in LABELS order."""
    pairs = []
    for obligation in plan.obligations_for("member"):
        kind = obligation.record_kind
        if kind not in LABELS or obligation.period not in ("year", "term") or obligation.kind != "min_count":
            raise ValueError(f"无法统计的委员要求 {obligation.id}")
        pairs.append((obligation, kind))
    return sorted(pairs, key=lambda pair: list(LABELS).index(pair[1]))


def duty_lines(plan: Plan) -> list[str]:
    """'按照实施方案（33），力争使每位委员每年至少：' then '· 提交 1 份提案' …, then the per-term part
    (the intros follow the plan's own wording: 力争 for (33), 确保 for (32))."""
    pairs = member_obligations(plan)
    lines = []
    for period, intro in (("year", "力争使每位委员每年至少："), ("term", "确保每届之内至少：")):
        group = [(o, kind) for o, kind in pairs if o.period == period]
        if group:
            tasks = "、".join(sorted({f"（{o.task}）" for o, _ in group}))
            lines.append(f"按照实施方案{tasks}，{intro}")
            lines += ["· " + PHRASES[kind].format(n=o.count) for o, kind in group]
    return lines
