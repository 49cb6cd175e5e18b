"""Who is calling, and what they may do. The only place with role logic.

Roles: "admin" (政协办秘书: CPPCC_ADMIN_IDS plus the admins table), "member" (政协委员),
"unit_contact" (承办/责任单位联络员) and "guest" (not bound). A secretary who is also bound to
a member or a unit contact keeps that person's rights too: permissions are checked against
:attr:`Caller.capacities`, not the single display role.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.errors import UserError
from bot.storage import Member, Storage, UnitContact

BIND_HINT = "请先验证身份：发送 /start 并点击“验证身份”分享手机号，或发送 /bind 加政协办发给您的绑定码。"


@dataclass(frozen=True)
class Caller:
    telegram_id: int | None  # None for the CLI / terminal chat
    name: str | None
    role: str  # "admin" | "member" | "unit_contact" | "guest"
    member_id: int | None = None
    unit_id: str | None = None  # for unit contacts
    unit_contact_id: int | None = None

    @property
    def capacities(self) -> frozenset[str]:
        """The role plus every capacity the caller holds through a bound person."""
        held = {self.role}
        if self.member_id is not None:
            held.add("member")
        if self.unit_contact_id is not None:
            held.add("unit_contact")
        return frozenset(held)


# The operator at the server's terminal (CLI commands) acts as a secretary; pass it explicitly.
CLI_CALLER = Caller(telegram_id=None, name="命令行", role="admin")


class PermissionDenied(UserError):
    """The caller may not do this; ``message`` is Simplified Chinese for the user."""

    def __init__(self, message: str, action: str):
        super().__init__(message)
        self.action = action


# action → (capacities allowed, refusal message)
POLICY: dict[str, tuple[frozenset[str], str]] = {
    "ask": (frozenset({"admin", "member", "unit_contact", "guest"}), "暂时无法回答。"),
    "view_own_records": (frozenset({"member"}), "只有政协委员可以查看本人的履职记录。"),
    "record_own": (frozenset({"member"}), "只有政协委员可以登记本人的履职记录。"),
    "view_unit_tasks": (frozenset({"unit_contact", "admin"}), "只有单位联络员可以查看本单位的任务。"),
    "view_others_records": (frozenset({"admin"}), "您只能查看本人的履职记录。"),
    "record_for_others": (frozenset({"admin"}), "您只能登记本人的履职记录。"),
    "manage_records": (frozenset({"admin"}), "只有政协办秘书可以更正、删除或导入履职记录。"),
    "view_all_progress": (frozenset({"admin"}), "只有政协办秘书可以查看全体委员的履职统计。"),
    "send_notice": (frozenset({"admin"}), "只有政协办秘书可以发送通知。"),
    "manage_people": (frozenset({"admin"}), "只有政协办秘书可以管理名册、绑定码和秘书名单。"),
    "unbind_other": (frozenset({"admin"}), "只有政协办秘书可以解除他人的绑定。"),
    "view_events": (frozenset({"admin", "member", "unit_contact"}), "只有已验证身份的委员和联络员可以查看活动日程。"),
    "manage_events": (frozenset({"admin"}), "只有政协办秘书可以安排或更改活动。"),
    "manage_reminders": (frozenset({"admin"}), "只有政协办秘书可以调整提醒规则。"),
    "view_notices": (frozenset({"admin"}), "只有政协办秘书可以查看通知的送达和回执情况。"),
    "report_task_progress": (frozenset({"unit_contact"}), "只有责任单位联络员可以填报任务进展。"),
    "view_ledger": (frozenset({"admin"}), "只有政协办秘书可以查看和导出全县任务台账。"),
    "manage_ledger": (frozenset({"admin"}), "只有政协办秘书可以设置台账的公开范围。"),
    "write_proposal": (frozenset({"member"}), "只有政协委员可以提交提案和社情民意、联名或评价答复。"),
    "view_proposal": (frozenset({"admin", "member", "unit_contact"}), "请先验证身份再查看提案。"),
    "review_proposal": (frozenset({"admin"}), "只有政协办秘书可以审查、立案和交办提案。"),
    "handle_proposal": (frozenset({"unit_contact"}), "只有承办单位联络员可以签收和答复提案。"),
    "export_proposals": (frozenset({"admin"}), "只有政协办秘书可以导出提案汇总表和统计。"),
    "approve_leave": (frozenset({"admin"}), "只有政协办秘书可以审批请假。"),
    "import_files": (frozenset({"admin"}), "只有政协办秘书可以发送名册、记录或活动文件导入。"),
    "import_plan": (frozenset({"admin"}), "只有政协办秘书可以导入和启用实施方案。"),
}


def check(caller: Caller, action: str) -> None:
    """Raise PermissionDenied unless the caller may perform ``action`` (KeyError if unknown)."""
    allowed, message = POLICY[action]
    if caller.capacities & allowed:
        return
    if caller.role == "guest":
        message = f"{message}{BIND_HINT}"
    raise PermissionDenied(message, action)


def authorize(storage: Storage, caller: Caller, action: str) -> None:
    """:func:`check`, recording refusals in the audit log."""
    try:
        check(caller, action)
    except PermissionDenied:
        storage.audit(caller.telegram_id, "denied", {"action": action, "role": caller.role})
        raise


def resolve_caller(storage: Storage, telegram_id: int | None, admin_ids: Iterable[int]) -> Caller:
    """The Caller for a Telegram account.

    No account (e.g. an update without a user) is a guest: operator rights come only from
    passing :data:`CLI_CALLER` explicitly. A binding to a person who has left the roster
    (inactive) confers nothing.
    """
    if telegram_id is None:
        return Caller(None, None, "guest")
    is_admin = telegram_id in set(admin_ids) or storage.is_admin(telegram_id)
    binding = storage.binding(telegram_id)
    person = storage.person(binding.person_kind, binding.person_id) if binding else None
    if person is not None and not person.active:
        person = None
    if isinstance(person, Member):
        return Caller(telegram_id, person.name, "admin" if is_admin else "member", member_id=person.id)
    if isinstance(person, UnitContact):
        return Caller(
            telegram_id,
            person.name,
            "admin" if is_admin else "unit_contact",
            unit_id=person.unit_id,
            unit_contact_id=person.id,
        )
    return Caller(telegram_id, None, "admin" if is_admin else "guest")
