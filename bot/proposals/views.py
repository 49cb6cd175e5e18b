"""How proposals are shown: the full text, the review card, the dated timeline and the lists
(/myproposals, /review, /proposals). Everything here is personal data (Reply.personal)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.people.roles import Caller, authorize
from bot.proposals.desk import (
    KIND_LABELS,
    SOURCE,
    Desk,
    ProposalError,
    button,
    label,
    member_name,
    name_of,
    unit_name,
)
from bot.reply import Button, Reply
from bot.storage import stamp
from bot.storage.proposals import ProposalRow

BEFORE_ACCEPTANCE = ("draft", "cosigning", "review", "returned", "rejected")
UNIT_OPEN = ("assigned",)
COSIGN_LABELS = {"named": "待邀请", "invited": "待回复", "agreed": "同意", "declined": "不同意"}
CARD_BODY = 300


def may_view(desk: Desk, caller: Caller, p: ProposalRow) -> bool:
    """Secretaries always; the proposer always; co-signers before 立案; the assigned units after."""
    if "admin" in caller.capacities or caller.member_id == p.member_id:
        return True
    if p.status in BEFORE_ACCEPTANCE and caller.member_id is not None:
        return any(c.member_id == caller.member_id for c in desk.storage.cosigners(p.id))
    if caller.unit_id is not None and p.status not in BEFORE_ACCEPTANCE:
        return any(u.unit_id == caller.unit_id for u in desk.storage.proposal_units(p.id))
    return False


def check_view(desk: Desk, caller: Caller, p: ProposalRow) -> None:
    authorize(desk.storage, caller, "view_proposal")
    if not may_view(desk, caller, p):
        desk.storage.audit(caller.telegram_id, "denied", {"action": "view_proposal", "proposal_id": p.id})
        raise ProposalError("您无权查看这件提案。")


def _day(text: str | None) -> str:
    return datetime.fromisoformat(text).date().isoformat() if text and "T" in text else (text or "")


def units_line(desk: Desk, p: ProposalRow) -> str:
    units = desk.storage.proposal_units(p.id)
    lead = [unit_name(desk.plan, u.unit_id) for u in units if u.role == "lead"]
    helpers = [unit_name(desk.plan, u.unit_id) for u in units if u.role == "helper"]
    line = f"主办单位：{'、'.join(lead) or '（未定）'}"
    return line + (f"；协办单位：{'、'.join(helpers)}" if helpers else "")


def cosigners_line(desk: Desk, p: ProposalRow, *, agreed_only: bool = False) -> str:
    cosigners = desk.storage.cosigners(p.id)
    if agreed_only:
        names = [c.name for c in cosigners if c.status == "agreed"]
        return "、".join(names) if names else "无"
    return "、".join(f"{c.name}（{COSIGN_LABELS[c.status]}）" for c in cosigners) or "无"


def header(desk: Desk, p: ProposalRow) -> list[str]:
    lines = [name_of(p), f"{'反映人' if p.kind == 'opinion' else '提案人'}：{member_name(desk.storage, p.member_id)}"]
    if p.kind == "proposal":
        after = p.status not in BEFORE_ACCEPTANCE
        lines.append(f"联名：{cosigners_line(desk, p, agreed_only=after)}")
    lines.append(f"状态：{label(p)}")
    if p.assigned_on:
        lines.append(units_line(desk, p))
        lines.append(f"交办日期：{p.assigned_on}；答复期限：{p.reply_due}")
    return lines


def full_text(desk: Desk, p: ProposalRow) -> str:
    lines = header(desk, p)
    lines += ["", "正文：" if p.body else "正文：见附件", p.body] if p.body else ["", "正文：见附件"]
    if p.attachment:
        lines.append(f"附件：{p.attachment.get('name', '文件')}")
    return "\n".join(line for line in lines if line is not None)


def card(desk: Desk, p: ProposalRow) -> str:
    """The review card pushed to secretaries."""
    body = p.body if len(p.body) <= CARD_BODY else p.body[:CARD_BODY] + f"……（共 {len(p.body)} 字，点“查看全文”）"
    what = "社情民意审核" if p.kind == "opinion" else "提案审查"
    lines = [f"【{what}】", *header(desk, p), "", body or "（正文见附件）"]
    if p.attachment:
        lines.append(f"附件：{p.attachment.get('name', '文件')}")
    return "\n".join(lines)


def review_buttons(p: ProposalRow) -> list[list[Button]]:
    if p.kind == "opinion":
        return [
            [button("采用", "oa", p.id), button("报送上级", "or", p.id), button("不予采用", "on", p.id)],
            [button("退回修改", "rt", p.id), button("查看全文", "vw", p.id)],
        ]
    return [
        [button("立案", "la", p.id), button("不予立案", "rj", p.id), button("转社情民意", "cv", p.id)],
        [button("退回修改", "rt", p.id), button("查看全文", "vw", p.id)],
    ]


def decided_cards(desk: Desk, proposal_id: int) -> list[tuple[int, int]]:
    """(chat id, message id) of the review cards sent for a proposal whose review is over, so the
    transport can take their buttons away; [] while it still waits for review."""
    p = desk.storage.proposal(proposal_id)
    if p is None or p.status == "review":
        return []
    events = [e for e in desk.storage.proposal_events(p.id) if e.action == "review"]
    if not events:
        return []
    rows = desk.storage.outbox_rows(SOURCE, f"{p.id}:{events[-1].id}")
    return [
        (r.chat_id, r.message_id)
        for r in rows
        if r.recipient_key.startswith("secretary:") and r.buttons and r.message_id is not None
    ]


def timeline(desk: Desk, p: ProposalRow) -> str:
    lines = [f"{_day(e.at)} {e.text}" for e in desk.storage.proposal_events(p.id) if e.text]
    return "\n".join(lines)


def detail(desk: Desk, caller: Caller, proposal_id: int) -> Reply:
    p = desk.storage.proposal(proposal_id)
    if p is None or p.status == "discarded":
        raise ProposalError(f"没有编号为 {proposal_id} 的提案或社情民意。")
    check_view(desk, caller, p)
    text = full_text(desk, p)
    replies = desk.storage.proposal_answers(p.id)
    for r in replies:
        result = desk.config.result_labels.get(r.result or "", "")
        who = f"{unit_name(desk.plan, r.unit_id)}，{_day(r.submitted_at)}，{r.result} {result}"
        text += f"\n\n第{r.round}次答复（{who}）：\n{r.text or '见答复函'}"
    if p.instruction:
        text += f"\n\n领导批示：{p.instruction}"
    text += "\n\n办理过程：\n" + timeline(desk, p)
    buttons = actions(desk, caller, p)
    if p.attachment:
        buttons.append([button("下载附件", "fa", p.id)])
    if any(r.attachment for r in replies):
        buttons.append([button("下载答复函", "fr", p.id)])
    return Reply(text, buttons, personal=True)


def actions(desk: Desk, caller: Caller, p: ProposalRow) -> list[list[Button]]:
    """What the viewer can do next from the detail view (so nothing depends on an old message)."""
    found: list[list[Button]] = []
    if "admin" in caller.capacities:
        if p.status == "review":
            first, second = review_buttons(p)
            found += [first, [b for b in second if not b.data.startswith("pp:vw:")]]
        elif p.status == "accepted":
            found.append([button("选择承办单位并交办", "re", p.id)])
        elif p.kind == "opinion" and p.status in ("adopted", "reported"):
            found.append([button("记录领导批示", "oi", p.id)])
    if caller.member_id == p.member_id:
        if p.status == "returned":
            found.append([button("修改后重新提交", "rs", p.id)])
        elif p.status == "replied":
            found.append([button(text, "rv", p.id, p.round, code) for code, text in desk.config.ratings])
    cosigner = next((c for c in desk.storage.cosigners(p.id) if c.member_id == caller.member_id), None)
    if cosigner is not None and cosigner.status == "invited" and p.status == "cosigning":
        found.append([button("同意联名", "ya", p.id), button("不同意", "yn", p.id)])
    if caller.unit_id is not None and p.status == "assigned":
        role = next((u.role for u in desk.storage.proposal_units(p.id) if u.unit_id == caller.unit_id), None)
        if role == "lead":
            found.append([button("答复", "ra", p.id), button("申请退回", "ub", p.id)])
        elif role == "helper":
            found.append([button("协办意见", "ho", p.id), button("申请退回", "ub", p.id)])
    return found


def mine(desk: Desk, caller: Caller) -> Reply:
    """/myproposals: the member's proposals and 社情民意 (written or co-signed) with a dated timeline."""
    authorize(desk.storage, caller, "write_proposal")
    items = desk.storage.proposals_of_member(caller.member_id)
    if not items:
        return Reply("您还没有通过助手提交提案或社情民意。发送 /propose 写提案，/opinion 反映社情民意。", personal=True)
    lines = ["我的提案和社情民意："]
    buttons = []
    for p in items[:20]:
        role = "" if p.member_id == caller.member_id else _cosign_role(desk, p, caller.member_id)
        lines.append("")
        lines.append(f"{name_of(p)}{role}：{label(p)}")
        if not may_view(desk, caller, p):  # a co-signer after 立案: the state only (see may_view)
            lines.append("  立案后的办理情况由提案人查看。")
            continue
        if p.reply_due and p.status == "assigned":
            lines.append(f"  {units_line(desk, p)}，答复期限 {p.reply_due}")
        events = desk.storage.proposal_events(p.id)
        lines += [f"  {_day(e.at)} {e.text}" for e in events[-4:] if e.text]
        buttons.append([button(f"查看 {p.number or '#' + str(p.id)}", "vw", p.id)])
    if len(items) > 20:
        lines.append(f"\n（共 {len(items)} 件，只列出最近 20 件）")
    draft = [p for p in desk.storage.proposals_where(member_id=caller.member_id, statuses=("draft",))]
    if draft:
        lines.append(f"\n另有 {len(draft)} 份草稿未提交，发送 /propose 或 /opinion 继续。")
    return Reply("\n".join(lines), buttons[:10], personal=True)


