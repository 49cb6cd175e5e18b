"""Notices core (no Telegram): compose, confirm, cancel, receipts, reports, nudges, send
times, the knowledge file and the CLI. Clocks are explicit: every call gets ``now``."""

from __future__ import annotations

import copy
import csv
import io
import json
from datetime import datetime, timedelta

import pytest

from bot import notices
from bot.calendar.replies import reply
from bot.cli import main as cli
from bot.config import knowledge_dir
from bot.notices import NoticeError
from bot.notices import config as notices_config
from bot.notices.config import NoticeConfigError
from bot.notices.outbox import Attachment, rows_of
from bot.people.roles import CLI_CALLER, PermissionDenied
from bot.storage import stamp
from tests.people_support import ADMIN, NOW, TZ, member_caller, member_id, seeded

CONFIG = notices.default_config()
ZHANG, LI = 7001, 7002  # 张三 (常委) and 李四 are bound; 王五 is not


@pytest.fixture
def storage(tmp_path):
    opened = seeded(tmp_path)
    opened.bind(ZHANG, "member", member_id(opened, "张三"), "code", NOW)
    opened.bind(LI, "member", member_id(opened, "李四"), "code", NOW)
    yield opened
    opened.close()


def draft(storage, text="请于周五前提交履职报告", audience="全体委员", **kwargs):
    return notices.compose(storage, ADMIN, audience, text, now=NOW, **kwargs)


def sent(storage, text="请于周五前提交履职报告", audience="全体委员", **kwargs) -> int:
    """A confirmed notice whose messages all went out."""
    preview = draft(storage, text, audience, **kwargs)
    notices.confirm(storage, ADMIN, preview.notice.id, now=NOW)
    for row in rows_of(storage, notices.SOURCE, str(preview.notice.id)):
        deliver(storage, row.id, "sent")
    return preview.notice.id


def deliver(storage, row_id: int, status: str, error: str | None = None) -> None:
    """What the sender does with a row (without sending anything)."""
    assert storage.outbox_claim(row_id)
    storage.outbox_finish(row_id, status, stamp(NOW), attempts=1, message_id=99, error=error)


# ---- composing ---------------------------------------------------------------------------------


def test_preview_shows_the_exact_message_and_who_gets_it(storage):
    preview = draft(storage)
    assert preview.message == "【政协办通知】\n请于周五前提交履职报告\n\n请阅后点击“收到”确认。"
    assert [r.name for r in preview.reachable] == ["张三", "李四"]
    assert [r.name for r in preview.unbound] == ["王五"]
    text = notices.render_preview(preview, CONFIG)
    assert "收件人：2 人将收到（张三、李四）" in text
    assert "未绑定 Telegram、无法送达：1 人（王五）" in text
    assert text.endswith(preview.message)
    assert [[b.data for b in row] for row in notices.preview_buttons(preview)] == [
        ["n:go:1", "n:at:1"],
        ["n:k:1"],
        ["n:x:1"],
    ]
    assert storage.notice(1).status == "draft" and not rows_of(storage, notices.SOURCE)


def test_meeting_notices_are_recognised_and_can_be_switched(storage):
    preview = draft(storage, "明天上午九点在三楼会议室召开常委会")
    assert preview.notice.kind == "meeting" and "参加" in preview.message
    switched = notices.toggle_kind(storage, ADMIN, preview.notice.id, now=NOW)
    assert switched.notice.kind == "notice" and switched.message.startswith("【政协办通知】")
    assert draft(storage, "请提交材料", kind="meeting").notice.kind == "meeting"


@pytest.mark.parametrize("text", ["", "   \n\t ", "\x00\x01"])
def test_empty_notices_are_refused(storage, text):
    with pytest.raises(NoticeError, match="通知内容不能为空"):
        draft(storage, text)


