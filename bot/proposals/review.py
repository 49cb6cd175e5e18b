"""Secretaries review: 立案 (number, 主办/协办 units, 交办), 不予立案 (reason), 转社情民意,
退回修改 (comment); 社情民意: 采用, 报送上级, 不予采用 (reason), 领导批示."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from rapidfuzz import fuzz

from bot.dates import add_months
from bot.people.roles import Caller, authorize
from bot.plan.units import Unit
from bot.proposals.desk import (
    STALE,
    Desk,
    ProposalError,
    button,
    change,
    get,
    label,
    name_of,
    to_member,
    to_units,
    unit_name,
)
from bot.proposals.views import card, full_text, review_buttons, units_line
from bot.reply import Reply
from bot.storage.proposals import ProposalRow

_SEPARATORS = re.compile(r"[、,，;；/\s]+")
UNIT_CUTOFF = 60


def _secretary(
    desk: Desk, caller: Caller, proposal_id: int, statuses: tuple[str, ...], kind: str | None
) -> ProposalRow:
    """The submission a secretary acts on, refused unless it is in ``statuses`` (and of ``kind``,
    when one is given)."""
    authorize(desk.storage, caller, "review_proposal")
    p = get(desk, proposal_id)
    if (kind is not None and p.kind != kind) or p.status not in statuses:
        raise ProposalError(f"{name_of(p)}当前为“{label(p)}”，{STALE}")
    return p


def _ask(desk: Desk, caller: Caller, what: str, p: ProposalRow) -> None:
    desk.storage.proposal_input_set(caller.telegram_id, what, p.id, desk.input_until())


# ---- proposals ----------------------------------------------------------------------------


def accept(desk: Desk, caller: Caller, proposal_id: int) -> Reply:
    """立案: the year's next number; then the secretary names the units."""
    p = _secretary(desk, caller, proposal_id, ("review",), "proposal")
    year = desk.today.year
    with desk.storage.atomic():
        seq = desk.storage.next_proposal_seq(year)
        number = desk.config.number(year, seq)
        p = change(
            desk,
            caller,
            p,
            "accept",
            f"立案，编号 {number}",
            {"status": "accepted", "number": number, "year": year, "seq": seq, "accepted_on": desk.today.isoformat()},
            when=("review",),
            notices=to_member(desk.storage, p.member_id, desk.config.text("accepted", title=p.title, number=number)),
        )
        _ask(desk, caller, "lead", p)
    return Reply(f"已立案：{name_of(p)}。\n请发送主办单位名称（如：水务局）。", personal=True)


def reassign(desk: Desk, caller: Caller, proposal_id: int) -> Reply:
    p = _secretary(desk, caller, proposal_id, ("accepted",), "proposal")
    _ask(desk, caller, "lead", p)
    return Reply(f"{name_of(p)}：请发送主办单位名称。", personal=True)


def _resolve(desk: Desk, word: str) -> Unit | None:
    """A unit by any of its names, also written with 县 in front or without 人民政府 (立岗镇)."""
    for name in (word, word.removeprefix("县"), word + "人民政府"):
        unit = desk.plan.resolve_unit(name)
        if unit is not None:
            return unit
    return None


def match_units(desk: Desk, text: str) -> tuple[list[Unit], list[str], list[Unit]]:
    """(units found exactly, names matching nothing, near candidates for the others).

    A collective unit (各乡镇: one whose member units are in the catalogue) cannot be 主办 or
    协办 — it has no contacts of its own who could sign and reply, and which township answers
    would be unclear — so its members are offered as candidates instead (see ``collective_note``)."""
    found: list[Unit] = []
    unknown: list[str] = []
    near: list[Unit] = []
    catalogue = desk.plan.catalogue
    names = {name: unit for unit in catalogue.units.values() if not catalogue.members(unit.id) for name in unit.names}
    for word in [w for w in _SEPARATORS.split(text.strip()) if w]:
        unit = _resolve(desk, word)
        if unit is not None and catalogue.members(unit.id):
            near += catalogue.members(unit.id)
            continue
        if unit is not None:
            found.append(unit)
            continue
        scored = sorted(((fuzz.ratio(word, name), unit) for name, unit in names.items()), key=lambda item: -item[0])
        candidates = list(dict.fromkeys(unit for score, unit in scored[:8] if score >= UNIT_CUTOFF))[:3]
        if candidates:
            near += candidates
        else:
            unknown.append(word)
    return found, unknown, near


def _unit_choices(p: ProposalRow, verb: str, units: list[Unit]) -> list:
    return [[button(unit.short, verb, p.id, unit.id)] for unit in dict.fromkeys(units)]