def _cosign_role(desk: Desk, p: ProposalRow, member_id: int) -> str:
    mine = next((c for c in desk.storage.cosigners(p.id) if c.member_id == member_id), None)
    return "（邀请您联名，待您答复）" if mine and mine.status == "invited" else "（联名）"


def review_list(desk: Desk, caller: Caller) -> Reply:
    """/review: what waits for the secretaries, with the year's statistics and the export."""
    from bot.proposals.export import statistics, statistics_text

    authorize(desk.storage, caller, "review_proposal")
    waiting = desk.storage.proposals_where(statuses=("review", "accepted"))
    lines = []
    buttons: list[list[Button]] = []
    if waiting:
        lines.append(f"待处理 {len(waiting)} 件：")
        for p in waiting[:30]:
            since = _day(p.review_since or p.submitted_at)
            step = "待交办" if p.status == "accepted" else "待审查"
            lines.append(f"· {name_of(p)}，{member_name(desk.storage, p.member_id)}，{since} 起{step}")
        buttons += [[button(f"处理 {p.number or '#' + str(p.id)}", "vw", p.id)] for p in waiting[:8]]
    else:
        lines.append("目前没有待审查的提案或社情民意。")
    overdue = [p for p in desk.storage.proposals_where(statuses=("assigned",)) if p.reply_due < desk.today.isoformat()]
    if overdue:
        lines.append(f"\n答复超期 {len(overdue)} 件：")
        lines += [f"· {name_of(p)}，{units_line(desk, p)}，期限 {p.reply_due}" for p in overdue[:20]]
    lines += undelivered_lines(desk)
    lines.append("")
    lines.append(statistics_text(statistics(desk, desk.today.year)))
    buttons.append([Button(f"导出{desk.today.year}年汇总表", f"pp:ex:{desk.today.year}")])
    return Reply("\n".join(lines), buttons, personal=True)


