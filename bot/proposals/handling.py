"""Units handle (签收, 申请退回, 协办意见, guided 答复 with 办理结果 A/B/C) and the member rates the
reply (满意 / 基本满意 close it; 不满意 with a comment reopens it for 重新办理)."""

from __future__ import annotations

from dataclasses import replace

from bot.dates import add_months
from bot.people.roles import Caller, authorize
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
    to_secretaries,
    to_units,
    unit_name,
)
from bot.proposals.drafts import FileInfo, check_file
from bot.proposals.review import unit_buttons, unit_message
from bot.reply import Reply
from bot.storage.proposals import ProposalRow

OPEN = ("assigned",)


def _unit_role(desk: Desk, caller: Caller, proposal_id: int) -> tuple[ProposalRow, str]:
    """The proposal and the caller's unit's role in it; refused for any other unit."""
    authorize(desk.storage, caller, "handle_proposal")
    p = get(desk, proposal_id)
    role = next((u.role for u in desk.storage.proposal_units(p.id) if u.unit_id == caller.unit_id), None)
    if caller.unit_id is None or role is None or p.assigned_on is None:
        desk.storage.audit(caller.telegram_id, "denied", {"action": "handle_proposal", "proposal_id": p.id})
        raise ProposalError("这件提案没有交办给贵单位，不能办理。")
    return p, role


def _ask(desk: Desk, caller: Caller, what: str, p: ProposalRow) -> None:
    desk.storage.proposal_input_set(caller.telegram_id, what, p.id, desk.input_until())


def sign(desk: Desk, caller: Caller, proposal_id: int) -> Reply:
    p, role = _unit_role(desk, caller, proposal_id)
    if p.status not in OPEN:
        raise ProposalError(f"{name_of(p)}当前为“{label(p)}”，{STALE}")
    unit = unit_name(desk.plan, caller.unit_id)
    with desk.storage.atomic():
        if not desk.storage.proposal_unit_update(p.id, caller.unit_id, {"signed_at": desk.at}, unset="signed_at"):
            return Reply(f"{unit}已签收过这件提案，没有重复记录。", refusal=True)
        change(desk, caller, p, "sign", f"{unit}签收（{caller.name or ''}）")
    next_step = "“答复”" if role == "lead" else "“协办意见”"
    return Reply(
        f"已签收{name_of(p)}。答复期限 {p.reply_due}，请按时通过{next_step}办理。",
        unit_buttons(p, role, signed=True),
        personal=True,
    )


def unit_return_start(desk: Desk, caller: Caller, proposal_id: int) -> Reply:
    p, _ = _unit_role(desk, caller, proposal_id)
    if p.status not in OPEN:
        raise ProposalError(f"{name_of(p)}当前为“{label(p)}”，{STALE}")
    _ask(desk, caller, "unit_return", p)
    return Reply(f"申请退回{name_of(p)}：请发送理由（将转交政协办重新交办）。", personal=True)


def unit_return(desk: Desk, caller: Caller, proposal_id: int, reason: str) -> Reply:
    reason = reason.strip()
    if not reason:
        return Reply("理由不能为空，请发送申请退回的理由。", personal=True)
    p, _ = _unit_role(desk, caller, proposal_id)
    if p.status not in OPEN:
        raise ProposalError(f"{name_of(p)}当前为“{label(p)}”，{STALE}")
    unit = unit_name(desk.plan, caller.unit_id)
    others = [u.unit_id for u in desk.storage.proposal_units(p.id) if u.unit_id != caller.unit_id]
    notices = to_secretaries(
        desk,
        f"{unit}申请退回{name_of(p)}。\n理由：{reason}\n请重新交办。",
        [[button("重新交办", "re", p.id), button("查看全文", "vw", p.id)]],
    )
    notices += to_units(
        desk.storage, others, lambda _: f"{name_of(p)}已由{unit}申请退回，政协办将重新交办，请暂停办理。"
    )
    with desk.storage.atomic():
        change(
            desk,
            caller,
            p,
            "unit_return",
            f"{unit}申请退回：{reason}",
            {"status": "accepted", "assigned_on": None, "reply_due": None},
            when=OPEN,
            notices=notices,
        )
        desk.storage.proposal_input_clear(caller.telegram_id)
    return Reply(f"已提交退回申请，政协办将重新交办{name_of(p)}。", personal=True)