def test_the_length_limit_is_exact_and_counts_escaping(storage):
    limit = notices.max_text_length("notice", CONFIG)
    assert 3500 < limit < 4096
    assert draft(storage, "长" * limit).notice.id
    with pytest.raises(NoticeError, match=f"共 {limit + 1} 字.*最多能放约 {limit} 字"):
        draft(storage, "长" * (limit + 1))
    with pytest.raises(NoticeError, match="通知正文太长"):  # "&" is sent as "&amp;"
        draft(storage, "&" * (limit // 5 + 1))
    longest = notices.notice_message("长" * limit, "notice", CONFIG)
    for form in (
        longest + "\n\n" + notices_config._longest_status(CONFIG),
        CONFIG.templates["nudge"].format(message=longest),
    ):
        assert notices_config.escaped_length(form) <= 4096


@pytest.mark.parametrize(
    ("audience", "message"),
    [
        ("火星", "没有找到"),
        ("单位:统战部", "目前没有任何人"),
        ("教育界", "都还没有绑定 Telegram"),
    ],
)
def test_audiences_that_reach_nobody_are_refused(storage, audience, message):
    storage.db.execute("DELETE FROM unit_contacts WHERE name = '钱七'")
    with pytest.raises(NoticeError, match=message):
        draft(storage, audience=audience)


def test_only_secretaries_compose_and_refusals_are_audited(storage):
    member = member_caller(storage, "张三", ZHANG)
    with pytest.raises(PermissionDenied, match="只有政协办秘书可以发送通知"):
        notices.compose(storage, member, "全体委员", "x", now=NOW)
    preview = draft(storage)
    for action in (notices.confirm, notices.toggle_kind, notices.preview_of):
        with pytest.raises(PermissionDenied):
            action(storage, member, preview.notice.id, now=NOW)
    with pytest.raises(PermissionDenied):
        notices.notice_report(storage, member, preview.notice.id)
    assert len(storage.audit_entries("denied")) == 5
    assert storage.notice(preview.notice.id).status == "draft"


# ---- confirming ---------------------------------------------------------------------------------


def test_confirm_enqueues_each_reachable_recipient_once(storage):
    preview = draft(storage)
    confirmation = notices.confirm(storage, ADMIN, preview.notice.id, now=NOW)
    assert (confirmation.queued, confirmation.unbound) == (2, 1)
    assert "正在发送给 2 人。另有 1 人未绑定 Telegram" in confirmation.describe(NOW)
    rows = rows_of(storage, notices.SOURCE, "1")
    assert [(r.chat_id, r.text) for r in rows] == [(ZHANG, preview.message), (LI, preview.message)]
    assert [b.data for b in rows[0].buttons[0]] == ["n:r:1"]
    with pytest.raises(NoticeError, match="不会重复发送"):
        notices.confirm(storage, ADMIN, preview.notice.id, now=NOW)
    assert len(rows_of(storage, notices.SOURCE)) == 2
    (entry,) = storage.audit_entries("notice_send")
    assert entry.actor == "9001" and entry.detail["text"] == "请于周五前提交履职报告"
    assert entry.detail["recipients"] == ["member:1", "member:2"] and entry.detail["unbound"] == ["member:3"]


def test_an_attachment_goes_first_with_the_text_after_it(storage):
    attachment = Attachment("document", "file-7", "议程.pdf")
    preview = draft(storage, attachment=attachment)
    assert "附件：议程.pdf" in notices.render_preview(preview, CONFIG)
    notices.confirm(storage, ADMIN, preview.notice.id, now=NOW)
    rows = [r for r in rows_of(storage, notices.SOURCE) if r.chat_id == ZHANG]
    assert [(r.recipient_key, r.attachment, bool(r.buttons)) for r in rows] == [
        ("member:1/file", attachment, False),
        ("member:1", None, True),
    ]


def test_stale_previews_are_refused(storage):
    preview = draft(storage)
    later = NOW + CONFIG.preview_ttl + timedelta(minutes=1)
    with pytest.raises(NoticeError, match="预览已过期"):
        notices.confirm(storage, ADMIN, preview.notice.id, now=later)
    notices.discard(storage, ADMIN, preview.notice.id, now=NOW)
    with pytest.raises(NoticeError, match="已放弃发送"):
        notices.confirm(storage, ADMIN, preview.notice.id, now=NOW)
    with pytest.raises(NoticeError, match="失效"):
        notices.discard(storage, ADMIN, preview.notice.id, now=NOW)
    with pytest.raises(NoticeError, match="失效"):
        notices.confirm(storage, ADMIN, 999, now=NOW)
    assert not rows_of(storage, notices.SOURCE)


def test_scheduled_notices_wait_and_can_be_cancelled(storage):
    preview = draft(storage)
    at = NOW + timedelta(days=1)
    confirmation = notices.confirm(storage, ADMIN, preview.notice.id, now=NOW, send_at=at)
    assert "将于 6月16日 10:00 发送给 2 人" in confirmation.describe(NOW)
    assert storage.notice(1).status == "scheduled"
    assert storage.outbox_due(NOW.timestamp(), 10) == []
    assert len(storage.outbox_due(at.timestamp(), 10)) == 2
    cancelled = notices.cancel_notice(storage, ADMIN, 1, now=NOW)
    assert (cancelled.cancelled, cancelled.already_sent) == (2, 0)
    assert storage.outbox_due(at.timestamp(), 10) == []
    with pytest.raises(NoticeError, match="已经取消过了"):
        notices.cancel_notice(storage, ADMIN, 1, now=NOW)
    assert [e.action for e in storage.audit_entries() if e.action.startswith("notice")] == [
        "notice_draft",
        "notice_schedule",
        "notice_cancel",
    ]


def test_send_times_in_the_past_or_too_far_are_refused(storage):
    preview = draft(storage)
    with pytest.raises(NoticeError, match="已经过去"):
        notices.confirm(storage, ADMIN, preview.notice.id, now=NOW, send_at=NOW - timedelta(minutes=1))
    with pytest.raises(NoticeError, match="366 天以内"):
        notices.confirm(storage, ADMIN, preview.notice.id, now=NOW, send_at=NOW + timedelta(days=400))
    assert storage.notice(preview.notice.id).status == "draft"


def test_a_fully_sent_notice_cannot_be_cancelled(storage):
    notice_id = sent(storage)
    notices.on_settled(storage, rows_of(storage, notices.SOURCE)[-1], now=NOW)
    with pytest.raises(NoticeError, match="已全部发出"):
        notices.cancel_notice(storage, ADMIN, notice_id, now=NOW)


def test_cancelling_midway_keeps_what_was_sent(storage):
    preview = draft(storage)
    notices.confirm(storage, ADMIN, preview.notice.id, now=NOW)
    deliver(storage, rows_of(storage, notices.SOURCE)[0].id, "sent")
    result = notices.cancel_notice(storage, ADMIN, preview.notice.id, now=NOW)
    assert (result.cancelled, result.already_sent) == (1, 1)
    counts = notices.report_counts(notices.notice_report(storage, ADMIN, preview.notice.id))
    assert (counts["sent"], counts["cancelled"], counts["unbound"]) == (1, 1, 1)


# ---- completion --------------------------------------------------------------------------------------


def test_the_secretary_hears_once_when_delivery_is_complete(storage):
    preview = draft(storage)
    notices.confirm(storage, ADMIN, preview.notice.id, now=NOW)
    first, second = rows_of(storage, notices.SOURCE)
    deliver(storage, first.id, "sent")
    assert not notices.on_settled(storage, first, now=NOW)
    deliver(storage, second.id, "unreachable", "Forbidden: bot was blocked by the user")
    assert notices.on_settled(storage, second, now=NOW)
    assert not notices.on_settled(storage, second, now=NOW)
    assert notices.finish_completed(storage, now=NOW) == []
    (summary,) = rows_of(storage, notices.DONE_SOURCE)
    assert summary.chat_id == 9001
    assert "共 3 人，已送达 1 人，无法送达 1 人，发送失败 0 人，未绑定 1 人" in summary.text
    assert storage.notice(1).status == "done"


def test_notices_finished_before_a_restart_are_closed_at_start(storage):
    preview = notices.compose(storage, CLI_CALLER, "全体委员", "x", now=NOW)
    notices.confirm(storage, CLI_CALLER, preview.notice.id, now=NOW)
    for row in rows_of(storage, notices.SOURCE):
        deliver(storage, row.id, "sent")
    assert notices.finish_completed(storage, now=NOW) == [preview.notice.id]
    assert not rows_of(storage, notices.DONE_SOURCE)  # confirmed from the command line: nobody to tell


# ---- receipts -----------------------------------------------------------------------------------------


def test_receipt_is_recorded_once_and_shown(storage):
    notice_id = sent(storage)
    outcome = notices.record_receipt(storage, notice_id, ZHANG, "received", now=NOW)
    assert outcome.toast == "已确认收到，谢谢。" and outcome.buttons == []
    assert outcome.message.endswith("\n\n✅ 已确认收到（6月15日 10:00）")
    again = notices.record_receipt(storage, notice_id, ZHANG, "received", now=NOW + timedelta(hours=1))
    assert again.toast == "您已经确认过了。" and again.message == outcome.message
    assert storage.receipts(notice_id)["member:1"].confirmed_at == stamp(NOW)


def test_presses_from_non_recipients_and_on_drafts_are_refused(storage):
    notice_id = sent(storage)
    for telegram_id in (5555, member_id(storage, "王五")):
        with pytest.raises(NoticeError, match="您不是这条通知的接收人"):
            notices.record_receipt(storage, notice_id, telegram_id, "received", now=NOW)
    preview = draft(storage)
    with pytest.raises(NoticeError, match="不是这条通知的接收人"):
        notices.record_receipt(storage, preview.notice.id, ZHANG, "received", now=NOW)
    with pytest.raises(NoticeError, match="失效"):
        notices.record_receipt(storage, notice_id, ZHANG, "attend", now=NOW)  # not a meeting notice
    assert storage.receipts(notice_id) == {}


def test_meeting_answers_are_not_receipts(storage):
    notice_id = sent(storage, "明天上午九点召开常委会")
    for response in ("attend", "leave"):  # meeting replies: bot/calendar/replies.py (tests/test_meetings.py)
        with pytest.raises(NoticeError, match="失效"):
            notices.record_receipt(storage, notice_id, ZHANG, response, now=NOW)


# ---- reports, lists and nudges --------------------------------------------------------------------------


def test_report_counts_every_state_and_names_who_needs_attention(storage):
    storage.bind(7003, "member", member_id(storage, "王五"), "code", NOW)
    storage.insert_person("member", {"name": "赵九", "phone": "13100000000"}, NOW)
    preview = draft(storage, "明天上午九点召开全体会议")
    notices.confirm(storage, ADMIN, preview.notice.id, now=NOW)
    zhang, li, wang = rows_of(storage, notices.SOURCE)
    deliver(storage, zhang.id, "sent")
    deliver(storage, li.id, "sent")
    deliver(storage, wang.id, "unreachable", "Forbidden: bot was blocked by the user")
    reply(storage, "n1", ZHANG, "leave", now=NOW, reason="出差")  # a meeting reply keeps the receipt in step
    report = notices.notice_report(storage, ADMIN, 1)
    counts = notices.report_counts(report)
    assert {k: counts[k] for k in ("total", "sent", "confirmed", "leave", "unreachable", "unbound", "pending")} == {
        "total": 4,
        "sent": 2,
        "confirmed": 1,
        "leave": 1,
        "unreachable": 1,
        "unbound": 1,
        "pending": 0,
    }
    text = notices.render_report(report, tz=TZ, now=NOW)
    assert "收件人 4 · 已送达 2 · 已确认 1 · 参加 0 · 请假 1 · 无法送达 1 · 未绑定 1 · 发送失败 0 · 待发送 0" in text
    assert "未确认（1）：李四" in text and "请假（1）：张三（出差）" in text
    assert "无法送达（已屏蔽机器人或账号停用）（1）：王五" in text and "未绑定 Telegram（1）：赵九" in text
    assert [b.data for row in notices.report_buttons(report) for b in row] == ["n:u:1", "n:e:1", "n:v:1", "n:ls"]
    rows = list(csv.reader(io.StringIO(notices.report_csv(report, tz=TZ))))
    assert rows[0] == notices.CSV_HEADER
    assert rows[1] == ["1", "张三", "委员", "已送达", "2024-06-15 10:00:00", "2024-06-15 10:00:00", "请假", "出差", ""]
    assert rows[3][3:] == [
        "无法送达（已屏蔽机器人或账号停用）",
        "",
        "",
        "",
        "",
        "Forbidden: bot was blocked by the user",
    ]
    assert rows[4][1:4] == ["赵九", "委员", "未绑定 Telegram"]


def test_recent_notices_are_listed_newest_first_without_drafts(storage):
    first = sent(storage, "第一条")
    draft(storage, "草稿")
    second = sent(storage, "第二条通知的正文比较长，超过二十个字时列表中只显示开头")
    reports = notices.recent_notices(storage, ADMIN)
    assert [r.notice.id for r in reports] == [second, first]
    text = notices.render_list(reports, tz=TZ, now=NOW)
    assert text.splitlines()[1].startswith(f"#{second} 6月15日 10:00 · 全体委员 · 发送中 · 已送达 2/3 · 已确认 0")
    assert text.splitlines()[1].endswith("…")
    assert notices.render_list([], tz=TZ) == "还没有发送过通知。发送 /notice 开始编写一条通知。"


def test_nudges_go_to_the_unconfirmed_at_most_every_ten_minutes(storage):
    notice_id = sent(storage)
    notices.record_receipt(storage, notice_id, ZHANG, "received", now=NOW)
    result = notices.nudge(storage, ADMIN, notice_id, now=NOW)
    assert result.queued == 1
    (row,) = rows_of(storage, notices.NUDGE_SOURCE, f"{notice_id}.1")
    assert row.chat_id == LI and row.text.startswith("【提醒】") and "请于周五前提交履职报告" in row.text
    assert [b.data for b in row.buttons[0]] == [f"n:r:{notice_id}"]
    with pytest.raises(NoticeError, match=r"每 10 分钟最多提醒一次.*10:10 之后"):
        notices.nudge(storage, ADMIN, notice_id, now=NOW + timedelta(minutes=9))
    assert notices.nudge(storage, ADMIN, notice_id, now=NOW + timedelta(minutes=10)).queued == 1
    notices.record_receipt(storage, notice_id, LI, "received", now=NOW)
    with pytest.raises(NoticeError, match="都已确认"):
        notices.nudge(storage, ADMIN, notice_id, now=NOW + timedelta(minutes=30))
    assert [e.detail["recipients"] for e in storage.audit_entries("notice_nudge")] == [["member:2"], ["member:2"]]


# ---- send times -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("明天 9:00", datetime(2024, 6, 16, 9, 0)),
        ("明天上午九点", datetime(2024, 6, 16, 9, 0)),
        ("今天下午3点半", datetime(2024, 6, 15, 15, 30)),
        ("下午三点十五分", datetime(2024, 6, 15, 15, 15)),
        ("晚上8点", datetime(2024, 6, 15, 20, 0)),
        ("中午12点", datetime(2024, 6, 15, 12, 0)),
        ("14:05", datetime(2024, 6, 15, 14, 5)),
        ("１４：０５", datetime(2024, 6, 15, 14, 5)),
        ("后天 8点", datetime(2024, 6, 17, 8, 0)),
        ("6月20日 15:30", datetime(2024, 6, 20, 15, 30)),
        ("六月二十日 下午三点", datetime(2024, 6, 20, 15, 0)),
        ("2024-06-20 15:30", datetime(2024, 6, 20, 15, 30)),
        ("2024年7月1日9:00", datetime(2024, 7, 1, 9, 0)),
        ("6/1 8:00", datetime(2025, 6, 1, 8, 0)),  # a month and day that passed: next year
    ],
)
def test_send_times(text, expected):
    assert notices.parse_send_time(text, NOW) == expected.replace(tzinfo=TZ)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "请写发送时间"),
        ("昨天", "没有看懂"),
        ("尽快", "没有看懂"),
        ("9:00", "已经过去"),
        ("2024-06-15 09:59", "已经过去"),
        ("2024-02-30 9:00", "日期不存在"),
        ("25:00", "不是有效的时刻"),
        ("2026-01-01 9:00", "366 天以内"),
    ],
)
def test_bad_send_times(text, message):
    with pytest.raises(NoticeError, match=message):
        notices.parse_send_time(text, NOW)