def collective_note(desk: Desk, text: str) -> str:
    """The sentence explaining that a collective unit named in ``text`` must be made specific."""
    catalogue = desk.plan.catalogue
    named = [
        unit.short
        for word in _SEPARATORS.split(text.strip())
        if word and (unit := _resolve(desk, word)) is not None and catalogue.members(unit.id)
    ]
    if not named:
        return ""
    return f"“{'、'.join(dict.fromkeys(named))}”是统称，不能作为承办单位，请点选或发送具体单位："


def on_lead(desk: Desk, caller: Caller, p: ProposalRow, text: str) -> Reply:
    found, unknown, near = match_units(desk, text)
    if len(found) == 1 and not unknown and not near:
        return pick_lead(desk, caller, p.id, found[0].id)
    lines = []
    collective = collective_note(desk, text)
    if len(found) > 1:
        lines.append("主办单位只能有一个，请点选：")
        near = found + near
    if unknown:
        lines.append(f"单位目录中没有“{'、'.join(unknown)}”。")
    if collective and len(found) <= 1:
        lines.append(collective)
        near = found + near
    elif near and len(found) <= 1:
        lines.append("您是不是指：")
    if not near and not found:
        lines.append("请重新发送主办单位名称。")
    return Reply("\n".join(lines), _unit_choices(p, "lu", near or found), personal=True)


def pick_lead(desk: Desk, caller: Caller, proposal_id: int, unit_id: str) -> Reply:
    p = _secretary(desk, caller, proposal_id, ("accepted",), "proposal")
    if unit_id not in desk.plan.catalogue.units or desk.plan.catalogue.members(unit_id):
        raise ProposalError(STALE)
    with desk.storage.atomic():
        desk.storage.proposal_units_set(p.id, unit_id, [])
        _ask(desk, caller, "helpers", p)
    return Reply(
        f"主办单位：{unit_name(desk.plan, unit_id)}。\n如有协办单位，请发送名称（可写多个）；没有请点“无协办单位”。",
        [[button("无协办单位", "hn", p.id)]],
        personal=True,
    )


def on_helpers(desk: Desk, caller: Caller, p: ProposalRow, text: str) -> Reply:
    found, unknown, near = match_units(desk, text)
    lead = next((u.unit_id for u in desk.storage.proposal_units(p.id) if u.role == "lead"), None)
    if lead is None:
        return reassign(desk, caller, p.id)
    helpers = [u.unit_id for u in desk.storage.proposal_units(p.id) if u.role == "helper"]
    helpers += [u.id for u in found if u.id != lead and u.id not in helpers]
    with desk.storage.atomic():
        desk.storage.proposal_units_set(p.id, lead, helpers)
        _ask(desk, caller, "helpers", p)
    lines = [units_line(desk, p)]
    if unknown:
        lines.append(f"单位目录中没有“{'、'.join(unknown)}”。")
    collective = collective_note(desk, text)
    if collective:
        lines.append(collective.removesuffix("：") + "（点选加入协办）：")
    elif near:
        lines.append("您是不是指（点选加入协办）：")
    lines.append("可继续发送协办单位；完成后点“完成”。")
    buttons = _unit_choices(p, "hu", [u for u in near if u.id != lead])
    buttons.append([button("完成", "hn", p.id)])
    return Reply("\n".join(lines), buttons, personal=True)


def pick_helper(desk: Desk, caller: Caller, proposal_id: int, unit_id: str) -> Reply:
    p = _secretary(desk, caller, proposal_id, ("accepted",), "proposal")
    units = desk.storage.proposal_units(p.id)
    lead = next((u.unit_id for u in units if u.role == "lead"), None)
    if lead is None or unit_id not in desk.plan.catalogue.units or desk.plan.catalogue.members(unit_id):
        raise ProposalError(STALE)
    helpers = [u.unit_id for u in units if u.role == "helper"]
    if unit_id != lead and unit_id not in helpers:
        helpers.append(unit_id)
    desk.storage.proposal_units_set(p.id, lead, helpers)
    return Reply(
        f"{units_line(desk, p)}\n可继续发送协办单位；完成后点“完成”。", [[button("完成", "hn", p.id)]], personal=True
    )


def helpers_done(desk: Desk, caller: Caller, proposal_id: int) -> Reply:
    p = _secretary(desk, caller, proposal_id, ("accepted",), "proposal")
    desk.storage.proposal_input_clear(caller.telegram_id)
    if not desk.storage.proposal_units(p.id):
        return reassign(desk, caller, p.id)
    due = add_months(desk.today, desk.reply_months())
    missing = [
        unit_name(desk.plan, u.unit_id)
        for u in desk.storage.proposal_units(p.id)
        if not to_units(desk.storage, [u.unit_id], lambda _: "-")
    ]
    note = f"\n注意：{'、'.join(missing)}暂无已验证身份的联络员，交办通知无法送达，请另行通知。" if missing else ""
    return Reply(
        f"交办预览：{name_of(p)}\n{units_line(desk, p)}\n"
        f"答复期限：{due.isoformat()}（{desk.reply_months()} 个月）{note}",
        [[button("确认交办", "as", p.id), button("重选单位", "re", p.id)]],
        personal=True,
    )