# ---- 协办意见 -----------------------------------------------------------------------------------


def helper_start(desk: Desk, caller: Caller, proposal_id: int) -> Reply:
    p, role = _unit_role(desk, caller, proposal_id)
    if role != "helper":
        return Reply("贵单位是主办单位，请点“答复”提交答复。", [[button("答复", "ra", p.id)]], refusal=True)
    if p.status not in OPEN:
        raise ProposalError(f"{name_of(p)}当前为“{label(p)}”，{STALE}")
    _ask(desk, caller, "helper", p)
    return Reply(f"请发送对{name_of(p)}的协办意见（文字，或 Word/PDF 文件），主办单位答复前会看到。", personal=True)


def helper_opinion(desk: Desk, caller: Caller, proposal_id: int, text: str = "", file: FileInfo | None = None) -> Reply:
    p, role = _unit_role(desk, caller, proposal_id)
    if role != "helper" or p.status not in OPEN:
        raise ProposalError(f"{name_of(p)}当前为“{label(p)}”，{STALE}")
    if file is not None and (problem := check_file(desk, file)):
        return Reply(problem, personal=True)
    text = text.strip()
    if not text and file is None:
        return Reply("协办意见不能为空。", personal=True)
    unit = unit_name(desk.plan, caller.unit_id)
    fields = {"opinion_at": desk.at}
    if text:
        fields["opinion"] = text
    if file is not None:
        fields["opinion_file"] = {"kind": "document", "file_id": file.file_id, "name": file.name}
    lead = [u.unit_id for u in desk.storage.proposal_units(p.id) if u.role == "lead"]
    shown = text or f"（见文件“{file.name}”）"
    notices = to_units(
        desk.storage,
        lead,
        lambda _: f"协办单位{unit}对{name_of(p)}提交了协办意见：\n{shown}",
        lambda _: [[button("答复", "ra", p.id)]],
        fields.get("opinion_file"),
    )
    with desk.storage.atomic():
        desk.storage.proposal_unit_update(p.id, caller.unit_id, {"signed_at": desk.at}, unset="signed_at")
        desk.storage.proposal_unit_update(p.id, caller.unit_id, fields)
        change(desk, caller, p, "helper_opinion", f"{unit}提交协办意见", notices=notices)
        desk.storage.proposal_input_clear(caller.telegram_id)
    return Reply(f"已提交协办意见，已转主办单位：{name_of(p)}。", personal=True)


# ---- 答复 -------------------------------------------------------------------------------------


def _lead(desk: Desk, caller: Caller, proposal_id: int) -> ProposalRow:
    p, role = _unit_role(desk, caller, proposal_id)
    if role != "lead":
        raise ProposalError("贵单位是协办单位，请提交协办意见；答复由主办单位提交。")
    if p.status not in OPEN:
        raise ProposalError(f"{name_of(p)}当前为“{label(p)}”，{STALE}")
    return p


def _content_buttons(p: ProposalRow) -> list:
    return [[button("内容完成", "rd", p.id)]]


def reply_start(desk: Desk, caller: Caller, proposal_id: int) -> Reply:
    p = _lead(desk, caller, proposal_id)
    with desk.storage.atomic():
        desk.storage.proposal_unit_update(p.id, caller.unit_id, {"signed_at": desk.at}, unset="signed_at")
        desk.storage.proposal_answer_save(
            p.id,
            caller.unit_id,
            p.round,
            {"text": "", "attachment": None, "result": None},
            caller.telegram_id or 0,
            desk.at,
        )
        _ask(desk, caller, "reply", p)
    opinions = _helper_opinions(desk, p)
    return Reply(
        f"答复{name_of(p)}（答复期限 {p.reply_due}）。\n{opinions}"
        "第一步：请发送答复内容（文字，可分几条），如有答复函请发送文件；完成后点“内容完成”。",
        _content_buttons(p),
        personal=True,
    )


