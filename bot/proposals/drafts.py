"""Members write: /propose (案由 → 正文 → 联名 → preview → 提交) and /opinion (标题 → 内容 →
preview → 提交), co-signers answer, and a submission reaches the secretaries' review.

Drafts are rows of ``proposals`` with status ``draft``; the question the assistant waits to
have answered is a row of ``proposal_inputs``; both survive restarts.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import timedelta

from rapidfuzz import fuzz

from bot.people.roles import Caller, authorize
from bot.proposals.desk import (
    KIND_LABELS,
    STALE,
    Desk,
    ProposalError,
    button,
    change,
    get,
    member_name,
    name_of,
    to_member,
    to_secretaries,
)
from bot.proposals.views import card, cosigners_line, draft_preview, full_text, review_buttons
from bot.reply import Reply
from bot.storage import stamp
from bot.storage.proposals import ProposalRow

_NAME_SEPARATORS = re.compile(r"[、,，;；/\s]+")
FUZZY_CUTOFF = 50  # two-character names: one character wrong
NAME_TITLES = ("委员", "同志")
MAX_COSIGNERS = 20


@dataclass(frozen=True)
class FileInfo:
    """A document a person sent: Telegram's file id, its name and size in bytes."""

    file_id: str
    name: str
    size: int | None
    photo: bool = False  # a picture sent as a photo (Telegram compresses it and gives it no name)


def _member(desk: Desk, caller: Caller) -> None:
    authorize(desk.storage, caller, "write_proposal")


def own_draft(desk: Desk, caller: Caller, proposal_id: int, statuses: tuple[str, ...] = ("draft",)) -> ProposalRow:
    _member(desk, caller)
    p = desk.storage.proposal(proposal_id)
    if p is None or p.member_id != caller.member_id or p.status not in statuses:
        raise ProposalError("这份草稿已提交、已放弃或已过期，没有做任何更改。发送 /propose 或 /opinion 重新开始。")
    return p


def _ask(desk: Desk, caller: Caller, what: str, p: ProposalRow) -> None:
    desk.storage.proposal_input_set(caller.telegram_id, what, p.id, desk.input_until())


def _title_word(p: ProposalRow) -> str:
    return "案由" if p.kind == "proposal" else "标题"


def _body_word(p: ProposalRow) -> str:
    return "正文" if p.kind == "proposal" else "内容"


# ---- starting and resuming ---------------------------------------------------------------


def start(desk: Desk, caller: Caller, kind: str) -> Reply:
    """/propose or /opinion: a new draft, or the open one offered to continue."""
    _member(desk, caller)
    drafts = desk.storage.proposals_where(member_id=caller.member_id, statuses=("draft",), kind=kind)
    if drafts:
        p = drafts[-1]
        return Reply(
            f"您有一份未提交的{KIND_LABELS[kind]}草稿《{p.title or '（未写标题）'}》。",
            [[button("继续编辑", "rs", p.id), button("放弃草稿", "dx", p.id)]],
            personal=True,
        )
    with desk.storage.atomic():
        proposal_id = desk.storage.proposal_insert(
            {
                "kind": kind,
                "member_id": caller.member_id,
                "author_tg": caller.telegram_id or 0,
                "status": "draft",
                "created_at": desk.at,
                "updated_at": desk.at,
            }
        )
        p = desk.storage.proposal(proposal_id)
        _ask(desk, caller, "title", p)
    if kind == "proposal":
        text = (
            "好的，开始写提案（草稿会自动保存 {d} 天）。\n"
            "第一步：请发送提案的案由（标题），例如“关于加强农村供水保障的建议”。"
        )
    else:
        text = "好的，开始反映社情民意（草稿会自动保存 {d} 天）。\n第一步：请发送标题。"
    return Reply(text.format(d=desk.config.draft_days), [[button("取消", "dx", p.id)]], personal=True)


