"""End to end: the real Application, real HTTP, real update routing, against the fake Bot API."""

from __future__ import annotations

import itertools
import logging

import pytest

from bot.reply import Reply
from handlers.app import build_application
from handlers.render import parts
from tests.conftest import make_settings, running

USER = 4201
OTHER = 4202
GROUP = -100777


async def ask(tg, text: str, user: int = USER):
    tg.inject_message(user, text)
    return await tg.wait_for_reply(user)


async def test_start_welcomes_with_buttons_and_sets_commands(tg, bot):
    tg.inject_message(USER, "/start")
    reply, prompt = await tg.wait_for_messages(USER, 2)
    assert prompt.reply_markup["keyboard"][0][0]["request_contact"] is True
    assert "政协履职助手" in reply.plain_text and "贺党办〔2023〕70号" in reply.plain_text
    assert reply.button_texts[0] == "我今年要提交什么"
    commands = tg.requests("setMyCommands")[0].params["commands"]
    names = [c["command"] for c in commands]
    assert names[:5] == ["start", "help", "ask", "item", "unit"] and {"mine", "record", "whoami"} <= set(names)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in c["description"]) for c in commands)


async def test_help_lists_commands_and_examples(tg, bot):
    reply = await ask(tg, "/help")
    for text in ("/item 33", "/unit 统战部", "/ask", "委员活动的经费谁出"):
        assert text in reply.plain_text


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("委员活动的钱谁出", ["（45）", "财政局"]),
        ("第三十三條是什麼", ["（33）", "政协提案和委员联络委", "长期坚持"]),
        ("统战部负责什么", ["（19）", "（30）", "（37）"]),
        ("我今年要提交什么", ["提案", "社情民意信息", "验证身份"]),
        ("党外委员比例不少于多少", ["（30）", "60%", "65%"]),
        ("今天天气怎么样", ["只能回答"]),
    ],
)
async def test_questions_are_answered_with_task_citations(tg, bot, question, expected):
    reply = await ask(tg, question)
    assert reply.parse_mode == "HTML"
    for text in expected:
        assert text in reply.plain_text


async def test_explicit_commands(tg, bot):
    assert "（33）" in (await ask(tg, "/item 33")).plain_text
    assert "（12）" in (await ask(tg, "/task 第十二条")).plain_text
    assert "（45）" in (await ask(tg, "/unit 财政局")).plain_text
    assert "（45）" in (await ask(tg, "/ask 委员活动的钱谁出")).plain_text
    assert "/item 33" in (await ask(tg, "/item")).plain_text
    assert "没有找到“不存在局”" in (await ask(tg, "/unit 不存在局")).plain_text


async def test_candidate_buttons_round_trip(tg, bot):
    reply = await ask(tg, "新委员有没有培训")
    assert "您是想问" in reply.plain_text
    data = reply.callback_data("第（32）项")
    assert len(data.encode()) <= 64
    mark = tg.mark()
    tg.inject_callback(USER, data, reply)
    answer = (await tg.wait_for_messages(USER, 1, since=mark))[0]
    assert "方案第（32）项" in answer.plain_text
    assert await tg.wait_for_requests("answerCallbackQuery", 1)


async def test_stale_button_is_answered_politely(tg, bot):
    tg.inject_message(USER, "/start")
    reply, _verify_prompt = await tg.wait_for_messages(USER, 2)
    mark = tg.mark()
    tg.inject_callback(USER, "x:gone", reply, check_buttons=False)
    answer = (await tg.wait_for_messages(USER, 1, since=mark))[0]
    assert "按钮已失效" in answer.plain_text
    assert await tg.wait_for_requests("answerCallbackQuery", 1)


async def test_group_answers_only_when_addressed(tg, bot):
    tg.add_chat(GROUP, "supergroup", title="政协委员群")
    mark = tg.mark()
    tg.inject_message(USER, "委员活动的钱谁出", chat_id=GROUP, chat_type="supergroup")
    await tg.expect_no_messages(GROUP, 0.5, since=mark)

    tg.inject_message(USER, "@cppcc_helper_bot 委员活动的钱谁出", chat_id=GROUP, chat_type="supergroup")
    reply = await tg.wait_for_reply(GROUP)
    assert "（45）" in reply.plain_text

    tg.inject_message(OTHER, "统战部负责什么", chat_id=GROUP, chat_type="supergroup", reply_to_message=reply)
    assert "（37）" in (await tg.wait_for_reply(GROUP)).plain_text

    tg.inject_message(USER, "/help@cppcc_helper_bot", chat_id=GROUP, chat_type="supergroup")
    assert "/item 33" in (await tg.wait_for_reply(GROUP)).plain_text

    mark = tg.mark()
    tg.inject_message(USER, "/start@other_bot", chat_id=GROUP, chat_type="supergroup")
    tg.inject_message(USER, "/whatever", chat_id=GROUP, chat_type="supergroup")
    tg.inject_message(USER, "@someone_else 你好", chat_id=GROUP, chat_type="supergroup")
    await tg.expect_no_messages(GROUP, 0.5, since=mark)


