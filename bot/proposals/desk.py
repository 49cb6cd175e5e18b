"""What every proposal action needs: the services, statuses, one state change as one
transaction (timeline, linked record, outbox messages and audit together), and who is told."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from bot.errors import UserError
from bot.notices.outbox import Attachment, Outgoing, enqueue
from bot.people.roles import Caller
from bot.plan.model import Plan
from bot.proposals.config import ProposalConfig
from bot.reply import Button
from bot.storage import Storage, actor_label, stamp
from bot.storage.proposals import ProposalRow
from bot.textsplit import TELEGRAM_LIMIT, split_message, utf16_len

SOURCE = "proposal"  # outbox source kind
CALLBACK = "pp"
PROPOSAL_LABELS = {
    "draft": "草稿",
    "discarded": "已放弃",
    "cosigning": "征集联名中",
    "review": "待审查",
    "returned": "退回修改",
    "rejected": "不予立案",
    "accepted": "已立案，待交办",
    "assigned": "办理中",
    "replied": "已答复，待评价",
    "closed": "已办结",
}
OPINION_LABELS = {
    "draft": "草稿",
    "discarded": "已放弃",
    "review": "待审核",
    "returned": "退回修改",
    "adopted": "已采用",
    "reported": "已报送上级",
    "not_adopted": "不予采用",
}
KIND_LABELS = {"proposal": "提案", "opinion": "社情民意"}
# proposal status → the status of the linked record that /mine, /progress and the reminders read
RECORD_STATUS = {"accepted": "accepted", "assigned": "assigned", "replied": "replied", "closed": "replied"}
CAPTION_LIMIT = 1024
STALE = "这个按钮已失效（该事项已处理或状态已变化），没有做任何更改。"


class ProposalError(UserError, ValueError):
    """A refused proposal action; ``message`` is Simplified Chinese for the user."""


@dataclass
class Desk:
    """The services one call works with; ``now`` is fixed per call (tests pass their own)."""

    storage: Storage
    plan: Plan
    config: ProposalConfig
    secretaries: frozenset[int]
    now: datetime = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.now is None:
            self.now = self.storage.now()

    @property
    def today(self) -> date:
        return self.now.date()

    @property
    def at(self) -> str:
        return stamp(self.now)

    def reply_months(self) -> int:
        try:
            return self.plan.setting("proposal_reply_limit").months or self.config.reply_months
        except StopIteration:
            return self.config.reply_months

    def all_secretaries(self) -> list[int]:
        return sorted(self.secretaries | {admin.telegram_id for admin in self.storage.admins()})

    def input_until(self) -> str:
        return stamp(self.now + timedelta(minutes=self.config.input_minutes))


def label(p: ProposalRow) -> str:
    return (OPINION_LABELS if p.kind == "opinion" else PROPOSAL_LABELS).get(p.status, p.status)


def name_of(p: ProposalRow) -> str:
    """How a proposal is named in messages: 提案 2027-001《案由》 or 社情民意 #12《标题》."""
    tag = p.number or f"#{p.id}"
    return f"{KIND_LABELS[p.kind]} {tag}《{p.title}》"


def member_name(storage: Storage, member_id: int) -> str:
    member = storage.person("member", member_id)
    return member.name if member else f"委员{member_id}"


def unit_name(plan: Plan, unit_id: str) -> str:
    unit = plan.catalogue.units.get(unit_id)
    return unit.short if unit else unit_id


def get(desk: Desk, proposal_id: int) -> ProposalRow:
    p = desk.storage.proposal(proposal_id)
    if p is None or p.status == "discarded":
        raise ProposalError(f"没有编号为 {proposal_id} 的提案或社情民意。")
    return p


def button(text: str, verb: str, proposal_id: int, *args: object) -> Button:
    return Button(text, ":".join([CALLBACK, verb, str(proposal_id), *map(str, args)]))


def reminder_buttons(ref: str | None, secretary: bool) -> tuple[Button, ...]:
    """The buttons a reply-deadline reminder about a record carries when the assistant handles
    the proposal (``ref`` "proposal:<id>"): 答复 for the units, 查看 for secretaries; () otherwise."""
    if not ref or not ref.startswith(f"{SOURCE}:"):
        return ()
    proposal_id = ref.partition(":")[2]
    if secretary:
        return (Button("查看提案", f"{CALLBACK}:vw:{proposal_id}"),)
    return (Button("答复", f"{CALLBACK}:ra:{proposal_id}"), Button("查看提案", f"{CALLBACK}:vw:{proposal_id}"))


# ---- who is told ------------------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    """One message to one person, queued in the outbox with the state change."""

    key: str  # unique within the change: "member:3", "unit:12", "secretary:9001"
    chat_id: int
    text: str
    buttons: list[list[Button]] = field(default_factory=list)
    attachment: dict[str, Any] | None = None


def member_chat(storage: Storage, member_id: int) -> int | None:
    binding = storage.binding_of_person("member", member_id)
    return binding.telegram_id if binding else None


def to_member(storage: Storage, member_id: int, text: str, buttons=None, attachment=None) -> list[Notice]:
    chat = member_chat(storage, member_id)
    return [] if chat is None else [Notice(f"member:{member_id}", chat, text, buttons or [], attachment)]