def unit_message(desk: Desk, p: ProposalRow, role: str, *, reopened: str = "") -> str:
    what = "主办" if role == "lead" else "协办"
    ask = "请签收，并在答复期限前通过“答复”提交答复。" if role == "lead" else "请签收，并提交协办意见供主办单位参考。"
    head = reopened or desk.config.text("assigned_unit", role=what, due=p.reply_due)
    return f"{head}\n{ask}\n\n{full_text(desk, p)}"


def unit_buttons(p: ProposalRow, role: str, *, signed: bool = False) -> list:
    second = button("答复", "ra", p.id) if role == "lead" else button("协办意见", "ho", p.id)
    first = [] if signed else [button("签收", "sg", p.id)]
    return [[*first, second, button("申请退回", "ub", p.id)]]


def assign(desk: Desk, caller: Caller, proposal_id: int) -> Reply:
    """交办: the units' contacts get the full proposal with 签收 / 答复 / 申请退回."""
    p = _secretary(desk, caller, proposal_id, ("accepted",), "proposal")
    units = desk.storage.proposal_units(p.id)
    if not any(u.role == "lead" for u in units):
        return reassign(desk, caller, p.id)
    due = add_months(desk.today, desk.reply_months())
    planned = replace(p, status="assigned", assigned_on=desk.today.isoformat(), reply_due=due.isoformat())
    roles = {u.unit_id: u.role for u in units}
    notices = to_units(
        desk.storage,
        list(roles),
        lambda unit_id: unit_message(desk, planned, roles[unit_id]),
        lambda unit_id: unit_buttons(planned, roles[unit_id]),
        p.attachment,
    )
    line = units_line(desk, p)
    notices += to_member(
        desk.storage,
        p.member_id,
        desk.config.text("assigned_member", number=p.number, title=p.title, units=line, due=due.isoformat()),
    )
    with desk.storage.atomic():
        p = change(
            desk,
            caller,
            p,
            "assign",
            f"交办：{line}，答复期限 {due.isoformat()}",
            {"status": "assigned", "assigned_on": desk.today.isoformat(), "reply_due": due.isoformat()},
            when=("accepted",),
            notices=notices,
        )
        desk.storage.proposal_input_clear(caller.telegram_id)
    return Reply(f"已交办{name_of(p)}，已通知承办单位和提案人。", personal=True)


def reject_start(desk: Desk, caller: Caller, proposal_id: int) -> Reply:
    p = _secretary(desk, caller, proposal_id, ("review",), "proposal")
    _ask(desk, caller, "reject", p)
    buttons = [[button(text, "rc", p.id, index)] for index, text in enumerate(desk.config.reject_categories)]
    return Reply(f"不予立案{name_of(p)}：请点选理由，或直接发送理由。", buttons, personal=True)


@dataclass(frozen=True)
class Refusal:
    """A decision that closes a submission under review with a reason (不予立案, 不予采用)."""

    kind: str  # "proposal" | "opinion"
    action: str  # audit and timeline action
    label: str
    status: str
    template: str  # the member's message in knowledge/proposals.json


def _refuse(desk: Desk, caller: Caller, proposal_id: int, reason: str, refusal: Refusal) -> Reply:
    reason = reason.strip()
    if not reason:
        return Reply(f"理由不能为空，请发送{refusal.label}的理由。", personal=True)
    p = _secretary(desk, caller, proposal_id, ("review",), refusal.kind)
    with desk.storage.atomic():
        p = change(
            desk,
            caller,
            p,
            refusal.action,
            f"{refusal.label}：{reason}",
            {"status": refusal.status, "reason": reason},
            when=("review",),
            notices=to_member(
                desk.storage, p.member_id, desk.config.text(refusal.template, title=p.title, reason=reason)
            ),
        )
        desk.storage.proposal_input_clear(caller.telegram_id)
    person = "提案人" if refusal.kind == "proposal" else "反映人"
    return Reply(f"已{refusal.label}：{name_of(p)}（理由：{reason}），已通知{person}。", personal=True)


def reject(desk: Desk, caller: Caller, proposal_id: int, reason: str) -> Reply:
    return _refuse(desk, caller, proposal_id, reason, Refusal("proposal", "reject", "不予立案", "rejected", "rejected"))


def reject_category(desk: Desk, caller: Caller, proposal_id: int, index: int) -> Reply:
    categories = desk.config.reject_categories
    if not 0 <= index < len(categories):
        raise ProposalError(STALE)
    return reject(desk, caller, proposal_id, categories[index])


