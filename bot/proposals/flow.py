"""One entry for the transports: a typed message, a document or a button press, routed to the
step it answers. Transport-free; the Telegram handlers and the tests call these."""

from __future__ import annotations

from datetime import datetime

from bot.numbers import read_number
from bot.people.roles import Caller, PermissionDenied
from bot.proposals import drafts, handling, review
from bot.proposals.desk import STALE, Desk, ProposalError
from bot.proposals.drafts import FileInfo
from bot.proposals.views import detail
from bot.reply import Reply
from bot.storage.proposals import InputRow

TEXT_STEPS = {
    "title": lambda d, c, p, t: drafts.on_title(d, c, p, t),
    "body": lambda d, c, p, t: drafts.on_body_text(d, c, p, t),
    "cosigners": lambda d, c, p, t: drafts.on_cosigner_names(d, c, p, t),
    "lead": lambda d, c, p, t: review.on_lead(d, c, p, t),
    "helpers": lambda d, c, p, t: review.on_helpers(d, c, p, t),
    "reject": lambda d, c, p, t: review.reject(d, c, p.id, t),
    "return": lambda d, c, p, t: review.return_for_revision(d, c, p.id, t),
    "not_adopt": lambda d, c, p, t: review.not_adopt(d, c, p.id, t),
    "instruction": lambda d, c, p, t: review.instruction(d, c, p.id, t),
    "unit_return": lambda d, c, p, t: handling.unit_return(d, c, p.id, t),
    "reply": lambda d, c, p, t: handling.on_reply_text(d, c, p, t),
    "helper": lambda d, c, p, t: handling.helper_opinion(d, c, p.id, t),
}
FILE_STEPS = ("body", "reply", "helper")
CANCEL_WORDS = {"取消", "算了", "退出"}


def awaiting(desk: Desk, telegram_id: int, *, document: bool = False) -> InputRow | None:
    """The step waiting for this person's next message (a document only for the steps that take one)."""
    row = desk.storage.proposal_input_of(telegram_id)
    if row is None or datetime.fromisoformat(row.until) < desk.now:
        return None
    if document and row.what not in FILE_STEPS:
        return None
    return row


def _guard(call) -> Reply:
    try:
        return call()
    except (ProposalError, PermissionDenied) as exc:
        return Reply(exc.message, refusal=True)


def on_text(desk: Desk, caller: Caller, text: str) -> Reply | None:
    """The answer to the open step, or None when nothing waits for this person."""
    row = awaiting(desk, caller.telegram_id)
    if row is None:
        return None
    p = desk.storage.proposal(row.proposal_id)
    if p is None:
        desk.storage.proposal_input_clear(caller.telegram_id)
        return None
    if text.strip() in CANCEL_WORDS:
        desk.storage.proposal_input_clear(caller.telegram_id)
        return Reply("好的，已停止等待输入。草稿和已填写的内容都已保存，可随时继续。", personal=True)
    if row.what == "rate_comment":
        reply = _guard(lambda: handling.reopen(desk, caller, p.id, row.data.get("round", 0), text))
    else:
        reply = _guard(lambda: TEXT_STEPS[row.what](desk, caller, p, text))
    if reply.refusal:  # the step cannot go on (stale, not permitted): stop taking messages for it
        desk.storage.proposal_input_clear(caller.telegram_id)
    return reply


def on_document(desk: Desk, caller: Caller, file: FileInfo) -> Reply | None:
    row = awaiting(desk, caller.telegram_id, document=True)
    if row is None:
        return None
    p = desk.storage.proposal(row.proposal_id)
    if p is None:
        return None
    if row.what == "body":
        return _guard(lambda: drafts.on_body_file(desk, caller, p, file))
    if row.what == "reply":
        return _guard(lambda: handling.on_reply_file(desk, caller, p, file))
    return _guard(lambda: handling.helper_opinion(desk, caller, p.id, file=file))


# button verb → (function, number of extra arguments)
BUTTONS = {
    "rs": drafts.resume,
    "dx": drafts.discard,
    "bd": drafts.body_done,
    "nc": drafts.cosigners_done,
    "sb": drafts.submit,
    "ed": drafts.edit_menu,
    "et": lambda d, c, i: drafts.edit(d, c, i, "title"),
    "eb": lambda d, c, i: drafts.edit(d, c, i, "body"),
    "ec": lambda d, c, i: drafts.edit(d, c, i, "cosigners"),
    "pv": drafts.show_preview,
    "ya": lambda d, c, i: drafts.cosign(d, c, i, True),
    "yn": lambda d, c, i: drafts.cosign(d, c, i, False),
    "la": review.accept,
    "re": review.reassign,
    "hn": review.helpers_done,
    "as": review.assign,
    "rj": review.reject_start,
    "cv": review.convert,
    "rt": review.return_start,
    "oa": review.adopt,
    "or": review.report_up,
    "on": review.not_adopt_start,
    "oi": review.instruction_start,
    "sg": handling.sign,
    "ub": handling.unit_return_start,
    "ho": handling.helper_start,
    "ra": handling.reply_start,
    "rd": handling.reply_content_done,
    "rq": handling.reply_submit,
    "vw": detail,
}
WITH_ARGUMENT = {
    "ac": lambda d, c, i, a: drafts.add_cosigner(d, c, i, _number(a)),
    "rc": lambda d, c, i, a: review.reject_category(d, c, i, _number(a)),
    "lu": review.pick_lead,
    "hu": review.pick_helper,
    "rr": handling.reply_result,
}


def _number(text: str) -> int:
    value = read_number(text, low=0)
    if value is None:
        raise ProposalError(STALE)
    return value


def on_button(desk: Desk, caller: Caller, data: str) -> Reply:
    """``pp:<verb>:<proposal id>[:<argument>…]``; unknown or malformed data is a stale button."""
    parts = data.split(":")
    if len(parts) < 3 or parts[0] != "pp":
        return Reply(STALE, refusal=True)
    verb, rest = parts[1], parts[2:]
    proposal_id = read_number(rest[0], low=1)
    if proposal_id is None:
        return Reply(STALE, refusal=True)
    if verb == "rv" and len(rest) == 3:
        round_ = read_number(rest[1], low=1)
        return _guard(lambda: handling.rate(desk, caller, proposal_id, round_ or 0, rest[2]))
    if verb in BUTTONS and len(rest) == 1:
        return _guard(lambda: BUTTONS[verb](desk, caller, proposal_id))
    if verb in WITH_ARGUMENT and len(rest) == 2:
        return _guard(lambda: WITH_ARGUMENT[verb](desk, caller, proposal_id, rest[1]))
    return Reply(STALE, refusal=True)
