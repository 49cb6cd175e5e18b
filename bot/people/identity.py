"""Binding Telegram accounts to people on the rosters: by shared contact or one-time code.

One account ↔ one person. A shared contact matches a person only when its number, read with
its country code (bot.phone, TELEGRAM), equals the roster's E.164 number. A person already bound
to one account is never taken over by another: the new account is refused, the attempt is
audited and the secretaries are told; a secretary moves the binding with /unbind, after which
the person binds again. Binding codes are stored only as SHA-256 hashes: the plain codes exist
once, in the list printed for the secretary.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.errors import UserError
from bot.people.roles import Caller, authorize
from bot.phone import CHINA, TELEGRAM, PhoneError, country_code, mask_phone, to_e164
from bot.plan.model import Plan, default_plan
from bot.storage import Binding, Member, Person, Storage

log = logging.getLogger(__name__)

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
CODE_LENGTH = 8
MAX_WRONG_CODES = 5
WRONG_CODE_WINDOW = timedelta(minutes=10)

SecretaryAlert = Callable[[str, str], object]
"""``alert(key, text)`` tells every secretary ``text`` in their private chat, at most once per
``key``. The composition root supplies it (bot.services: the outbox); it is called inside the
transaction that audits the refusal."""

NOT_OWN_CONTACT = "只能验证您本人的手机号：请点击“分享我的手机号”按钮，不要发送他人的名片。"
NO_ACCOUNT_CONTACT = (
    "只能验证您本人的手机号：这张名片没有关联 Telegram 账号（可能来自通讯录）。请点击“验证身份”按钮分享本人手机号。"
)
TAKEN = (
    "该手机号已绑定另一个 Telegram 账号，不能再绑定到本账号。我们已通知政协办。"
    "如果您更换了 Telegram 账号，请联系政协办解除原账号的绑定，然后重新验证身份。"
)


class PeopleError(UserError):
    """Binding, unbinding or a secretary change was refused; ``message`` is Simplified Chinese."""


class BindingTaken(PeopleError):
    """The person is already bound to another Telegram account (the secretaries were told)."""


@dataclass(frozen=True)
class Identity:
    """A person on a roster, as shown to users."""

    kind: str  # "member" | "unit_contact"
    person_id: int
    name: str
    phone: str
    detail: str  # unit name for contacts; sector and committee for members
    active: bool

    @property
    def role_label(self) -> str:
        return "政协委员" if self.kind == "member" else "单位联络员"

    def describe(self) -> str:
        """e.g. 张三（政协委员，经济界，提案委，138****5678）"""
        parts = [self.role_label, *([self.detail] if self.detail else []), mask_phone(self.phone)]
        text = f"{self.name}（{'，'.join(parts)}）"
        return text if self.active else f"{text}，已不在当前名册中"


@dataclass(frozen=True)
class IssuedCode:
    identity: Identity
    code: str
    expires_at: datetime


def identity_of(person: Person, plan: Plan | None = None) -> Identity:
    if isinstance(person, Member):
        detail = "，".join(part for part in (person.sector, person.committee) if part)
    else:
        unit = (plan or default_plan()).catalogue.units.get(person.unit_id)
        detail = unit.short if unit else person.unit_id
    return Identity(person.kind, person.id, person.name, person.phone, detail, person.active)


def _find_active(storage: Storage, phone: str) -> Person | None:
    for kind in ("member", "unit_contact"):
        person = storage.person_by_phone(kind, phone)
        if person is not None and person.active:
            return person
    return None


@dataclass(frozen=True)
class _Attempt:
    telegram_id: int
    person: Person
    method: str  # "contact" | "code"
    now: datetime
    plan: Plan | None
    alert: SecretaryAlert | None
    code_hash: str | None = None  # the one-time code to spend when the binding is made


def _bind(storage: Storage, attempt: _Attempt) -> Identity:
    """Bind, in one transaction; if another account holds the person, refuse (audited, secretaries told)."""
    person, telegram_id, now = attempt.person, attempt.telegram_id, attempt.now
    with storage.atomic():
        holder = storage.binding_of_person(person.kind, person.id)
        taken = holder is not None and holder.telegram_id != telegram_id
        if taken:
            _refuse_takeover(storage, attempt, holder)
        else:
            if attempt.code_hash:
                storage.use_code(attempt.code_hash, telegram_id, now)
            storage.bind(telegram_id, person.kind, person.id, attempt.method, now)
            storage.audit(
                telegram_id, "bind", {"person_kind": person.kind, "person_id": person.id, "method": attempt.method}, now
            )
    if taken:
        raise BindingTaken(TAKEN)
    return identity_of(person, attempt.plan)


def _refuse_takeover(storage: Storage, attempt: _Attempt, holder: Binding) -> None:
    person, telegram_id = attempt.person, attempt.telegram_id
    storage.audit(
        telegram_id,
        "bind_refused_taken",
        {
            "person_kind": person.kind,
            "person_id": person.id,
            "method": attempt.method,
            "bound_account": holder.telegram_id,
        },
        attempt.now,
    )
    log.warning(
        "binding refused: account %s tried to take %s %s (%s), bound to account %s",
        telegram_id,
        person.kind,
        person.id,
        mask_phone(person.phone),
        holder.telegram_id,
    )
    if attempt.alert is not None:
        who = identity_of(person, attempt.plan).describe()
        did = f"分享了 {who} 的手机号" if attempt.method == "contact" else f"使用了 {who} 的绑定码"
        text = (
            f"⚠️ 身份绑定被拒绝：Telegram 账号 {telegram_id} {did}，但此人已绑定账号 {holder.telegram_id}。\n"
            f"如确认是本人更换了账号，请发送 /unbind {holder.telegram_id} 解除原绑定，"
            "再请其重新验证身份；否则无需处理。"
        )
        key = f"bind-taken:{person.kind}:{person.id}:{telegram_id}:{attempt.now.date().isoformat()}"
        attempt.alert(key, text)


def bind_by_contact(
    storage: Storage,
    telegram_id: int,
    contact_user_id: int | None,
    phone: str,
    *,
    now: datetime | None = None,
    plan: Plan | None = None,
    alert: SecretaryAlert | None = None,
) -> Identity:
    """Bind the account whose own contact card (shared via Telegram) carries ``phone``.

    ``phone`` is ``Contact.phone_number`` as Telegram sends it, with its country code.
    Raises BindingTaken when another account holds that person (``alert`` tells the secretaries).
    """
    if contact_user_id is None:
        raise PeopleError(NO_ACCOUNT_CONTACT)
    if contact_user_id != telegram_id:
        raise PeopleError(NOT_OWN_CONTACT)
    try:
        number = to_e164(phone, TELEGRAM)
    except PhoneError:
        number = None
    person = _find_active(storage, number) if number else None
    if person is None:
        shown = mask_phone(number) if number else "该号码"
        abroad = f"（这是 +{country_code(number)} 开头的境外号码）" if number and country_code(number) != CHINA else ""
        raise PeopleError(
            f"名册中没有找到 {shown}{abroad}。如果您的手机号有变化，请联系政协办更新名册，"
            "或向政协办索取绑定码后发送 /bind 绑定码。"
        )
    return _bind(storage, _Attempt(telegram_id, person, "contact", now or storage.now(), plan, alert))


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _clean_code(text: str) -> str:
    return re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", text or "")).upper()


def issue_codes(
    storage: Storage,
    caller: Caller,
    days: int = 7,
    *,
    now: datetime | None = None,
    plan: Plan | None = None,
) -> list[IssuedCode]:
    """A fresh code for every active, unbound person; their earlier unused codes stop working."""
    authorize(storage, caller, "manage_people")
    if days < 1:
        raise ValueError("有效天数至少为 1")
    now = now or storage.now()
    expires_at = now + timedelta(days=days)
    issued: list[IssuedCode] = []
    for kind in ("member", "unit_contact"):
        bound = storage.bound_person_ids(kind)
        for person in storage.people(kind, active=True):
            if person.id not in bound:
                code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
                issued.append(IssuedCode(identity_of(person, plan), code, expires_at))
    with storage.atomic():
        storage.replace_codes([(_hash(c.code), c.identity.kind, c.identity.person_id) for c in issued], expires_at, now)
        storage.audit(caller.telegram_id, "issue_codes", {"count": len(issued), "days": days}, now)
    return issued


def bind_by_code(
    storage: Storage,
    telegram_id: int,
    code: str,
    *,
    now: datetime | None = None,
    plan: Plan | None = None,
    alert: SecretaryAlert | None = None,
) -> Identity:
    """Bind with a one-time code; after 5 wrong codes in 10 minutes the account must wait.

    A code does not take over a person bound meanwhile to another account (BindingTaken; the
    code stays unused)."""
    now = now or storage.now()
    if storage.code_attempts_since(telegram_id, now - WRONG_CODE_WINDOW) >= MAX_WRONG_CODES:
        raise PeopleError("尝试次数过多，请10分钟后再试。")
    stored = storage.binding_code(_hash(_clean_code(code)))
    person = storage.person(stored.person_kind, stored.person_id) if stored else None
    refusal = None
    if stored is None:
        refusal = "绑定码不正确，请核对后重试（8位字母和数字，不区分大小写）。"
    elif stored.used_at is not None:
        refusal = "该绑定码已经使用过。如需重新绑定，请向政协办索取新的绑定码。"
    elif now >= stored.expires_at:
        refusal = "该绑定码已过期，请向政协办索取新的绑定码。"
    elif person is None or not person.active:
        refusal = "该绑定码对应的人员已不在当前名册中，请联系政协办。"
    if refusal:
        with storage.atomic():
            storage.add_code_attempt(telegram_id, now)
            storage.audit(telegram_id, "bind_code_refused", {"reason": refusal}, now)
        raise PeopleError(refusal)
    return _bind(storage, _Attempt(telegram_id, person, "code", now, plan, alert, code_hash=stored.code_hash))


def whoami(storage: Storage, telegram_id: int, *, plan: Plan | None = None) -> Identity | None:
    """The person this account is bound to, or None."""
    binding = storage.binding(telegram_id)
    person = storage.person(binding.person_kind, binding.person_id) if binding else None
    return identity_of(person, plan) if person else None


def unbind(
    storage: Storage,
    actor: Caller,
    telegram_id: int,
    *,
    now: datetime | None = None,
    plan: Plan | None = None,
) -> Identity:
    """Remove an account's binding (one's own, or anyone's for a secretary); return who it was."""
    if actor.telegram_id != telegram_id:
        authorize(storage, actor, "unbind_other")
    binding = storage.binding(telegram_id)
    if binding is None:
        raise PeopleError("该账号尚未绑定任何人员。")
    with storage.atomic():
        storage.unbind(telegram_id)
        storage.audit(
            actor.telegram_id,
            "unbind",
            {"telegram_id": telegram_id, "person_kind": binding.person_kind, "person_id": binding.person_id},
            now,
        )
    return identity_of(storage.person(binding.person_kind, binding.person_id), plan)