def to_units(storage: Storage, unit_ids: list[str], text_for, buttons_for=None, attachment=None) -> list[Notice]:
    """Every bound, active contact of the units; ``text_for(unit_id)`` / ``buttons_for(unit_id)``."""
    chats = storage.chat_ids_of("unit_contact")
    notices = []
    for unit_id in unit_ids:
        for contact in storage.people("unit_contact", active=True):
            if contact.unit_id == unit_id and contact.id in chats:
                buttons = buttons_for(unit_id) if buttons_for else []
                notices.append(Notice(f"unit:{contact.id}", chats[contact.id], text_for(unit_id), buttons, attachment))
    return notices


def to_secretaries(desk: Desk, text: str, buttons=None) -> list[Notice]:
    return [Notice(f"secretary:{chat}", chat, text, buttons or []) for chat in desk.all_secretaries()]


def _measure(text: str) -> int:
    return utf16_len(html.escape(text, quote=False))


def outgoing(notice: Notice) -> list[Outgoing]:
    """A notice as outbox rows: the attachment first (short caption), then the text split below
    Telegram's limit with the buttons on its last part."""
    rows: list[Outgoing] = []
    if notice.attachment:
        file = Attachment("document", notice.attachment["file_id"], notice.attachment.get("name", ""))
        caption = f"附件：{file.name}"[:CAPTION_LIMIT]
        rows.append(Outgoing(f"{notice.key}:file", notice.chat_id, caption, attachment=file))
    parts = split_message(notice.text, TELEGRAM_LIMIT - 96, _measure) or ["（无内容）"]
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        rows.append(Outgoing(f"{notice.key}:{index}", notice.chat_id, part, notice.buttons if last else []))
    return rows


# ---- one state change -------------------------------------------------------------------


def change(
    desk: Desk,
    caller: Caller,
    p: ProposalRow,
    action: str,
    timeline: str,
    fields: dict[str, Any] | None = None,
    *,
    when: tuple[str, ...] = (),
    notices: list[Notice] = (),
    touch: bool = True,
) -> ProposalRow:
    """Apply ``fields`` to the proposal (only while its status is in ``when``), add the timeline
    entry, keep the linked record in step, queue the notices and audit — one transaction
    (``touch``: also mark the proposal as edited now, which restarts a draft's expiry).
    A proposal no longer in ``when`` (a stale button, a second press) raises ProposalError."""
    storage = desk.storage
    with storage.atomic():
        if fields or when:
            updated = dict(fields or {}, **({"updated_at": desk.at} if touch else {}))
            if not storage.proposal_update(p.id, updated, when=when):
                raise ProposalError(STALE)
        event_id = storage.proposal_event(p.id, desk.at, actor_label(caller.telegram_id), action, timeline)
        current = storage.proposal(p.id)
        sync_record(desk, current)
        rows = [row for notice in notices for row in outgoing(notice)]
        if rows:
            enqueue(storage, source_kind=SOURCE, source_id=f"{p.id}:{event_id}", messages=rows, now=desk.now)
        detail = {key: value for key, value in (fields or {}).items() if key not in ("body", "attachment")}
        storage.audit(caller.telegram_id, f"proposal_{action}", {"proposal_id": p.id, **detail}, desk.now)
    return current


def sync_record(desk: Desk, p: ProposalRow) -> None:
    """The proposer's record (and agreed co-signers' when 联名 counts) mirrors the proposal, so
    /mine, /progress and the reply-deadline reminders follow it. Nothing before submission."""
    storage = desk.storage
    ref = f"proposal:{p.id}"
    if p.submitted_at is None:
        return
    if p.status == "discarded":  # withdrawn after 退回修改: it no longer counts
        storage.unlink_records(ref)
        return
    kind = "社情民意" if p.kind == "opinion" else "提案"
    existing = storage.records_from(ref)
    if any(r.kind != kind for r in existing):  # 转社情民意: the record changes kind
        storage.unlink_records(ref)
        existing = []
    members = [p.member_id]
    if desk.config.cosign_counts and p.kind == "proposal":
        members += [c.member_id for c in storage.cosigners(p.id) if c.status == "agreed"]
    units = tuple(u.unit_id for u in storage.proposal_units(p.id)) if p.assigned_on else ()
    lifecycle = {
        "status": (RECORD_STATUS.get(p.status, "submitted")) if kind == "提案" else None,
        "units": units,
        "assigned_on": date.fromisoformat(p.assigned_on) if p.assigned_on and kind == "提案" else None,
        "reply_due": date.fromisoformat(p.reply_due) if p.reply_due and kind == "提案" else None,
        "replied_on": date.fromisoformat(p.replied_on) if p.replied_on and kind == "提案" else None,
    }
    if lifecycle["status"] not in ("replied",):
        lifecycle["replied_on"] = None
    submitted = datetime.fromisoformat(p.submitted_at).date()
    for member_id in members:
        record = next((r for r in existing if r.member_id == member_id), None)
        if record is None:
            storage.link_record(
                {
                    "member_id": member_id,
                    "kind": kind,
                    "title": p.title[:200],
                    "date": submitted,
                    "created_by": actor_label(p.author_tg),
                    "created_at": p.submitted_at,
                    "source": "proposal",
                    "ref": ref,
                    **lifecycle,
                }
            )
        else:
            storage.update_record(record.id, {"title": p.title[:200], **lifecycle})
