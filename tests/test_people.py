"""bot/people/identity.py and bot/people/roles.py: binding, one-time codes, secretaries, callers and permissions."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

import pytest
from people_support import ADMIN, GUEST, NOW, dump, member_caller, member_id, run_cli, seeded

from bot.people.identity import (
    CODE_ALPHABET,
    BindingTaken,
    PeopleError,
    add_admin,
    bind_by_code,
    bind_by_contact,
    issue_codes,
    list_admins,
    remove_admin,
    unbind,
    whoami,
)
from bot.people.roles import CLI_CALLER, POLICY, Caller, PermissionDenied, authorize, check, resolve_caller
from bot.people.roster import import_members

# ---- binding by shared contact ---------------------------------------------------------------


def test_own_contact_binds_the_member(tmp_path):
    storage = seeded(tmp_path)
    identity = bind_by_contact(storage, 1001, 1001, "+86 138-1234-5678", now=NOW)
    assert (identity.kind, identity.name) == ("member", "张三")
    assert identity.describe() == "张三（政协委员，经济界，提案委，+86 138****5678）"
    binding = storage.binding(1001)
    assert (binding.person_id, binding.method) == (member_id(storage, "张三"), "contact")
    assert storage.audit_entries("bind")[0].detail["method"] == "contact"


def test_unit_contact_binds_after_members_are_checked(tmp_path):
    storage = seeded(tmp_path)
    identity = bind_by_contact(storage, 2002, 2002, "8613600003333", now=NOW)
    assert (identity.kind, identity.name, identity.detail) == ("unit_contact", "赵六", "县委办")
    assert whoami(storage, 2002).describe() == "赵六（单位联络员，县委办，+86 136****3333）"


def test_someone_elses_contact_is_refused(tmp_path):
    storage = seeded(tmp_path)
    before = dump(tmp_path / "data" / "cppcc.db")
    for sender in (4242, None):
        with pytest.raises(PeopleError, match="只能验证您本人的手机号"):
            bind_by_contact(storage, 1001, sender, "8613812345678", now=NOW)
    assert storage.binding(1001) is None
    assert dump(tmp_path / "data" / "cppcc.db") == before


@pytest.mark.parametrize("phone", ["8613311112222", "13812345678", "+1 381 234 5678", "not a phone", ""])
def test_phone_not_on_any_roster_is_refused(tmp_path, phone):
    """13812345678 from Telegram is +1 381 234 5678 (North America), not 张三's Chinese mobile."""
    storage = seeded(tmp_path)
    with pytest.raises(PeopleError, match="名册中没有找到") as caught:
        bind_by_contact(storage, 1001, 1001, phone, now=NOW)
    assert "/bind" in caught.value.message
    assert storage.binding(1001) is None


def test_inactive_member_cannot_bind(tmp_path):
    storage = seeded(tmp_path)
    import_members(storage, CLI_CALLER, "姓名,手机号\n李四,13900001111\n".encode(), now=NOW)
    with pytest.raises(PeopleError):
        bind_by_contact(storage, 1001, 1001, "8613812345678", now=NOW)


def test_an_account_may_switch_to_another_person_it_proves(tmp_path):
    storage = seeded(tmp_path)
    bind_by_contact(storage, 1002, 1002, "8613812345678", now=NOW)
    bind_by_contact(storage, 1002, 1002, "+86 138 1234 5678", now=NOW)  # the same account again: fine
    bind_by_contact(storage, 1002, 1002, "8613900001111", now=NOW)  # an account holds one person
    assert whoami(storage, 1002).name == "李四"
    assert storage.binding_of_person("member", member_id(storage, "张三")) is None


class Alerts:
    """Collects what bind_* asks to tell the secretaries, as Services.alert_secretaries would."""

    def __init__(self):
        self.sent: dict[str, str] = {}

    def __call__(self, key: str, text: str) -> None:
        self.sent.setdefault(key, text)