def resume(desk: Desk, caller: Caller, proposal_id: int) -> Reply:
    """继续编辑 (a draft) or 修改后重新提交 (a proposal returned for revision)."""
    p = own_draft(desk, caller, proposal_id, ("draft", "returned"))
    if p.status == "returned":
        p = change(desk, caller, p, "revise", "", {"status": "draft"}, when=("returned",))
    if not p.title:
        _ask(desk, caller, "title", p)
        return Reply(f"请发送{_title_word(p)}。", personal=True)
    if not p.body and not p.attachment:
        _ask(desk, caller, "body", p)
        return Reply(f"请发送{_body_word(p)}。", [[button(f"{_body_word(p)}完成", "bd", p.id)]], personal=True)
    return preview(desk, caller, p)


def preview(desk: Desk, caller: Caller, p: ProposalRow) -> Reply:
    desk.storage.proposal_input_clear(caller.telegram_id)
    return Reply(
        draft_preview(desk, p),
        [[button("提交", "sb", p.id), button("修改", "ed", p.id), button("取消", "dx", p.id)]],
        personal=True,
    )


def discard(desk: Desk, caller: Caller, proposal_id: int) -> Reply:
    p = own_draft(desk, caller, proposal_id, ("draft", "returned"))
    with desk.storage.atomic():
        change(desk, caller, p, "discard", "", {"status": "discarded"}, when=("draft", "returned"))
        desk.storage.proposal_input_clear(caller.telegram_id)
    return Reply("已放弃这份草稿。", personal=True)


def edit_menu(desk: Desk, caller: Caller, proposal_id: int) -> Reply:
    p = own_draft(desk, caller, proposal_id)
    row = [button(f"改{_title_word(p)}", "et", p.id), button(f"改{_body_word(p)}", "eb", p.id)]
    if p.kind == "proposal":
        row.append(button("改联名", "ec", p.id))
    return Reply("要修改哪一部分？", [row, [button("返回预览", "pv", p.id)]], personal=True)


def edit(desk: Desk, caller: Caller, proposal_id: int, part: str) -> Reply:
    p = own_draft(desk, caller, proposal_id)
    if part == "title":
        _ask(desk, caller, "title", p)
        return Reply(f"请发送新的{_title_word(p)}（原{_title_word(p)}：{p.title}）。", personal=True)
    if part == "body":
        with desk.storage.atomic():
            desk.storage.proposal_update(p.id, {"body": "", "attachment": None, "updated_at": desk.at})
            _ask(desk, caller, "body", p)
        return Reply(
            f"请重新发送{_body_word(p)}（可分几条发送，也可发送文件），发完后点“{_body_word(p)}完成”。",
            [[button(f"{_body_word(p)}完成", "bd", p.id)]],
            personal=True,
        )
    with desk.storage.atomic():
        desk.storage.cosigners_clear(p.id)
        _ask(desk, caller, "cosigners", p)
    return _cosigner_prompt(p)


def show_preview(desk: Desk, caller: Caller, proposal_id: int) -> Reply:
    return preview(desk, caller, own_draft(desk, caller, proposal_id))


# ---- the steps ---------------------------------------------------------------------------


def on_title(desk: Desk, caller: Caller, p: ProposalRow, text: str) -> Reply:
    title = " ".join(text.split())
    word = _title_word(p)
    if not title:
        return Reply(f"{word}不能为空，请重新发送。", personal=True)
    if title.endswith(("？", "?")):  # a question typed while the draft waits for its title
        return Reply(
            f"这像是一个问题，没有作为{word}保存。请重新发送{word}；如要先提问，请发送“取消”（草稿会保留）。",
            personal=True,
        )
    if len(title) > desk.config.max_title:
        return Reply(
            f"{word}过长（{len(title)} 字，最多 {desk.config.max_title} 字）。"
            f"请精简后重新发送；具体内容请写在{_body_word(p)}里。",
            personal=True,
        )
    with desk.storage.atomic():
        desk.storage.proposal_update(p.id, {"title": title, "updated_at": desk.at, "draft_reminded": 0})
        p = desk.storage.proposal(p.id)
        if p.body or p.attachment:
            return preview(desk, caller, p)
        _ask(desk, caller, "body", p)
    return Reply(
        f"{word}：{title}\n第二步：请发送{_body_word(p)}。可以分几条消息发送，也可以发送 Word、PDF 或 TXT 文件；"
        f"发完后点“{_body_word(p)}完成”。",
        [[button(f"{_body_word(p)}完成", "bd", p.id)]],
        personal=True,
    )