# ---- the knowledge file ----------------------------------------------------------------------------------


def _config_data() -> dict:
    return json.loads((knowledge_dir() / "notices.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.update(version=2), "version"),
        (lambda d: d["delivery"].update(rate=0), "delivery"),
        (lambda d: d["delivery"].update(speed=1), "delivery"),
        (lambda d: d.update(nudge_interval_minutes=0), "nudge_interval_minutes"),
        (lambda d: d["templates"].update(notice="没有正文"), "templates.notice"),
        (lambda d: d["templates"].update(done="{id} {unknown}"), "templates.done"),
        (lambda d: d["templates"].update(nudge="{message"), "templates.nudge"),
        (lambda d: d["templates"].pop("confirmed"), "templates.confirmed"),
        (lambda d: d["buttons"].pop("leave"), "buttons"),
        (lambda d: d["audience"]["prefixes"].pop("unit"), "audience.prefixes"),
        (lambda d: d.update(meeting_keywords="会议"), "meeting_keywords"),
    ],
)
def test_the_knowledge_file_is_validated_with_file_and_field_named(tmp_path, change, field):
    data = copy.deepcopy(_config_data())
    change(data)
    path = tmp_path / "notices.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(NoticeConfigError) as caught:
        notices.load_config(path)
    assert str(path) in str(caught.value) and field in str(caught.value)