def test_second_account_with_a_bound_number_is_refused_audited_and_reported(tmp_path):
    storage = seeded(tmp_path)
    alerts = Alerts()
    bind_by_contact(storage, 1001, 1001, "8613812345678", now=NOW, alert=alerts)
    with pytest.raises(BindingTaken, match="已绑定另一个 Telegram 账号") as caught:
        bind_by_contact(storage, 1002, 1002, "+8613812345678", now=NOW, alert=alerts)
    assert "政协办" in caught.value.message
    assert whoami(storage, 1001).name == "张三" and storage.binding(1002) is None
    (entry,) = storage.audit_entries("bind_refused_taken")
    assert entry.actor == "1002"
    assert entry.detail == {
        "person_kind": "member",
        "person_id": member_id(storage, "张三"),
        "method": "contact",
        "bound_account": 1001,
    }
    (text,) = alerts.sent.values()
    assert "1002" in text and "张三" in text and "/unbind 1001" in text
    assert "+86 138****5678" in text and "13812345678" not in text
    # Trying again the same day tells the secretaries once (the key is the same).
    with pytest.raises(BindingTaken):
        bind_by_contact(storage, 1002, 1002, "8613812345678", now=NOW + timedelta(hours=1), alert=alerts)
    assert len(alerts.sent) == 1 and len(storage.audit_entries("bind_refused_taken")) == 2


def test_secretary_moves_a_binding_with_unbind_then_bind(tmp_path):
    storage = seeded(tmp_path)
    bind_by_contact(storage, 1001, 1001, "8613812345678", now=NOW)
    with pytest.raises(BindingTaken):
        bind_by_contact(storage, 1002, 1002, "8613812345678", now=NOW)
    assert unbind(storage, ADMIN, 1001, now=NOW).name == "张三"
    assert bind_by_contact(storage, 1002, 1002, "8613812345678", now=NOW).name == "张三"
    assert whoami(storage, 1001) is None and whoami(storage, 1002).name == "张三"
    assert [(e.action, e.actor) for e in storage.audit_entries() if "bind" in e.action] == [
        ("bind", "1001"),
        ("bind_refused_taken", "1002"),
        ("unbind", "9001"),
        ("bind", "1002"),
    ]


def test_a_code_does_not_take_over_a_person_bound_meanwhile(tmp_path):
    storage = seeded(tmp_path)
    alerts = Alerts()
    code = _code_for(issue_codes(storage, CLI_CALLER, now=NOW), "李四")
    bind_by_contact(storage, 1001, 1001, "8613900001111", now=NOW)
    with pytest.raises(BindingTaken):
        bind_by_code(storage, 3003, code, now=NOW, alert=alerts)
    assert whoami(storage, 1001).name == "李四" and storage.binding(3003) is None
    assert "使用了 李四" in next(iter(alerts.sent.values()))
    assert storage.binding_code(hashlib.sha256(code.encode()).hexdigest()).used_at is None


def test_binding_logs_no_phone_number(tmp_path, caplog):
    storage = seeded(tmp_path)
    with caplog.at_level(logging.DEBUG):
        bind_by_contact(storage, 1001, 1001, "8613812345678", now=NOW)
        with pytest.raises(BindingTaken):
            bind_by_contact(storage, 1002, 1002, "8613812345678", now=NOW)
        with pytest.raises(PeopleError):
            bind_by_contact(storage, 1003, 1003, "8613311112222", now=NOW)
    assert "138****5678" in caplog.text  # the refusal is logged, masked
    assert "12345678" not in caplog.text and "11112222" not in caplog.text


# ---- one-time codes ------------------------------------------------------------------------------


def test_codes_go_to_unbound_active_people_and_are_stored_hashed(tmp_path):
    storage = seeded(tmp_path)
    bind_by_contact(storage, 1001, 1001, "8613812345678", now=NOW)
    codes = issue_codes(storage, CLI_CALLER, 7, now=NOW)
    assert sorted(c.identity.name for c in codes) == ["李四", "王五", "赵六", "钱七"]
    for issued in codes:
        assert len(issued.code) == 8 and set(issued.code) <= set(CODE_ALPHABET)
        assert issued.expires_at == NOW + timedelta(days=7)
    assert not set("0O1I") & set(CODE_ALPHABET)
    stored = list(storage.db["binding_codes"].rows)
    assert len(stored) == 4
    assert not {c.code for c in codes} & {value for row in stored for value in row.values()}