def _helper_opinions(desk: Desk, p: ProposalRow) -> str:
    lines = []
    for u in desk.storage.proposal_units(p.id):
        if u.role == "helper":
            said = u.opinion or (f"（文件“{u.opinion_file['name']}”）" if u.opinion_file else "尚未提交")
            lines.append(f"协办单位{unit_name(desk.plan, u.unit_id)}的意见：{said}")
    return "\n".join(lines) + "\n" if lines else ""


def on_reply_text(desk: Desk, caller: Caller, p: ProposalRow, text: str) -> Reply:
    p = _lead(desk, caller, p.id)
    draft = desk.storage.proposal_answer_draft(p.id, caller.unit_id, p.round)
    text = text.strip()
    if not text:
        return Reply("答复内容不能为空。", _content_buttons(p), personal=True)
    body = f"{draft.text}\n{text}" if draft and draft.text else text
    if len(body) > desk.config.max_body:
        return Reply(
            f"答复内容超过 {desk.config.max_body} 字，请以答复函文件发送。", _content_buttons(p), personal=True
        )
    desk.storage.proposal_answer_save(p.id, caller.unit_id, p.round, {"text": body}, caller.telegram_id or 0, desk.at)
    _ask(desk, caller, "reply", p)
    return Reply(
        f"已收到（答复内容共 {len(body)} 字）。可继续发送或发送答复函，完成后点“内容完成”。",
        _content_buttons(p),
        personal=True,
    )


def on_reply_file(desk: Desk, caller: Caller, p: ProposalRow, file: FileInfo) -> Reply:
    p = _lead(desk, caller, p.id)
    problem = check_file(desk, file)
    if problem:
        return Reply(problem, _content_buttons(p), personal=True)
    attachment = {"kind": "document", "file_id": file.file_id, "name": file.name}
    desk.storage.proposal_answer_save(
        p.id, caller.unit_id, p.round, {"attachment": attachment}, caller.telegram_id or 0, desk.at
    )
    _ask(desk, caller, "reply", p)
    return Reply(f"已收到答复函“{file.name}”。完成后点“内容完成”。", _content_buttons(p), personal=True)


def reply_content_done(desk: Desk, caller: Caller, proposal_id: int) -> Reply:
    p = _lead(desk, caller, proposal_id)
    draft = desk.storage.proposal_answer_draft(p.id, caller.unit_id, p.round)
    if draft is None or (not draft.text and not draft.attachment):
        _ask(desk, caller, "reply", p)
        return Reply("答复内容不能为空，请发送文字或答复函。", _content_buttons(p), personal=True)
    desk.storage.proposal_input_clear(caller.telegram_id)
    buttons = [[button(f"{code} {text}", "rr", p.id, code)] for code, text in desk.config.results]
    return Reply("第二步：请选择办理结果：", buttons, personal=True)


def reply_result(desk: Desk, caller: Caller, proposal_id: int, code: str) -> Reply:
    p = _lead(desk, caller, proposal_id)
    draft = desk.storage.proposal_answer_draft(p.id, caller.unit_id, p.round)
    if code not in desk.config.result_labels or draft is None:
        raise ProposalError(STALE)
    desk.storage.proposal_answer_save(p.id, caller.unit_id, p.round, {"result": code}, caller.telegram_id or 0, desk.at)
    lines = [
        f"【答复预览】{name_of(p)}",
        f"办理结果：{code} {desk.config.result_labels[code]}",
        "",
        draft.text or "（见答复函）",
    ]
    if draft.attachment:
        lines.append(f"答复函：{draft.attachment['name']}")
    return Reply("\n".join(lines), [[button("提交答复", "rq", p.id), button("重写", "ra", p.id)]], personal=True)