@pytest.mark.parametrize(
    "text",
    [
        "委" * 4096,
        "委员活动的钱谁出" * 1250,
        "😀🎉👍" * 30,
        "<b>谁负责</b><script>alert(1)</script>",
        "**谁负责** _提案_ `code` [x](http://e.x)",
        "\x00\x01谁负责\x1b[31m经费",
    ],
)
async def test_bad_text_gets_a_sensible_reply(tg, bot, text):
    reply = await ask(tg, text)
    assert reply.plain_text.strip()
    assert not tg.errors


async def test_markup_in_questions_is_shown_literally(tg, bot):
    reply = await ask(tg, "/unit <b>x</b><script>")
    assert "<b>x</b><script>" in reply.plain_text  # escaped on the wire, literal on screen
    assert "&lt;b&gt;" in reply.text


async def test_unknown_command_and_other_bots(tg, bot):
    assert "未知命令" in (await ask(tg, "/frobnicate")).plain_text
    mark = tg.mark()
    tg.inject_message(USER, "/start@other_bot")
    await tg.expect_no_messages(USER, 0.4, since=mark)


async def test_edited_messages_and_channel_posts_are_ignored(tg, bot):
    await ask(tg, "你好")
    mark = tg.mark()
    tg.inject_message(USER, "委员活动的钱谁出", edited=True)
    tg.inject_message(USER, "频道消息", chat_id=-100999, no_from=True)
    await tg.expect_no_messages(None, 0.5, since=mark)
    assert not tg.errors


@pytest.mark.parametrize("kind", ["photo", "sticker", "voice", "location", "document"])
async def test_non_text_messages_get_an_explanation(tg, bot, kind):
    getattr(tg, f"inject_{kind}")(USER)
    reply = await tg.wait_for_reply(USER)
    assert "文字" in reply.plain_text


async def test_error_handler_apologises_and_bot_keeps_running(tg, bot, caplog):
    caplog.set_level(logging.ERROR)
    tg.fail_next("sendMessage", status=400, description="Bad Request: something unexpected", chat_id=USER)
    update_id = tg.inject_message(USER, "委员活动的钱谁出")
    reply = await tg.wait_for_reply(USER)
    assert "出了点问题" in reply.plain_text
    assert any(str(update_id) in r.getMessage() for r in caplog.records)
    assert "（45）" in (await ask(tg, "委员活动的钱谁出")).plain_text


async def test_long_replies_are_split_below_the_limit(tg, bot):
    reply = Reply("\n\n".join(["<委员>" * 400] * 6))
    texts = parts(reply)
    assert len(texts) > 1
    for text in texts:  # the fake server rejects > 4096 or broken HTML
        await bot.bot.send_message(USER, text)
    assert not [r for r in tg.requests("sendMessage") if not r.ok]


async def test_flood_guard_limits_one_user_only(tg, tmp_path):
    app = build_application(make_settings(tg, tmp_path / "db.sqlite", flood_limit=3, flood_window=30))
    async with running(app):
        for i in range(6):
            tg.inject_message(USER, f"第{i + 1}条")
        tg.inject_message(OTHER, "第45条")
        other = await tg.wait_for_reply(OTHER)
        assert "（45）" in other.plain_text
        messages = await tg.wait_for_messages(USER, 4)
        await tg.expect_no_messages(USER, 0.5, since=tg.mark())
        texts = [m.plain_text for m in tg.sent_messages(USER)]
        assert len(texts) == 4
        assert sum("请稍后再试" in t for t in texts) == 1
        assert [t for t in texts if "方案第" in t] == [m.plain_text for m in messages if "方案第" in m.plain_text]


async def test_replies_to_one_chat_are_spaced_a_second_apart(tg, tmp_path):
    app = build_application(make_settings(tg, tmp_path / "db.sqlite", per_chat_interval=1.05))
    async with running(app):
        for question in ("第1条", "第2条", "第3条"):
            tg.inject_message(USER, question)
        tg.inject_message(OTHER, "第4条")
        replies = await tg.wait_for_messages(USER, 3, timeout=10)
        other = await tg.wait_for_reply(OTHER)
    gaps = [b.at - a.at for a, b in itertools.pairwise(replies)]
    assert all(gap >= 1.0 for gap in gaps), gaps
    assert other.at - replies[0].at < 0.5  # another chat is not held back
    assert [r.plain_text.splitlines()[0] for r in replies] == ["方案第（1）项", "方案第（2）项", "方案第（3）项"]


async def test_no_update_dropped_or_answered_twice_under_load(tg, tmp_path):
    app = build_application(make_settings(tg, tmp_path / "db.sqlite", flood_limit=1000, send_rate=1000))
    users = [610000 + i for i in range(40)]
    async with running(app):
        for n in range(10):
            for user in users:
                tg.inject_message(user, f"第{n + 1}条")
        await tg.wait_for(lambda: sum(len(tg.sent_messages(u)) for u in users) >= 400, timeout=60)
        await tg.expect_no_messages(None, 0.5)
    for user in users:
        firsts = [m.plain_text.splitlines()[0] for m in tg.sent_messages(user)]
        assert firsts == [f"方案第（{n}）项" for n in range(1, 11)], user  # each once, in order