# ---- secretaries ---------------------------------------------------------------


@dataclass(frozen=True)
class AdminEntry:
    telegram_id: int
    source: str  # "env" (CPPCC_ADMIN_IDS) | "db" (added with `admins add`)
    added_by: str | None = None
    added_at: str | None = None


def list_admins(storage: Storage, admin_ids: frozenset[int]) -> list[AdminEntry]:
    entries = [AdminEntry(telegram_id, "env") for telegram_id in sorted(admin_ids)]
    entries += [
        AdminEntry(a.telegram_id, "db", a.added_by, a.added_at)
        for a in storage.admins()
        if a.telegram_id not in admin_ids
    ]
    return entries


def add_admin(storage: Storage, caller: Caller, telegram_id: int, *, now: datetime | None = None) -> bool:
    """Make an account a secretary; False if it already was one in the table."""
    authorize(storage, caller, "manage_people")
    now = now or storage.now()
    with storage.atomic():
        added = storage.add_admin(telegram_id, caller.telegram_id, now)
        if added:
            storage.audit(caller.telegram_id, "add_admin", {"telegram_id": telegram_id}, now)
    return added


def remove_admin(
    storage: Storage, caller: Caller, telegram_id: int, admin_ids: frozenset[int], *, now: datetime | None = None
) -> None:
    """Remove a secretary added with add_admin; ids from CPPCC_ADMIN_IDS cannot be removed here."""
    authorize(storage, caller, "manage_people")
    if telegram_id in admin_ids:
        raise PeopleError(f"{telegram_id} 是在环境变量 CPPCC_ADMIN_IDS 中设置的秘书，请修改该变量后重启。")
    with storage.atomic():
        if not storage.remove_admin(telegram_id):
            raise PeopleError(f"{telegram_id} 不在秘书名单中。")
        storage.audit(caller.telegram_id, "remove_admin", {"telegram_id": telegram_id}, now)