def undelivered_lines(desk: Desk, days: int = 30) -> list[str]:
    """Who did not get a proposal message in the last ``days`` (so the office can call them)."""
    since = stamp(desk.now - timedelta(days=days))
    missed: dict[tuple[int, str], None] = {}
    for proposal_id, key, _ in desk.storage.proposal_undelivered(since):
        kind, _, rest = key.partition(":")
        person_id = rest.partition(":")[0]
        if kind in ("member", "unit") and person_id.isdigit():
            person = desk.storage.person("member" if kind == "member" else "unit_contact", int(person_id))
            who = person.name if person else key
            if kind == "unit" and person is not None:
                who = f"{unit_name(desk.plan, person.unit_id)}{who}"
            missed[(proposal_id, who)] = None
    if not missed:
        return []
    lines = [f"\n近 {days} 天未能送达的提案消息 {len(missed)} 条（对方未启用或已屏蔽助手，请电话告知）："]
    for proposal_id, who in list(missed)[:20]:
        p = desk.storage.proposal(proposal_id)
        lines.append(f"· {who}：{name_of(p) if p else proposal_id}")
    return lines


def unit_list(desk: Desk, caller: Caller) -> Reply:
    """/proposals: the unit's open proposals with due dates."""
    authorize(desk.storage, caller, "handle_proposal")
    if caller.unit_id is None:
        raise ProposalError("只有承办单位联络员可以查看本单位提案。")
    items = desk.storage.proposals_of_unit(caller.unit_id, UNIT_OPEN)
    name = unit_name(desk.plan, caller.unit_id)
    if not items:
        return Reply(f"{name}目前没有待办理的提案。", personal=True)
    lines = [f"{name}待办理的提案 {len(items)} 件："]
    buttons = []
    for p, role in items[:30]:
        late = "，已超期" if p.reply_due and p.reply_due < desk.today.isoformat() else ""
        lines.append(f"· {name_of(p)}（{'主办' if role == 'lead' else '协办'}），答复期限 {p.reply_due}{late}")
        verb, text = ("ra", "答复") if role == "lead" else ("ho", "协办意见")
        buttons.append([button(f"{text} {p.number}", verb, p.id), button("查看", "vw", p.id)])
    return Reply("\n".join(lines), buttons[:10], personal=True)


def draft_preview(desk: Desk, p: ProposalRow) -> str:
    kind = KIND_LABELS[p.kind]
    lines = [f"【{kind}预览】", f"{'案由' if p.kind == 'proposal' else '标题'}：{p.title}"]
    if p.kind == "proposal":
        lines.append(f"联名：{cosigners_line(desk, p)}")
    body = p.body if len(p.body) <= 1500 else p.body[:1500] + f"……（共 {len(p.body)} 字，提交后全文保存）"
    lines += ["", body or "（正文见附件）"]
    if p.attachment:
        lines.append(f"附件：{p.attachment.get('name', '文件')}")
    if p.kind == "proposal" and desk.storage.cosigners(p.id):
        lines.append(
            f"\n提交后将请联名委员确认；全部回复后或 {desk.config.cosign_wait_days} 天后（以先到者为准）进入审查。"
        )
    return "\n".join(lines)