def test_only_secretaries_issue_codes(tmp_path):
    storage = seeded(tmp_path)
    with pytest.raises(PermissionDenied):
        issue_codes(storage, member_caller(storage, "张三"), now=NOW)


def _code_for(codes, name):
    return next(c.code for c in codes if c.identity.name == name)


def test_code_binds_once_case_and_spaces_ignored(tmp_path):
    storage = seeded(tmp_path)
    code = _code_for(issue_codes(storage, CLI_CALLER, now=NOW), "李四")
    typed = f" {code[:4].lower()}-{code[4:]} "
    identity = bind_by_code(storage, 3003, typed, now=NOW + timedelta(hours=1))
    assert identity.name == "李四" and storage.binding(3003).method == "code"
    with pytest.raises(PeopleError, match="已经使用过"):
        bind_by_code(storage, 3004, code, now=NOW + timedelta(hours=2))
    assert storage.binding(3004) is None


def test_code_expires(tmp_path):
    storage = seeded(tmp_path)
    code = _code_for(issue_codes(storage, CLI_CALLER, 3, now=NOW), "李四")
    with pytest.raises(PeopleError, match="已过期"):
        bind_by_code(storage, 3003, code, now=NOW + timedelta(days=3))
    assert storage.binding(3003) is None


def test_reissuing_revokes_unused_codes(tmp_path):
    storage = seeded(tmp_path)
    old = _code_for(issue_codes(storage, CLI_CALLER, now=NOW), "李四")
    new = _code_for(issue_codes(storage, CLI_CALLER, now=NOW), "李四")
    with pytest.raises(PeopleError, match="不正确"):
        bind_by_code(storage, 3003, old, now=NOW)
    assert bind_by_code(storage, 3003, new, now=NOW).name == "李四"


def test_code_of_a_person_who_left_the_roster_is_refused(tmp_path):
    storage = seeded(tmp_path)
    code = _code_for(issue_codes(storage, CLI_CALLER, now=NOW), "张三")
    import_members(storage, CLI_CALLER, "姓名,手机号\n李四,13900001111\n".encode(), now=NOW)
    with pytest.raises(PeopleError, match="不在当前名册"):
        bind_by_code(storage, 3003, code, now=NOW)


def test_wrong_codes_are_throttled_for_ten_minutes(tmp_path):
    storage = seeded(tmp_path)
    code = _code_for(issue_codes(storage, CLI_CALLER, now=NOW), "李四")
    for minute in range(5):
        with pytest.raises(PeopleError, match="不正确"):
            bind_by_code(storage, 3003, "ABCDEFGH", now=NOW + timedelta(minutes=minute))
    with pytest.raises(PeopleError, match="尝试次数过多，请10分钟后再试"):
        bind_by_code(storage, 3003, code, now=NOW + timedelta(minutes=5))
    assert storage.binding(3003) is None
    # another account is not affected, and the first recovers once the window has passed
    with pytest.raises(PeopleError, match="不正确"):
        bind_by_code(storage, 3010, "ABCDEFGH", now=NOW + timedelta(minutes=5))
    assert bind_by_code(storage, 3003, code, now=NOW + timedelta(minutes=10, seconds=1)).name == "李四"


# ---- whoami and unbinding ------------------------------------------------------------------------


def test_whoami_and_unbind_self(tmp_path):
    storage = seeded(tmp_path)
    assert whoami(storage, 1001) is None
    bind_by_contact(storage, 1001, 1001, "8613812345678", now=NOW)
    me = resolve_caller(storage, 1001, frozenset())
    assert unbind(storage, me, 1001, now=NOW).name == "张三"
    assert whoami(storage, 1001) is None
    with pytest.raises(PeopleError, match="尚未绑定"):
        unbind(storage, me, 1001, now=NOW)