def on_body_text(desk: Desk, caller: Caller, p: ProposalRow, text: str) -> Reply:
    text = text.strip()
    if not text:
        return Reply(f"{_body_word(p)}不能为空。", personal=True)
    body = f"{p.body}\n{text}" if p.body else text
    if len(body) > desk.config.max_body:
        return Reply(
            f"{_body_word(p)}超过 {desk.config.max_body} 字，这一段没有收下。较长的材料请以 Word 或 PDF 文件发送。",
            [[button(f"{_body_word(p)}完成", "bd", p.id)]],
            personal=True,
        )
    desk.storage.proposal_update(p.id, {"body": body, "updated_at": desk.at, "draft_reminded": 0})
    desk.storage.proposal_input_set(caller.telegram_id, "body", p.id, desk.input_until())
    return Reply(
        f"已收到（{_body_word(p)}共 {len(body)} 字）。可继续发送，发完后点“{_body_word(p)}完成”。",
        [[button(f"{_body_word(p)}完成", "bd", p.id)]],
        personal=True,
    )


def check_file(desk: Desk, file: FileInfo) -> str | None:
    """Why a document cannot be taken (wrong type, too large), or None."""
    name = (file.name or "").lower()
    types = desk.config.attachment_types
    if file.photo:
        return (
            f"照片不能作为附件保存。请把材料整理成 {'、'.join(types)} 文件发送"
            "（图片可以插入 Word 文档或转成 PDF），或直接发送文字。"
        )
    if not any(name.endswith(t) for t in types):
        return f"不支持“{file.name or '该文件'}”这种文件，请发送 {'、'.join(types)} 文件，或直接发送文字。"
    limit = desk.config.max_attachment_mb
    if file.size is not None and file.size > limit * 1024 * 1024:
        return f"文件“{file.name}”超过 {limit} MB，助手无法接收，请压缩或拆分后再发送。"
    return None


def on_body_file(desk: Desk, caller: Caller, p: ProposalRow, file: FileInfo) -> Reply:
    problem = check_file(desk, file)
    if problem:
        return Reply(problem, [[button(f"{_body_word(p)}完成", "bd", p.id)]], personal=True)
    attachment = {"kind": "document", "file_id": file.file_id, "name": file.name, "size": file.size}
    desk.storage.proposal_update(p.id, {"attachment": attachment, "updated_at": desk.at, "draft_reminded": 0})
    desk.storage.proposal_input_set(caller.telegram_id, "body", p.id, desk.input_until())
    return Reply(
        f"已收到附件“{file.name}”（作为{_body_word(p)}附件保存）。还可以补充文字说明，完成后点“{_body_word(p)}完成”。",
        [[button(f"{_body_word(p)}完成", "bd", p.id)]],
        personal=True,
    )


def body_done(desk: Desk, caller: Caller, proposal_id: int) -> Reply:
    p = own_draft(desk, caller, proposal_id)
    if not p.title:
        _ask(desk, caller, "title", p)
        return Reply(f"请先发送{_title_word(p)}。", personal=True)
    if not p.body.strip() and not p.attachment:
        _ask(desk, caller, "body", p)
        return Reply(f"{_body_word(p)}不能为空，请发送文字或文件。", personal=True)
    if p.kind == "opinion" or desk.storage.cosigners(p.id):
        return preview(desk, caller, p)
    _ask(desk, caller, "cosigners", p)
    return _cosigner_prompt(p)


def _cosigner_prompt(p: ProposalRow) -> Reply:
    return Reply(
        "第三步：如需联名，请发送联名委员的姓名（可写多位，用顿号或空格分开）；不需要联名请点“不联名”。",
        [[button("不联名", "nc", p.id)]],
        personal=True,
    )


def _bare_name(name: str) -> str:
    """“李四委员” → 李四 (a title people add; kept when only one character would be left)."""
    for title in NAME_TITLES:
        if name.endswith(title) and len(name) - len(title) >= 2:
            return name[: -len(title)]
    return name


