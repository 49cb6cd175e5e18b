"""Registers for the office (提案办理情况汇总表, 社情民意采用情况表) as xlsx or csv, and the
year's statistics (submitted, 立案率, 集体提案 share, on-time replies, satisfaction)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from bot.people.roles import Caller, authorize
from bot.proposals.desk import Desk, ProposalError, label, member_name, unit_name
from bot.storage.proposals import EventRow, ProposalRow

PROPOSAL_HEADER = (
    "编号",
    "案由",
    "提案人",
    "联名",
    "主办单位",
    "协办单位",
    "立案日期",
    "交办日期",
    "答复期限",
    "答复日期",
    "办理结果",
    "满意度",
    "状态",
)
OPINION_HEADER = ("序号", "标题", "反映人", "提交日期", "处理情况", "不予采用理由", "领导批示")
SUBMITTED = ("cosigning", "review", "returned", "rejected", "accepted", "assigned", "replied", "closed")
OPINION_DONE = ("review", "returned", "adopted", "reported", "not_adopted")


@dataclass(frozen=True)
class Statistics:
    year: int
    submitted: int
    accepted: int
    collective: int  # with at least one agreed co-signer
    replied: int
    on_time: int
    rated: int
    satisfied: int  # 满意 or 基本满意
    opinions: int
    adopted: int

    @staticmethod
    def _rate(part: int, whole: int) -> str:
        return f"{part / whole:.0%}" if whole else "—"


def _year_proposals(desk: Desk, year: int, kind: str) -> list[ProposalRow]:
    statuses = SUBMITTED if kind == "proposal" else OPINION_DONE
    return desk.storage.proposals_where(kind=kind, statuses=statuses, year=year)


def statistics(desk: Desk, year: int) -> Statistics:
    proposals = _year_proposals(desk, year, "proposal")
    opinions = _year_proposals(desk, year, "opinion")
    ids = [p.id for p in proposals]
    cosigners, answers = desk.storage.cosigners_of(ids), desk.storage.proposal_answers_of(ids)
    events = desk.storage.proposal_events_of(ids)
    agreed = {p.id for p in proposals if any(c.status == "agreed" for c in cosigners[p.id])}
    replied = [r for p in proposals for r in answers[p.id]]
    by_id = {p.id: p for p in proposals}
    on_time = sum(
        1
        for r in replied
        if r.submitted_at[:10] <= (_due_of(by_id[r.proposal_id], events[r.proposal_id], r.round) or "9999")
    )
    ratings = [e for p in proposals for e in events[p.id] if e.action in ("rate", "reopen")]
    return Statistics(
        year=year,
        submitted=len(proposals),
        accepted=sum(1 for p in proposals if p.number),
        collective=len(agreed),
        replied=len(replied),
        on_time=on_time,
        rated=len(ratings),
        satisfied=sum(1 for e in ratings if e.action == "rate"),
        opinions=len(opinions),
        adopted=sum(1 for p in opinions if p.status in ("adopted", "reported")),
    )


def _due_of(p: ProposalRow, timeline: list[EventRow], round_: int) -> str | None:
    """The reply due date that applied to a reply of this round (the timeline keeps each): the
    last 交办 (a unit may have asked to return it before) for round 1, then each reopening."""
    events = [e for e in timeline if e.action in ("assign", "reopen")]
    last_assign = max((i for i, e in enumerate(events) if e.action == "assign"), default=0)
    dues = [e.text.rsplit("答复期限 ", 1)[1] for e in events[last_assign:] if "答复期限 " in e.text]
    return dues[round_ - 1] if 0 < round_ <= len(dues) else p.reply_due


def statistics_text(s: Statistics) -> str:
    rate = Statistics._rate
    return "\n".join(
        [
            f"{s.year}年统计：",
            f"提交提案 {s.submitted} 件，立案 {s.accepted} 件（立案率 {rate(s.accepted, s.submitted)}）",
            f"联名（集体）提案 {s.collective} 件，占 {rate(s.collective, s.submitted)}",
            f"答复 {s.replied} 次，按期 {s.on_time} 次（按期答复率 {rate(s.on_time, s.replied)}）",
            f"评价 {s.rated} 次，满意和基本满意 {s.satisfied} 次（满意率 {rate(s.satisfied, s.rated)}）",
            f"社情民意 {s.opinions} 条，采用 {s.adopted} 条（采用率 {rate(s.adopted, s.opinions)}）",
        ]
    )


def proposal_rows(desk: Desk, year: int) -> list[list[str]]:
    results = desk.config.result_labels
    ratings = desk.config.rating_labels
    names = {m.id: m.name for m in desk.storage.people("member")}
    proposals = sorted(_year_proposals(desk, year, "proposal"), key=lambda p: (p.seq or 10**9, p.id))
    ids = [p.id for p in proposals]
    all_units, all_cosigners = desk.storage.proposal_units_of(ids), desk.storage.cosigners_of(ids)
    rows = []
    for p in proposals:
        units = all_units[p.id] if p.assigned_on or p.status in ("replied", "closed") else []
        cosigners = [c.name for c in all_cosigners[p.id] if c.status == "agreed"]
        rows.append(
            [
                p.number or "",
                p.title,
                names.get(p.member_id) or member_name(desk.storage, p.member_id),
                "、".join(cosigners),
                "、".join(unit_name(desk.plan, u.unit_id) for u in units if u.role == "lead"),
                "、".join(unit_name(desk.plan, u.unit_id) for u in units if u.role == "helper"),
                p.accepted_on or "",
                p.assigned_on or "",
                p.reply_due or "",
                p.replied_on or "",
                f"{p.result} {results[p.result]}" if p.result else "",
                ratings.get(p.rating or "", ""),
                label(p),
            ]
        )
    return rows


def opinion_rows(desk: Desk, year: int) -> list[list[str]]:
    names = {m.id: m.name for m in desk.storage.people("member")}
    return [
        [
            str(index),
            p.title,
            names.get(p.member_id, ""),
            (p.submitted_at or "")[:10],
            label(p),
            p.reason if p.status == "not_adopted" else "",
            p.instruction or "",
        ]
        for index, p in enumerate(_year_proposals(desk, year, "opinion"), start=1)
    ]


def to_csv(desk: Desk, year: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([f"{year}年提案办理情况汇总表"])
    writer.writerow(PROPOSAL_HEADER)
    writer.writerows(proposal_rows(desk, year))
    writer.writerow([])
    writer.writerow([f"{year}年社情民意采用情况表"])
    writer.writerow(OPINION_HEADER)
    writer.writerows(opinion_rows(desk, year))
    return out.getvalue().encode("utf-8-sig")


# sheet layout: column widths, and the columns with long text (wrapped; wrapping every cell
# made the export several times slower)
PROPOSAL_WIDTHS = (10, 36, 10, 16, 14, 18, 12, 12, 12, 12, 20, 10, 14)
OPINION_WIDTHS = (6, 36, 10, 12, 14, 24, 36)
PROPOSAL_WRAPPED = ("B", "D", "F")
OPINION_WRAPPED = ("B", "F", "G")


def to_xlsx(desk: Desk, year: int) -> bytes:
    from openpyxl import Workbook  # deferred: only the export needs it
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    wrap, bold = Alignment(wrap_text=True, vertical="top"), Font(bold=True)
    sheets = (
        (book.active, "提案办理情况", "提案办理情况汇总表", PROPOSAL_HEADER, PROPOSAL_WIDTHS, PROPOSAL_WRAPPED),
        (
            book.create_sheet(),
            "社情民意采用情况",
            "社情民意采用情况表",
            OPINION_HEADER,
            OPINION_WIDTHS,
            OPINION_WRAPPED,
        ),
    )
    contents = (proposal_rows(desk, year), opinion_rows(desk, year))
    for (sheet, title, heading, header, widths, wrapped), rows in zip(sheets, contents, strict=True):
        sheet.title = title
        sheet.append([f"{year}年{heading}"])
        sheet["A1"].font = Font(bold=True, size=14)
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
        sheet.append(list(header))
        for cell in sheet[2]:
            cell.font = bold
        for row in rows:
            sheet.append(row)
        for index, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        for column in wrapped:
            for cell in sheet[column][2:]:
                cell.alignment = wrap
        sheet.freeze_panes = "A3"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export(desk: Desk, caller: Caller, year: int, fmt: str) -> tuple[str, bytes]:
    """(file name, content) of the year's registers; secretaries only."""
    authorize(desk.storage, caller, "export_proposals")
    if fmt not in ("xlsx", "csv"):
        raise ProposalError("导出格式只能是 xlsx 或 csv。")
    content = to_xlsx(desk, year) if fmt == "xlsx" else to_csv(desk, year)
    desk.storage.audit(caller.telegram_id, "proposals_export", {"year": year, "format": fmt}, desk.now)
    return f"提案办理情况汇总表-{year}.{fmt}", content