def test_only_a_secretary_unbinds_someone_else(tmp_path):
    storage = seeded(tmp_path)
    bind_by_contact(storage, 1001, 1001, "8613812345678", now=NOW)
    bind_by_contact(storage, 1002, 1002, "8613900001111", now=NOW)
    li = resolve_caller(storage, 1002, frozenset())
    with pytest.raises(PermissionDenied, match="只有政协办秘书"):
        unbind(storage, li, 1001, now=NOW)
    assert whoami(storage, 1001).name == "张三"
    assert storage.audit_entries("denied")[-1].detail == {"action": "unbind_other", "role": "member"}
    assert unbind(storage, ADMIN, 1001, now=NOW).name == "张三"
    assert storage.audit_entries("unbind")[-1].actor == "9001"


# ---- callers ---------------------------------------------------------------------------------------


def test_resolve_caller_roles(tmp_path):
    storage = seeded(tmp_path)
    bind_by_contact(storage, 1001, 1001, "8613812345678", now=NOW)
    bind_by_contact(storage, 2002, 2002, "8613600003333", now=NOW)
    zhang = member_id(storage, "张三")
    assert resolve_caller(storage, 1001, frozenset()) == Caller(1001, "张三", "member", member_id=zhang)
    contact = resolve_caller(storage, 2002, frozenset())
    assert (contact.role, contact.unit_id, contact.name) == ("unit_contact", "party_office", "赵六")
    assert resolve_caller(storage, 7777, frozenset()) == Caller(7777, None, "guest")
    assert resolve_caller(storage, 7777, frozenset({7777})).role == "admin"
    assert resolve_caller(storage, None, frozenset({1})) == Caller(None, None, "guest")  # never the operator
    assert CLI_CALLER.role == "admin"


def test_secretary_who_is_a_member_keeps_member_rights(tmp_path):
    storage = seeded(tmp_path)
    bind_by_contact(storage, 1001, 1001, "8613812345678", now=NOW)
    add_admin(storage, CLI_CALLER, 1001, now=NOW)
    caller = resolve_caller(storage, 1001, frozenset())
    assert (caller.role, caller.member_id) == ("admin", member_id(storage, "张三"))
    check(caller, "record_own")
    check(caller, "send_notice")


def test_binding_to_an_inactive_member_confers_nothing(tmp_path):
    storage = seeded(tmp_path)
    bind_by_contact(storage, 1001, 1001, "8613812345678", now=NOW)
    import_members(storage, CLI_CALLER, "姓名,手机号\n李四,13900001111\n".encode(), now=NOW)
    assert resolve_caller(storage, 1001, frozenset()).role == "guest"
    assert "已不在当前名册中" in whoami(storage, 1001).describe()


MEMBER = Caller(1, "张三", "member", member_id=1)
CONTACT = Caller(2, "赵六", "unit_contact", unit_id="party_office", unit_contact_id=1)
ROLES = {"admin": ADMIN, "member": MEMBER, "unit_contact": CONTACT, "guest": GUEST}
EXPECTED = {
    "ask": {"admin", "member", "unit_contact", "guest"},
    "view_own_records": {"member"},
    "record_own": {"member"},
    "view_unit_tasks": {"unit_contact", "admin"},
    "view_others_records": {"admin"},
    "record_for_others": {"admin"},
    "manage_records": {"admin"},
    "view_all_progress": {"admin"},
    "send_notice": {"admin"},
    "manage_people": {"admin"},
    "unbind_other": {"admin"},
    "view_events": {"admin", "member", "unit_contact"},
    "manage_events": {"admin"},
    "manage_reminders": {"admin"},
    "view_notices": {"admin"},
    "report_task_progress": {"unit_contact"},
    "view_ledger": {"admin"},
    "manage_ledger": {"admin"},
    "write_proposal": {"member"},
    "view_proposal": {"admin", "member", "unit_contact"},
    "review_proposal": {"admin"},
    "handle_proposal": {"unit_contact"},
    "export_proposals": {"admin"},
    "import_files": {"admin"},
    "import_plan": {"admin"},
    "approve_leave": {"admin"},
}