def on_cosigner_names(desk: Desk, caller: Caller, p: ProposalRow, text: str) -> Reply:
    """Match typed names against the roster (exact, then fuzzy); ambiguous names get buttons."""
    names = [_bare_name(n) for n in _NAME_SEPARATORS.split(unicodedata.normalize("NFKC", text).strip()) if n]
    if not names:
        return Reply("请发送联名委员的姓名，或点“不联名”。", [[button("不联名", "nc", p.id)]], personal=True)
    members = [m for m in desk.storage.people("member", active=True)]
    notes: list[str] = []
    choices = []
    with desk.storage.atomic():
        for name in names[:MAX_COSIGNERS]:
            same = [m for m in members if m.name == name]
            if len(same) == 1:
                if same[0].id == caller.member_id:
                    notes.append(f"“{name}”是您本人，提案人不能联名自己。")
                elif len(desk.storage.cosigners(p.id)) >= MAX_COSIGNERS:
                    notes.append(f"联名委员最多 {MAX_COSIGNERS} 位，“{name}”没有加入。")
                else:
                    desk.storage.cosigner_add(p.id, same[0].id)
                continue
            if len(same) > 1:
                notes.append(f"名册中有 {len(same)} 位“{name}”，请点选：")
                choices += [(m, f"{m.name}（{m.sector or m.committee or m.township or m.id}）") for m in same]
                continue
            scored = sorted(
                ((fuzz.ratio(name, m.name), m) for m in members if m.id != caller.member_id),
                key=lambda item: -item[0],
            )
            near = [m for score, m in scored[:3] if score >= FUZZY_CUTOFF]
            if near:
                notes.append(f"名册中没有“{name}”，您是不是指：")
                choices += [(m, f"{m.name}（{m.sector or m.committee or m.township or ''}）") for m in near]
            else:
                notes.append(f"名册中没有“{name}”，请核对姓名后重新发送。")
        desk.storage.proposal_update(p.id, {"updated_at": desk.at})
        _ask(desk, caller, "cosigners", p)
    lines = [f"联名委员：{cosigners_line(desk, p)}", *notes]
    buttons = [[button(text, "ac", p.id, m.id)] for m, text in choices[:8]]
    buttons.append([button("完成联名", "nc", p.id), button("清空重填", "ec", p.id)])
    lines.append("可继续发送姓名；完成后点“完成联名”。")
    return Reply("\n".join(lines), buttons, personal=True)


def add_cosigner(desk: Desk, caller: Caller, proposal_id: int, member_id: int) -> Reply:
    p = own_draft(desk, caller, proposal_id)
    if member_id == caller.member_id:
        return Reply("提案人不能联名自己。", personal=True)
    member = desk.storage.person("member", member_id)
    if member is None or not member.active:
        return Reply("名册中没有这位委员。", personal=True)
    if len(desk.storage.cosigners(p.id)) >= MAX_COSIGNERS:
        return Reply(f"联名委员最多 {MAX_COSIGNERS} 位。", personal=True)
    desk.storage.cosigner_add(p.id, member_id)
    return Reply(
        f"联名委员：{cosigners_line(desk, p)}\n可继续发送姓名；完成后点“完成联名”。",
        [[button("完成联名", "nc", p.id), button("清空重填", "ec", p.id)]],
        personal=True,
    )


def cosigners_done(desk: Desk, caller: Caller, proposal_id: int) -> Reply:
    return preview(desk, caller, own_draft(desk, caller, proposal_id))


# ---- submitting --------------------------------------------------------------------------


