"""Role-aware /start and /help, how-to topics (bot/answers/help.py, knowledge/help.json)."""

from __future__ import annotations

import pytest

from bot.answers.dialogue import Dialogue
from bot.answers.engine import default_engine
from bot.answers.help import HelpBook, HelpError, default_help
from bot.people.roles import CLI_CALLER
from bot.people.roster import import_members
from bot.storage import Storage
from handlers.app import build_application
from tests.conftest import ADMIN_ID, make_settings, running

MEMBER = 5101  # 张三, 13812345678


@pytest.mark.parametrize(
    ("question", "title"),
    [
        ("怎么导入名册", "怎么导入名册"),
        ("请问如何导入委员名册？", "怎么导入名册"),
        ("怎么发通知", "怎么发通知"),
        ("怎么请假", "怎么请假"),
        ("请假怎么办", "怎么请假"),
        ("怎样添加秘书", "怎么添加秘书"),
        ("谁负责提案立案标准", None),
        ("委员活动的经费谁出", None),
        ("统战部负责哪些工作", None),
    ],
)
def test_how_to_questions_find_their_topic_and_plan_questions_do_not(question, title):
    topic = default_help().topic(question)
    assert (topic.title if topic else None) == title


def test_a_topic_is_answered_with_numbered_steps():
    reply = Dialogue(default_engine()).ask("怎么导入名册")
    assert reply.text.startswith("怎么导入名册：\n1. ") and "[跳过问题行后导入]" in reply.text


def test_help_shows_every_capacity_held_with_examples():
    book = default_help()
    both = book.help_text({"admin", "member"})
    assert "【政协委员】" in both and "【政协办秘书】" in both and "【尚未验证身份】" not in both
    for group in ("名单：", "通知：", "活动：", "提案：", "台账："):
        assert group in both
    assert "/notice 常委 明天上午9点在三楼会议室开会" in both and "/ledger export" in both
    assert "【尚未验证身份】" in book.help_text(set()) and "/bind" in book.help_text({"guest"})
    assert "【单位联络员】" in book.help_text({"unit_contact"}) and "名单：" not in book.help_text({"unit_contact"})
    assert "私聊" in book.help_text(None)


def test_the_help_file_is_validated_with_a_line_naming_the_entry():
    sections = {"guest": [{"group": "x", "commands": [["a", "b"]]}], "member": [{"group": "y", "commands": "z"}]}
    with pytest.raises(HelpError, match=r"help.json: sections.member\[0\]: commands"):
        HelpBook.from_dict({"sections": sections})


async def _say(tg, user: int, text: str, count: int = 1):
    mark = tg.mark()
    tg.inject_message(user, text)
    await tg.wait_for(lambda: len(tg.sent_messages(user, since=mark)) >= count)
    return tg.sent_messages(user, since=mark)


async def test_start_and_help_by_role(tg, tmp_path):
    db = tmp_path / "cppcc.db"
    with Storage(db) as storage:
        import_members(storage, CLI_CALLER, "姓名,手机号\n张三,13812345678\n".encode())
    app = build_application(make_settings(tg, db))
    async with running(app):
        (welcome,) = await _say(tg, ADMIN_ID, "/start")
        assert "您是政协办秘书" in welcome.plain_text
        await tg.expect_no_messages(ADMIN_ID, 0.3)  # no 验证身份 prompt for a secretary
        (helped,) = await _say(tg, ADMIN_ID, "/help")
        assert "【政协办秘书】" in helped.plain_text and "/item 33" in helped.plain_text

        welcome, prompt = await _say(tg, MEMBER, "/start", 2)
        assert "验证身份" in prompt.plain_text and "政协办秘书" not in welcome.plain_text
        tg.inject_contact(MEMBER, "8613812345678", MEMBER, own=True)
        await tg.wait_for_reply(MEMBER)
        (helped,) = await _say(tg, MEMBER, "/help")
        assert "【政协委员】" in helped.plain_text and "【政协办秘书】" not in helped.plain_text
        (answer,) = await _say(tg, MEMBER, "怎么请假")
        assert answer.plain_text.startswith("怎么请假：\n1. ")