def test_policy_table_is_the_expected_one():
    assert {action: set(allowed) for action, (allowed, _) in POLICY.items()} == EXPECTED


@pytest.mark.parametrize(("action", "role"), [(a, r) for a in EXPECTED for r in ROLES])
def test_check_follows_the_policy(action, role):
    if role in EXPECTED[action]:
        check(ROLES[role], action)
    else:
        with pytest.raises(PermissionDenied) as caught:
            check(ROLES[role], action)
        assert caught.value.action == action and caught.value.message


def test_non_secretary_cannot_send_notices_and_guests_are_told_how_to_bind():
    with pytest.raises(PermissionDenied, match="只有政协办秘书可以发送通知"):
        check(MEMBER, "send_notice")
    with pytest.raises(PermissionDenied) as caught:
        check(GUEST, "view_own_records")
    assert "/start" in caught.value.message and "/bind" in caught.value.message


def test_unknown_action_is_a_programming_error():
    with pytest.raises(KeyError):
        check(ADMIN, "launch_rockets")


def test_authorize_audits_refusals_only(tmp_path):
    storage = seeded(tmp_path)
    authorize(storage, ADMIN, "send_notice")
    with pytest.raises(PermissionDenied):
        authorize(storage, MEMBER, "send_notice")
    (entry,) = storage.audit_entries("denied")
    assert (entry.actor, entry.detail) == ("1", {"action": "send_notice", "role": "member"})


# ---- secretaries -----------------------------------------------------------------------------------


def test_admins_add_remove_list(tmp_path):
    storage = seeded(tmp_path)
    assert add_admin(storage, CLI_CALLER, 4242, now=NOW)
    assert not add_admin(storage, CLI_CALLER, 4242, now=NOW)
    assert resolve_caller(storage, 4242, frozenset()).role == "admin"
    entries = list_admins(storage, frozenset({1, 4242}))
    assert [(e.telegram_id, e.source) for e in entries] == [(1, "env"), (4242, "env")]
    assert [(e.telegram_id, e.added_by) for e in list_admins(storage, frozenset())] == [(4242, "cli")]
    with pytest.raises(PeopleError, match="CPPCC_ADMIN_IDS"):
        remove_admin(storage, CLI_CALLER, 1, frozenset({1}), now=NOW)
    remove_admin(storage, CLI_CALLER, 4242, frozenset(), now=NOW)
    assert resolve_caller(storage, 4242, frozenset()).role == "guest"
    with pytest.raises(PeopleError, match="不在秘书名单"):
        remove_admin(storage, CLI_CALLER, 4242, frozenset(), now=NOW)
    with pytest.raises(PermissionDenied):
        add_admin(storage, MEMBER, 5, now=NOW)
    assert [e.action for e in storage.audit_entries() if "admin" in e.action] == ["add_admin", "remove_admin"]


def test_cli_admins_and_codes(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CPPCC_DB", str(tmp_path / "data" / "cppcc.db"))
    monkeypatch.setenv("CPPCC_ADMIN_IDS", "11")
    seeded(tmp_path).close()
    assert run_cli(["admins", "add", "22"]) == 0
    assert run_cli(["admins", "list"]) == 0
    out = capsys.readouterr().out
    assert "11  （环境变量 CPPCC_ADMIN_IDS）" in out and "22  （" in out
    assert run_cli(["admins", "remove", "11"]) == 1
    assert "CPPCC_ADMIN_IDS" in capsys.readouterr().err
    assert run_cli(["members", "codes", "--days", "3"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0] == "身份,姓名,单位或界别,手机号,绑定码,有效期至" and len(lines) == 6
    assert "共 5 个绑定码" in captured.err
    assert run_cli(["members", "codes", "--days", "0"]) == 1