def submit(desk: Desk, caller: Caller, proposal_id: int) -> Reply:
    p = own_draft(desk, caller, proposal_id)
    if not p.title or (not p.body.strip() and not p.attachment):
        return resume(desk, caller, p.id)
    storage = desk.storage
    fields = {"submitted_at": p.submitted_at or desk.at}
    named = [c for c in storage.cosigners(p.id) if c.status == "named"] if p.kind == "proposal" else []
    with storage.atomic():
        storage.proposal_input_clear(caller.telegram_id)
        if not named:
            p = to_review(desk, caller, p, "提交" if p.submitted_at is None else "修改后重新提交", fields, ("draft",))
            return Reply(
                f"已提交{name_of(p)}，政协办将进行审查，结果会通知您。发送 /myproposals 查看进度。", personal=True
            )
        until = desk.now + timedelta(days=desk.config.cosign_wait_days)
        storage.cosigners_invite(p.id)
        proposer = member_name(storage, p.member_id)
        invitations = []
        unreachable = []
        for c in named:
            sent = to_member(
                storage,
                c.member_id,
                desk.config.text(
                    "cosign_invite",
                    proposer=proposer,
                    text=full_text(desk, replace(p, status="cosigning")),
                    until=until.date().isoformat(),
                ),
                [[button("同意联名", "ya", p.id), button("不同意", "yn", p.id)]],
                p.attachment,
            )
            invitations += sent
            if not sent:
                unreachable.append(c.name)
        p = change(
            desk,
            caller,
            p,
            "submit",
            f"提交，请{cosigners_line(desk, p)}联名确认",
            {**fields, "status": "cosigning", "cosign_until": stamp(until)},
            when=("draft",),
            notices=invitations,
        )
    note = (
        f"\n（{'、'.join(unreachable)}尚未在助手中验证身份，收不到邀请，可当面请其联系政协办。）" if unreachable else ""
    )
    return Reply(
        f"已提交{name_of(p)}，已请联名委员确认。全部回复后或 {until.date().isoformat()} 后进入审查。{note}",
        personal=True,
    )


def to_review(
    desk: Desk, caller: Caller, p: ProposalRow, timeline: str, fields: dict, when: tuple[str, ...]
) -> ProposalRow:
    """Hand a submission to the secretaries: status review and a review card to each."""
    current = desk.storage.proposal(p.id)
    preview_row = replace(current, **fields, status="review")
    notices = to_secretaries(desk, card(desk, preview_row), review_buttons(preview_row))
    if caller.member_id != p.member_id:  # the proposer, when not the one acting, is told too
        notices += to_member(desk.storage, p.member_id, desk.config.text("to_review", name=name_of(p), what=timeline))
    return change(
        desk,
        caller,
        p,
        "review",
        timeline + "，进入审查",
        {**fields, "status": "review", "review_since": desk.at},
        when=when,
        notices=notices,
    )


def cosign(desk: Desk, caller: Caller, proposal_id: int, agree: bool) -> Reply:
    """A named co-signer answers 同意联名 / 不同意 (once; a second press changes nothing)."""
    authorize(desk.storage, caller, "write_proposal")
    p = get(desk, proposal_id)
    mine = next((c for c in desk.storage.cosigners(p.id) if c.member_id == caller.member_id), None)
    if mine is None:
        raise ProposalError("您不在这件提案的联名名单中。")
    if mine.status in ("agreed", "declined"):
        said = "同意" if mine.status == "agreed" else "不同意"
        return Reply(f"您已答复过（{said}联名），没有重复记录。", refusal=True)
    if p.status != "cosigning":
        return Reply("联名征集已经结束，这件提案已进入审查，没有做任何更改。", refusal=True)
    storage = desk.storage
    word = "同意" if agree else "不同意"
    with storage.atomic():
        if not storage.cosigner_answer(p.id, caller.member_id, "agreed" if agree else "declined", desk.at):
            raise ProposalError(STALE)
        who = member_name(storage, caller.member_id)
        p = change(
            desk,
            caller,
            p,
            "cosign",
            f"{who}{word}联名",
            notices=to_member(
                storage, p.member_id, desk.config.text("cosign_answer", who=who, word=word, name=name_of(p))
            ),
        )
        if all(c.status in ("agreed", "declined") for c in storage.cosigners(p.id)):
            to_review(desk, caller, p, "联名确认完毕", {}, ("cosigning",))
    return Reply(f"已记录：您{word}联名{name_of(p)}。", personal=True)


def cosign_deadline(desk: Desk, caller: Caller, p: ProposalRow) -> ProposalRow:
    """The wait is over: the proposal goes to review with whoever agreed."""
    return to_review(desk, caller, p, f"联名等待期满（{desk.config.cosign_wait_days} 天）", {}, ("cosigning",))