def reply_submit(desk: Desk, caller: Caller, proposal_id: int) -> Reply:
    p = _lead(desk, caller, proposal_id)
    draft = desk.storage.proposal_answer_draft(p.id, caller.unit_id, p.round)
    if draft is None or draft.result is None:
        raise ProposalError(STALE)
    unit = unit_name(desk.plan, caller.unit_id)
    result = f"{draft.result} {desk.config.result_labels[draft.result]}"
    again = "（重新办理）" if p.round > 1 else ""
    text = desk.config.text(
        "reply_member",
        number=p.number,
        title=p.title,
        unit=unit,
        again=again,
        result=result,
        text=draft.text or "（见答复函）",
    )
    rating = [[button(label_, "rv", p.id, p.round, code) for code, label_ in desk.config.ratings]]
    notices = to_member(desk.storage, p.member_id, text, rating, draft.attachment)
    notices += to_secretaries(desk, f"{unit}已答复{name_of(p)}，办理结果 {result}。")
    with desk.storage.atomic():
        if not desk.storage.proposal_answer_submit(draft.id, desk.at):
            raise ProposalError(STALE)
        change(
            desk,
            caller,
            p,
            "reply",
            f"{unit}答复{again}，办理结果 {result}",
            {"status": "replied", "replied_on": desk.today.isoformat(), "result": draft.result},
            when=OPEN,
            notices=notices,
        )
    return Reply(f"已提交答复，已送达提案人：{name_of(p)}。", personal=True)


# ---- the member rates ---------------------------------------------------------------------------


def rate(desk: Desk, caller: Caller, proposal_id: int, round_: int, code: str) -> Reply:
    authorize(desk.storage, caller, "write_proposal")
    p = get(desk, proposal_id)
    if p.member_id != caller.member_id:
        raise ProposalError("只有提案人可以评价答复。")
    labels = desk.config.rating_labels
    if code not in labels or p.status != "replied" or p.round != round_:
        return Reply("这次答复已经评价过，没有重复记录。", refusal=True)
    if code == "3":
        desk.storage.proposal_input_set(caller.telegram_id, "rate_comment", p.id, desk.input_until(), {"round": round_})
        return Reply("请发送您不满意的原因和意见（将转交政协办和承办单位，并重新办理）。", personal=True)
    units = [u.unit_id for u in desk.storage.proposal_units(p.id)]
    word = labels[code]
    notices = to_secretaries(desk, f"提案人对{name_of(p)}的答复评价：{word}。")
    notices += to_units(desk.storage, units, lambda _: f"提案人对{name_of(p)}的答复评价：{word}。")
    change(
        desk,
        caller,
        p,
        "rate",
        f"提案人评价：{word}，办结",
        {"status": "closed", "rating": code},
        when=("replied",),
        notices=notices,
    )
    return Reply(f"谢谢您的评价（{word}）。{name_of(p)}已办结。", personal=True)


def reopen(desk: Desk, caller: Caller, proposal_id: int, round_: int, comment: str) -> Reply:
    """不满意 with a comment: 重新办理, due again after the reopen setting."""
    comment = comment.strip()
    if not comment:
        return Reply("请写明不满意的原因。", personal=True)
    authorize(desk.storage, caller, "write_proposal")
    p = get(desk, proposal_id)
    if p.member_id != caller.member_id or p.status != "replied" or p.round != round_:
        return Reply("这次答复已经评价过，没有重复记录。", refusal=True)
    due = add_months(desk.today, desk.config.reopen_months).isoformat()
    units = desk.storage.proposal_units(p.id)
    roles = {u.unit_id: u.role for u in units}
    reopened = replace(p, reply_due=due, round=p.round + 1, status="assigned")
    head = desk.config.text("reopen_unit", comment=comment, due=due)
    notices = to_units(
        desk.storage,
        list(roles),
        lambda unit_id: unit_message(desk, reopened, roles[unit_id], reopened=head),
        lambda unit_id: unit_buttons(reopened, roles[unit_id]),
    )
    notices += to_secretaries(desk, f"提案人对{name_of(p)}的答复不满意：{comment}\n已重新交办，答复期限 {due}。")
    with desk.storage.atomic():
        change(
            desk,
            caller,
            p,
            "reopen",
            f"提案人评价：不满意（{comment}），重新办理，答复期限 {due}",
            {
                "status": "assigned",
                "rating": "3",
                "round": p.round + 1,
                "reply_due": due,
                "replied_on": None,
                "result": None,
            },
            when=("replied",),
            notices=notices,
        )
        desk.storage.proposal_input_clear(caller.telegram_id)
    return Reply(f"已记录您的意见，{name_of(p)}将重新办理，答复期限 {due}。", personal=True)
