"""Generated plans in every combination of layout: heading levels, task markers, numbering, unit
forms and deadline forms; every task, its units with their roles and its deadline are read back."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.plan.parse import parse_plan
from bot.plan.wordnumbers import chinese

UNITS = ["县委办公室", "县政府办公室", "县政协办公室", "县委组织部", "县财政局", "各乡镇"]
# Heading kinds, outermost first, and task markers; a task marker is always inside the headings.
HEADINGS = {
    "section": lambda n: f"{chinese(n)}、",
    "paren_cn": lambda n: f"（{chinese(n)}）",
    "arabic": lambda n: f"{n}.",
}
TASK_MARKERS = {
    "paren_arabic": lambda n: f"（{n}）",
    "arabic_dot": lambda n: f"{n}．",
    "arabic_comma": lambda n: f"{n}、",
    "paren_cn": lambda n: f"（{chinese(n)}）",
}
RANK = {"section": 0, "paren_cn": 1, "arabic": 2, "arabic_dot": 2, "arabic_comma": 2, "paren_arabic": 3}


@st.composite
def plans(draw):
    marker = draw(st.sampled_from(sorted(TASK_MARKERS)))
    outer = [kind for kind in HEADINGS if RANK[kind] < RANK[marker]]
    levels = draw(st.lists(st.sampled_from(outer), max_size=2, unique=True).map(lambda ks: sorted(ks, key=RANK.get)))
    restart = draw(st.booleans()) and bool(levels)
    shape = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)) if levels else [draw(st.integers(1, 6))]
    lines = ["某县政协工作任务分工方案", "为做好工作，制定本方案。"]
    expected = []
    number = 0
    for area, count in enumerate(shape, start=1):
        for depth, kind in enumerate(levels):
            lines.append(f"{HEADINGS[kind](area)}第{area}方面第{depth + 1}层")
        for k in range(1, count + 1):
            number += 1
            printed = k if restart else number
            units = draw(st.lists(st.sampled_from(UNITS), min_size=1, max_size=3, unique=True))
            form = draw(
                st.sampled_from(["line", "lead_lines", "labelled", "suffix", "first_lead", "same_line", "marked"])
            )
            deadline = draw(st.sampled_from([None, "line", "inline", "after_paren"]))
            if deadline == "after_paren" and form not in ("labelled", "suffix", "first_lead"):
                deadline = "inline"
            text = (
                f"推进第{number}项重点工作"
                + ("，2025年3月底前完成" if deadline in ("inline", "after_paren") else "")
                + "。"
            )
            lead, rest = units[0], units[1:]
            plain = form in ("line", "same_line")
            roles = ["responsible"] * len(units) if plain else ["lead"] + ["support"] * len(rest)
            head = f"{TASK_MARKERS[marker](printed)}{text}"
            if deadline == "after_paren":
                head = f"{TASK_MARKERS[marker](printed)}推进第{number}项重点工作"
            if form == "same_line":
                head += f"责任单位：{'、'.join(units)}"
            elif form == "marked":
                lines.append(head)
                head = f"责任单位：{lead}（牵头）" + "".join(f"、{unit}" for unit in rest)
            elif form == "labelled":
                support = f"；配合单位：{'、'.join(rest)}" if rest else ""
                head += f"（牵头单位：{lead}{support}）"
            elif form == "suffix":
                head += f"（{lead}牵头" + (f"，{'、'.join(rest)}配合）" if rest else "）")
            elif form == "first_lead":
                head += f"（{'、'.join(units)}负责。列第一位者为牵头单位）"
            if deadline == "after_paren":
                head += "，2025年3月底前完成。"
            lines.append(head)
            if form == "line":
                lines.append(f"责任单位：{'、'.join(units)}")
            elif form == "lead_lines":
                lines.append(f"牵头单位：{lead}")
                if rest:
                    lines.append(f"配合单位：{'、'.join(rest)}")
            if deadline == "line":
                lines.append("完成时限：2024年6月底前")
            limit = {None: None, "line": "2024-06-30", "inline": "2025-03-31", "after_paren": "2025-03-31"}[deadline]
            expected.append((number, text, list(zip(units, roles, strict=True)), limit, area))
    return "\n".join(lines), expected, len(shape)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
def test_generated_plans_are_read_back(generated):
    text, expected, areas = generated
    plan = parse_plan(text)
    got = [
        (t["number"], t["text"], list(t["unit_roles"].items()), t["time_limit"]["date"], t["area"])
        for t in plan["tasks"]
    ]
    assert got == expected, text
    assert len(plan["areas"]) == areas
