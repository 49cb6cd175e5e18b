"""End to end: bad number arguments and forged button data get a clear Chinese message naming the
usage, never the generic error (real Application, fake Bot API server)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from tests.conftest import ADMIN_ID
from tests.test_bot_ledger import MEMBER, PROPOSAL, bot, say, storage  # noqa: F401 (fixtures)

pytestmark = pytest.mark.usefixtures("bot", "storage")  # the ledger tests' bot with bound people
BIG = "9" * 30
GENERIC_ERROR = json.loads((Path(__file__).parent.parent / "knowledge" / "messages.json").read_text("utf-8"))["error"]


@pytest.fixture(autouse=True)
def no_handler_errors(caplog):
    """No update may end in the error handler (which logs and sends the generic error)."""
    caplog.set_level(logging.ERROR, logger="handlers.errors")
    yield
    assert not [r for r in caplog.records if r.name == "handlers.errors"], "an update reached the error handler"


@pytest.mark.parametrize(
    ("user", "text", "expected"),
    [
        (MEMBER, "/item ²", ["“²”不是有效的任务编号", "/item 33"]),
        (MEMBER, f"/task {BIG}", ["方案共有 45 项任务", "1 到 45", "/item 33"]),
        (MEMBER, "/item ٣٣", ["只能用数字 0–9", "/item 33"]),
        (MEMBER, "/item -3", ["不是有效的任务编号", "/item 33"]),
        (MEMBER, "/item 46", ["没有第（46）项"]),
        (ADMIN_ID, f"/unbind {BIG}", ["超出范围", "/unbind Telegram用户id"]),
        (ADMIN_ID, "/unbind ²", ["只能用数字 0–9", "/unbind Telegram用户id"]),
        (ADMIN_ID, "/unbind -5", ["只能用数字 0–9", "/unbind Telegram用户id"]),
        (PROPOSAL, "/report ² 本季度完成", ["不是有效的任务编号", "/report 33"]),
        (PROPOSAL, f"/report {BIG} 本季度完成", ["方案共有 45 项任务", "/report 33"]),
        (PROPOSAL, "/report ٣٣ 本季度完成", ["只能用数字 0–9", "/report 33"]),
        (ADMIN_ID, "/ledger ²", ["不是有效的任务编号", "/ledger 33"]),
        (ADMIN_ID, f"/ledger {BIG}", ["方案共有 45 项任务", "/ledger 33"]),
        (ADMIN_ID, "/ledger 2027Q²", ["无法识别的季度"]),
        (MEMBER, "/record 提案 关于饮水安全的建议 2024-0²-01", ["无法识别", "2024-03-05"]),
        (ADMIN_ID, f"/event {BIG}", ["超出范围", "/event 活动编号"]),
        (ADMIN_ID, "/event ²", ["只能用数字 0–9", "/event 活动编号"]),
        (ADMIN_ID, "/event ١٢", ["只能用数字 0–9", "/event 活动编号"]),
        (ADMIN_ID, "/event 12", ["没有编号为 12 的活动"]),
    ],
)
async def test_bad_number_arguments_get_a_clear_message(tg, user, text, expected):
    reply = (await say(tg, user, text)).plain_text
    assert GENERIC_ERROR not in reply
    for fragment in expected:
        assert fragment in reply, reply


async def test_full_width_digits_are_accepted(tg):
    assert "方案第（33）项" in (await say(tg, MEMBER, "/item ３３")).plain_text
    assert "已登记第（33）项的进展" in (await say(tg, PROPOSAL, "/report ３３ 本季度组织委员培训1次")).plain_text
    assert (await say(tg, ADMIN_ID, "/ledger （３３）")).plain_text.startswith("（33）要通过制度化安排")


async def _press_forged(tg, user: int, data: str) -> list[str]:
    """Press a button with ``data`` under a bot message; the texts the bot answered with."""
    target = await say(tg, user, "/help")
    mark = tg.mark()
    tg.inject_callback(user, data, target, check_buttons=False)

    def answered() -> list[str] | None:
        texts = [m.plain_text for m in tg.sent_messages(user, since=mark)]
        texts += [r.params["text"] for r in tg.requests("answerCallbackQuery", since=mark) if r.params.get("text")]
        return texts or None

    return await tg.wait_for(answered)


@pytest.mark.parametrize(
    "data",
    [
        "t:²",
        f"q:{BIG}",
        "e:v:²",
        f"e:v:{BIG}",
        "e:v:٣",
        "e:cf:²:date",
        f"e:xy:{BIG}",
        "r:rp:²",
        "lg:r:²",
        f"lg:e:{BIG}",
        "lg:f:٣",
        "n:v:²",
        f"n:r:{BIG}",
        f"n:c:{BIG}",
    ],
)
async def test_forged_button_numbers_are_refused_politely(tg, data):
    texts = await _press_forged(tg, ADMIN_ID, data)
    assert not [t for t in texts if GENERIC_ERROR in t]
    assert any("失效" in t or "没有" in t or "结束" in t for t in texts), texts