def convert(desk: Desk, caller: Caller, proposal_id: int) -> Reply:
    """转社情民意: the proposal becomes a 社情民意 waiting for its own review."""
    p = _secretary(desk, caller, proposal_id, ("review",), "proposal")
    p = change(
        desk,
        caller,
        p,
        "convert",
        "转为社情民意信息",
        {"kind": "opinion"},
        when=("review",),
        notices=to_member(desk.storage, p.member_id, desk.config.text("converted", title=p.title)),
    )
    return Reply(f"已转为社情民意。\n\n{card(desk, p)}", review_buttons(p), personal=True)


def return_start(desk: Desk, caller: Caller, proposal_id: int) -> Reply:
    p = _secretary(desk, caller, proposal_id, ("review",), None)
    _ask(desk, caller, "return", p)
    return Reply(f"退回修改{name_of(p)}：请发送修改意见（将转告提案人）。", personal=True)


def return_for_revision(desk: Desk, caller: Caller, proposal_id: int, comment: str) -> Reply:
    comment = comment.strip()
    if not comment:
        return Reply("修改意见不能为空，请发送修改意见。", personal=True)
    p = _secretary(desk, caller, proposal_id, ("review",), None)
    with desk.storage.atomic():
        p = change(
            desk,
            caller,
            p,
            "return",
            f"退回修改：{comment}",
            {"status": "returned", "reason": comment},
            when=("review",),
            notices=to_member(
                desk.storage,
                p.member_id,
                desk.config.text("returned", title=p.title, comment=comment),
                [[button("修改后重新提交", "rs", p.id)]],
            ),
        )
        desk.storage.proposal_input_clear(caller.telegram_id)
    return Reply(f"已退回修改：{name_of(p)}，已通知提案人。", personal=True)


# ---- 社情民意 -------------------------------------------------------------------------------


def _opinion_done(desk: Desk, caller: Caller, p: ProposalRow, action: str, status: str, text: str) -> Reply:
    allowed = ("review",) if status in ("adopted", "not_adopted") else ("review", "adopted")
    p = _secretary(desk, caller, p.id, allowed, "opinion")
    p = change(
        desk,
        caller,
        p,
        action,
        text,
        {"status": status},
        when=allowed,
        notices=to_member(desk.storage, p.member_id, desk.config.text("opinion_done", title=p.title, what=text)),
    )
    buttons = [[button("记录领导批示", "oi", p.id)]]
    if status == "adopted":
        buttons[0].append(button("报送上级", "or", p.id))
    return Reply(f"{name_of(p)}：{text}，已通知反映人。", buttons, personal=True)


def adopt(desk: Desk, caller: Caller, proposal_id: int) -> Reply:
    return _opinion_done(desk, caller, get(desk, proposal_id), "adopt", "adopted", "已被采用")


def report_up(desk: Desk, caller: Caller, proposal_id: int) -> Reply:
    return _opinion_done(desk, caller, get(desk, proposal_id), "report", "reported", "已报送上级政协")


def not_adopt_start(desk: Desk, caller: Caller, proposal_id: int) -> Reply:
    p = _secretary(desk, caller, proposal_id, ("review",), "opinion")
    _ask(desk, caller, "not_adopt", p)
    return Reply(f"不予采用{name_of(p)}：请发送理由。", personal=True)


def not_adopt(desk: Desk, caller: Caller, proposal_id: int, reason: str) -> Reply:
    refusal = Refusal("opinion", "not_adopt", "不予采用", "not_adopted", "opinion_not_adopted")
    return _refuse(desk, caller, proposal_id, reason, refusal)


def instruction_start(desk: Desk, caller: Caller, proposal_id: int) -> Reply:
    p = _secretary(desk, caller, proposal_id, ("adopted", "reported"), "opinion")
    _ask(desk, caller, "instruction", p)
    return Reply(f"请发送{name_of(p)}的领导批示内容。", personal=True)


def instruction(desk: Desk, caller: Caller, proposal_id: int, text: str) -> Reply:
    text = text.strip()
    if not text:
        return Reply("批示内容不能为空。", personal=True)
    p = _secretary(desk, caller, proposal_id, ("adopted", "reported"), "opinion")
    with desk.storage.atomic():
        p = change(
            desk,
            caller,
            p,
            "instruction",
            f"领导批示：{text}",
            {"instruction": text},
            notices=to_member(desk.storage, p.member_id, desk.config.text("instruction", title=p.title, text=text)),
        )
        desk.storage.proposal_input_clear(caller.telegram_id)
    return Reply(f"已记录批示并通知反映人：{name_of(p)}。", personal=True)