def test_the_shipped_knowledge_file_loads():
    config = notices.load_config()
    assert config.delivery.rate == 25 and config.delivery.per_chat_rate == 1
    assert config.nudge_interval == timedelta(minutes=10)


def test_missing_or_broken_knowledge_file(tmp_path):
    with pytest.raises(NoticeConfigError, match="找不到"):
        notices.load_config(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    with pytest.raises(NoticeConfigError, match="无法读取"):
        notices.load_config(tmp_path / "bad.json")


# ---- command line ----------------------------------------------------------------------------------------


@pytest.fixture
def cli_db(storage, monkeypatch):
    monkeypatch.setenv("CPPCC_DB", str(storage.db.execute("PRAGMA database_list").fetchone()[2]))
    monkeypatch.delenv("CPPCC_ADMIN_IDS", raising=False)
    return storage


def test_cli_send_list_report_cancel(cli_db, tmp_path, capsys):
    text = tmp_path / "notice.txt"
    text.write_text("\ufeff请于周五前提交履职报告\n附：材料清单", encoding="utf-8")
    assert cli.main(["notice", "send", "--audience", "常委", "--text-file", str(text), "--dry-run"]) == 0
    assert "（预览模式：未发送）" in capsys.readouterr().out
    assert cli.main(["notice", "send", "--audience", "全体委员", "--text-file", str(text)]) == 0
    out = capsys.readouterr().out
    assert "正在发送给 2 人" in out and "cppcc-bot notice report 2" in out and "运行中的机器人" in out
    assert [r.chat_id for r in rows_of(cli_db, notices.SOURCE, "2")] == [ZHANG, LI]
    at = (cli_db.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    assert cli.main(["notice", "send", "--audience", "常委", "--text-file", str(text), "--at", at, "--meeting"]) == 0
    assert "cppcc-bot notice cancel 3" in capsys.readouterr().out
    assert storage_kind(cli_db, 3) == ("meeting", "scheduled")

    assert cli.main(["notice", "list"]) == 0
    listing = capsys.readouterr().out
    assert "#3" in listing and "#2" in listing and "#1" not in listing
    assert cli.main(["notice", "report", "2"]) == 0
    assert "待发送（2）：张三、李四" in capsys.readouterr().out
    assert cli.main(["notice", "report", "2", "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert [row[1] for row in rows[1:]] == ["张三", "李四", "王五"]
    assert cli.main(["notice", "cancel", "3"]) == 0
    assert "1 人的消息不再发送" in capsys.readouterr().out
    assert cli.main(["notice", "cancel", "3"]) == 1
    assert "已经取消过了" in capsys.readouterr().err
    actions = [(e.actor, e.action) for e in cli_db.audit_entries() if e.action.startswith("notice")]
    assert actions == [
        ("cli", "notice_draft"),
        ("cli", "notice_discard"),  # the dry run
        ("cli", "notice_draft"),
        ("cli", "notice_send"),
        ("cli", "notice_draft"),
        ("cli", "notice_schedule"),
        ("cli", "notice_cancel"),
    ]


def storage_kind(storage, notice_id: int) -> tuple[str, str]:
    notice = storage.notice(notice_id)
    return notice.kind, notice.status


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["notice", "send", "--audience", "火星", "--text-file", "{text}"], "没有找到"),
        (["notice", "send", "--audience", "常委", "--text-file", "{missing}"], "无法读取文件"),
        (["notice", "send", "--audience", "常委", "--text-file", "{text}", "--at", "昨天"], "没有看懂"),
        (["notice", "report", "42"], "没有编号为 42 的通知"),
    ],
)
def test_cli_errors_are_one_clear_line(cli_db, tmp_path, capsys, argv, message):
    text = tmp_path / "notice.txt"
    text.write_text("正文", encoding="utf-8")
    argv = [a.format(text=text, missing=tmp_path / "missing.txt") for a in argv]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("错误：") and message in err and "Traceback" not in err
    assert not rows_of(cli_db, notices.SOURCE)
