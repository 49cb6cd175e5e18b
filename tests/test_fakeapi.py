"""End-to-end checks of tests/fakeapi.py with a real python-telegram-bot Application."""

from __future__ import annotations

import asyncio
import datetime as dtm
import html
import json
import subprocess
import sys
import textwrap
import time
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MenuButtonCommands,
    MessageEntity,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fakeapi import (
    ApiError,
    FakeTelegramServer,
    WaitTimeout,
    application_builder,
    make_bot,
    parse_html,
    polling,
)

USER = 1001
OTHER_USER = 1002
GROUP = -1001234567890
CHANNEL = -1009876543210


@pytest.fixture
def server() -> Iterator[FakeTelegramServer]:
    with FakeTelegramServer() as fake:
        yield fake


@pytest.fixture
async def bot(server: FakeTelegramServer) -> AsyncIterator[Bot]:
    async with make_bot(server) as plain_bot:
        yield plain_bot


async def call(server: FakeTelegramServer, method: str, token: str | None = None, **params: Any) -> httpx.Response:
    """A raw Bot API call, form-encoded the way PTB does it."""
    form = {key: value if isinstance(value, str) else json.dumps(value) for key, value in params.items()}
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(f"{server.base_url}{token or server.token}/{method}", data=form)


async def update_ids(server: FakeTelegramServer, **params: Any) -> list[int]:
    response = await call(server, "getUpdates", **params)
    assert response.status_code == 200, response.text
    return [update["update_id"] for update in response.json()["result"]]


def retry_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # int vs timedelta depends on PTB_TIMEDELTA
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(f"Welcome, {update.effective_user.first_name}!")


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(update.effective_message.text)


def echo_app(server: FakeTelegramServer) -> Application:
    app = application_builder(server).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    return app


# --------------------------------------------------------------------------- basics


async def test_get_me_describes_the_bot(server: FakeTelegramServer, bot: Bot) -> None:
    assert bot.username == "cppcc_test_bot"
    assert bot.id == server.bot_id == 123456789
    assert server.stats["getMe"] == 1
    assert server.requests("getMe")[0].ok


async def test_wrong_token_is_unauthorized(server: FakeTelegramServer) -> None:
    response = await call(server, "getMe", token="42:wrong")
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    with pytest.raises(InvalidToken):
        async with Bot("42:wrong", base_url=server.base_url):
            pass
    assert server.stats["401"] == 2


async def test_unknown_method_is_not_found(server: FakeTelegramServer, bot: Bot) -> None:
    response = await call(server, "sendTelepathy", chat_id=USER)
    assert response.status_code == 404
    assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendTelepathy", api_kwargs={"chat_id": USER})


# --------------------------------------------------------------------------- polling


async def test_start_and_echo_through_polling(server: FakeTelegramServer) -> None:
    async with polling(echo_app(server)):
        server.inject_message(USER, "/start", first_name="李明", username="liming")
        welcome = await server.wait_for_reply(USER)
        assert welcome.text == "Welcome, 李明!"
        assert welcome.chat_id == USER
        assert welcome.message["from"]["id"] == server.bot_id
        assert welcome.message_id == 2  # the user's /start was message 1 of the chat

        server.inject_message(USER, "你好 <b> & co")
        reply = await server.wait_for_reply(USER)
        assert (reply.text, reply.message_id) == ("你好 <b> & co", 4)

        server.inject_message(USER, "/start@cppcc_test_bot")
        assert (await server.wait_for_reply(USER)).text == "Welcome, 李明!"

        mark = server.mark()
        server.inject_message(USER, "/start@some_other_bot")
        await server.wait_until_consumed()
        await server.expect_no_messages(USER, 0.3, since=mark)

    assert server.stats["409"] == 0  # the long poll PTB cancels on stop ends quietly
    update = server.injected_updates()[0]
    assert update["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert update["message"]["from"]["username"] == "liming"
    assert [m.text for m in server.sent_messages(OTHER_USER)] == []


async def test_each_update_is_delivered_once(server: FakeTelegramServer) -> None:
    async with polling(echo_app(server)):
        injected = [server.inject_message(USER if i % 2 else OTHER_USER, f"消息 {i}") for i in range(6)]
        await server.wait_for(6)
        await server.wait_until_consumed()
        delivered = [
            update["update_id"]
            for request in server.requests("getUpdates")
            if request.ok
            for update in request.response["result"]
        ]
        assert delivered == injected
        assert server.pending_updates() == []
    assert [m.text for m in server.sent_messages(USER)] == ["消息 1", "消息 3", "消息 5"]


async def test_get_updates_offset_limit_and_timeout(server: FakeTelegramServer) -> None:
    first, second, third = (server.inject_message(USER, text) for text in ("一", "二", "三"))
    assert await update_ids(server, limit=2) == [first, second]
    assert await update_ids(server) == [first, second, third]  # nothing confirmed yet
    assert await update_ids(server, offset=second + 1) == [third]
    assert [u["update_id"] for u in server.pending_updates()] == [third]
    assert await update_ids(server, offset=third + 1, timeout=0) == []

    began = time.monotonic()
    assert await update_ids(server, offset=third + 1, timeout=0.5) == []
    assert 0.45 <= time.monotonic() - began < 2

    long_poll = asyncio.create_task(update_ids(server, offset=third + 1, timeout=5))
    await asyncio.sleep(0.2)
    assert not long_poll.done()
    began = time.monotonic()
    fourth = server.inject_message(USER, "四")
    assert await asyncio.wait_for(long_poll, 2) == [fourth]
    assert time.monotonic() - began < 1

    fifth = server.inject_message(USER, "五")
    assert await update_ids(server, offset=-1) == [fifth]  # negative offset: the last ones


async def test_opt_in_update_types_need_allowed_updates(server: FakeTelegramServer) -> None:
    member = {"chat": {"id": GROUP, "type": "supergroup", "title": "G"}}
    hidden = server.inject_update({"chat_member": member})
    shown = server.inject_message(USER, "hi")
    assert await update_ids(server) == [shown]
    assert hidden not in await update_ids(server, allowed_updates=["chat_member"])
    wanted = server.inject_update({"chat_member": member})
    assert await update_ids(server, offset=shown + 1, allowed_updates=["chat_member"]) == [wanted]


async def test_newer_get_updates_ends_an_older_one_with_conflict(server: FakeTelegramServer) -> None:
    older = asyncio.create_task(call(server, "getUpdates", timeout=5))
    await asyncio.sleep(0.2)
    assert await update_ids(server, timeout=0) == []
    response = await asyncio.wait_for(older, 2)
    assert response.status_code == 409
    assert response.json()["description"].startswith("Conflict: terminated by other getUpdates")


async def test_stop_releases_a_waiting_long_poll() -> None:
    with FakeTelegramServer() as fake:
        long_poll = asyncio.create_task(call(fake, "getUpdates", timeout=30))
        await asyncio.sleep(0.2)
        began = time.monotonic()
        fake.stop()
        assert time.monotonic() - began < 2
    result = (await asyncio.gather(long_poll, return_exceptions=True))[0]
    assert isinstance(result, httpx.HTTPError) or result.json()["result"] == []


def test_bot_in_a_subprocess(server: FakeTelegramServer) -> None:
    script = textwrap.dedent(
        """
        import sys
        from telegram.ext import Application, MessageHandler, filters

        async def echo(update, context):
            await update.message.reply_text("echo: " + update.message.text)

        app = Application.builder().token(sys.argv[1]).base_url(sys.argv[2]).build()
        app.add_handler(MessageHandler(filters.TEXT, echo))
        app.run_polling(poll_interval=0, timeout=1)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script, server.token, server.base_url])
    try:
        server.inject_message(USER, "来自子进程的问候")
        messages = server.wait_for_sync(lambda: server.sent_messages(USER), timeout=15)
        assert messages[0].text == "echo: 来自子进程的问候"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --------------------------------------------------------------------------- faults


async def test_429_fault_raises_retry_after(server: FakeTelegramServer, bot: Bot) -> None:
    server.fail_next("sendMessage", status=429, retry_after=1)
    with pytest.raises(RetryAfter) as raised:
        await bot.send_message(USER, "通知")
    assert retry_seconds(raised.value) == 1
    failed = server.requests("sendMessage")[0]
    assert failed.status == 429
    assert failed.response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    await bot.send_message(USER, "通知")
    assert [m.text for m in server.sent_messages(USER)] == ["通知"]
    assert (server.stats["sendMessage"], server.stats["429"]) == (2, 1)


async def test_blocked_chat_is_forbidden_until_unblocked(server: FakeTelegramServer, bot: Bot) -> None:
    server.block_chat(USER)
    for _ in range(2):
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(USER, "提醒")
    await bot.send_message(OTHER_USER, "提醒")
    server.unblock_chat(USER)
    await bot.send_message(USER, "提醒")
    assert [m.chat_id for m in server.sent_messages()] == [OTHER_USER, USER]
    assert server.stats["403"] == 2


async def test_server_errors_honour_chat_count_and_skip(server: FakeTelegramServer, bot: Bot) -> None:
    server.fail_next("sendMessage", 500, chat_id=USER, count=2, skip=1)
    await bot.send_message(USER, "1")
    await bot.send_message(OTHER_USER, "other chat")
    for _ in range(2):
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.send_message(USER, "x")
    await bot.send_message(USER, "2")
    server.fail_next("sendDocument", 502)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_document(USER, document=b"data", filename="a.txt")
    assert [m.text for m in server.sent_messages(USER)] == ["1", "2"]


async def test_slow_method(server: FakeTelegramServer, bot: Bot) -> None:
    server.slow("sendChatAction", 0.3)
    began = time.monotonic()
    await bot.send_chat_action(USER, "typing")
    assert time.monotonic() - began >= 0.3
    server.slow("sendChatAction", 0)
    began = time.monotonic()
    await bot.send_chat_action(USER, "typing")
    assert time.monotonic() - began < 0.3


async def test_flood_limits_answer_429(server: FakeTelegramServer, bot: Bot) -> None:
    server.enforce_limits(global_per_sec=30, per_chat_per_sec=None)
    results = await asyncio.gather(
        *(bot.send_message(2000 + i, "会议通知") for i in range(40)),
        return_exceptions=True,
    )
    delivered = [r for r in results if not isinstance(r, BaseException)]
    limited = [r for r in results if isinstance(r, RetryAfter)]
    assert len(delivered) + len(limited) == 40
    assert 30 <= len(delivered) < 40  # all 40 arrive within about a second
    assert server.stats["429"] == len(limited)
    assert all(retry_seconds(error) >= 1 for error in limited)


async def test_per_chat_and_per_group_limits(server: FakeTelegramServer, bot: Bot) -> None:
    server.enforce_limits(global_per_sec=None, per_chat_per_sec=1, per_group_per_min=2)
    await bot.send_message(USER, "1")
    with pytest.raises(RetryAfter) as raised:
        await bot.send_message(USER, "2")
    assert retry_seconds(raised.value) == 1
    await bot.send_message(OTHER_USER, "another chat is fine")
    await bot.send_message(GROUP, "g1")
    await asyncio.sleep(1.05)
    await bot.send_message(USER, "2")
    await bot.send_message(GROUP, "g2")
    await asyncio.sleep(0.05)
    with pytest.raises(RetryAfter) as raised:  # per chat and per group: the longer wait wins
        await bot.send_message(GROUP, "g3")
    assert 58 <= retry_seconds(raised.value) <= 60
    server.reset_faults()
    await bot.send_message(GROUP, "g3")
    assert server.stats["429"] == 2
    assert [m.text for m in server.sent_messages(GROUP)] == ["g1", "g2", "g3"]


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("<script>alert(1)</script>", 'Unsupported start tag "script" at byte offset 0'),
        ("委员 <b>未闭合", 'Can\'t find end tag corresponding to start tag "b"'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ('<a href="https://x.org>x</a>', "Unclosed start tag at byte offset 0"),
        ("<b", "Unclosed start tag at byte offset 0"),
    ],
)
def test_parse_html_rejects_like_telegram(text: str, detail: str) -> None:
    with pytest.raises(ApiError) as raised:
        parse_html(text)
    assert raised.value.status == 400
    assert raised.value.description == f"Bad Request: can't parse entities: {detail}"


def test_parse_html_entities_and_offsets() -> None:
    plain, entities = parse_html(
        '任务😀 <b>加粗</b> <a href="https://example.org/?a=1&amp;b=2">链接</a> '
        '<span class="tg-spoiler">密</span> &lt;&gt;&amp;&quot;&#20013;&nbsp;'
    )
    assert plain == '任务😀 加粗 链接 密 <>&"中&nbsp;'
    assert entities == [
        {"offset": 5, "length": 2, "type": "bold"},
        {"offset": 8, "length": 2, "type": "text_link", "url": "https://example.org/?a=1&b=2"},
        {"offset": 11, "length": 1, "type": "spoiler"},
    ]


async def test_html_messages_are_validated(server: FakeTelegramServer, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)can\'t parse entities: Unsupported start tag \"script\""):
        await bot.send_message(USER, "<script>alert(1)</script>", parse_mode=ParseMode.HTML)
    user_text = '<script>alert("x")</script> & 李四'
    message = await bot.send_message(USER, f"<b>问：</b>{html.escape(user_text)}", parse_mode=ParseMode.HTML)
    assert message.text == f"问：{user_text}"
    assert message.entities[0].type == MessageEntity.BOLD
    assert message.text_html == f"<b>问：</b>{html.escape(user_text)}"
    sent = server.sent_messages(USER)[-1]
    assert (sent.plain_text, sent.parse_mode) == (f"问：{user_text}", "HTML")
    assert sent.text == f"<b>问：</b>{html.escape(user_text)}"
    plain = await bot.send_message(USER, "<script> is fine without parse_mode")
    assert plain.text == "<script> is fine without parse_mode"


async def test_text_length_and_emptiness(server: FakeTelegramServer, bot: Bot) -> None:
    await bot.send_message(USER, "字" * 4096)
    await bot.send_message(USER, "😀" * 2048)  # 2 UTF-16 units each
    await bot.send_message(USER, "<b>" + "a" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    for too_long in ("a" * 4097, "😀" * 2049):
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(USER, too_long)
    for empty, mode in (("", None), ("  \n ", None), ("<b></b>", ParseMode.HTML)):
        with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
            await bot.send_message(USER, empty, parse_mode=mode)
    with pytest.raises(BadRequest, match=r"(?i)message caption is too long"):
        await bot.send_document(USER, document=b"x", filename="a.txt", caption="c" * 1025)
    assert len(server.sent_messages()) == 3


async def test_callback_data_is_limited_to_64_bytes(bot: Bot) -> None:
    fits = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="政" * 21)]])
    await bot.send_message(USER, "63 bytes", reply_markup=fits)
    for data in ("x" * 65, "政" * 22):
        too_long = InlineKeyboardMarkup([[InlineKeyboardButton("too long", callback_data=data)]])
        with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
            await bot.send_message(USER, "too long", reply_markup=too_long)


# --------------------------------------------------------------------------- round trips


async def test_callback_query_round_trip(server: FakeTelegramServer) -> None:
    async def menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        buttons = [[InlineKeyboardButton("同意", callback_data="vote:yes")]]
        buttons.append([InlineKeyboardButton("反对", callback_data="vote:no")])
        await update.effective_message.reply_text("请选择", reply_markup=InlineKeyboardMarkup(buttons))

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        await query.answer(f"收到 {query.data}")
        await query.edit_message_text(f"已选择: {query.data}")

    app = application_builder(server).build()
    app.add_handler(CommandHandler("menu", menu))
    app.add_handler(CallbackQueryHandler(pressed))
    async with polling(app):
        server.inject_message(USER, "/menu")
        prompt = await server.wait_for_reply(USER)
        assert prompt.button_texts == ["同意", "反对"]
        assert prompt.callback_data("同意") == "vote:yes"
        with pytest.raises(ValueError, match="not a button"):
            server.inject_callback(USER, "vote:maybe", prompt)

        mark = server.mark()
        server.inject_callback(USER, prompt.callback_data("同意"), prompt)
        (answer,) = await server.wait_for_requests("answerCallbackQuery", since=mark)
        assert answer.ok and answer.params["text"] == "收到 vote:yes"
        (edit,) = await server.wait_for_requests("editMessageText", since=mark)
        assert edit.ok and edit.params["message_id"] == prompt.message_id

        assert (prompt.text, prompt.history) == ("已选择: vote:yes", ["请选择"])
        assert "reply_markup" not in server.message(USER, prompt.message_id)  # keyboard removed
        with pytest.raises(BadRequest, match=r"(?i)query is too old"):
            await app.bot.answer_callback_query(answer.params["callback_query_id"])
        with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
            await app.bot.edit_message_text("已选择: vote:yes", chat_id=USER, message_id=prompt.message_id)


async def test_documents_photos_and_downloads(server: FakeTelegramServer, bot: Bot) -> None:
    content = "序号,任务\n1,调研\n".encode()
    message = await bot.send_document(
        USER,
        document=content,
        filename="任务清单.csv",
        caption="<b>附件</b> &amp; 说明",
        parse_mode=ParseMode.HTML,
    )
    assert (message.document.file_name, message.caption) == ("任务清单.csv", "附件 & 说明")
    sent = server.sent_messages(USER)[-1]
    assert (sent.method, sent.text, sent.plain_text) == ("sendDocument", "<b>附件</b> &amp; 说明", "附件 & 说明")
    assert (sent.file.filename, sent.file.content, sent.file.mime_type) == ("任务清单.csv", content, "text/csv")
    assert server.requests("sendDocument")[-1].files["document"].content == content

    again = await bot.send_document(OTHER_USER, document=message.document.file_id)
    assert again.document.file_unique_id == message.document.file_unique_id
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_document(OTHER_USER, document="no-such-file")

    photo = await bot.send_photo(USER, photo=b"\x89PNG fake", caption="现场照片")
    assert photo.caption == "现场照片" and photo.photo[-1].width == 1280
    assert server.sent_messages(USER)[-1].file.content == b"\x89PNG fake"

    server.inject_document(USER, "名单.xlsx", b"PK\x03\x04 fake workbook")
    (update,) = await bot.get_updates()
    document = update.message.document
    assert document.mime_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    telegram_file = await document.get_file()
    assert bytes(await telegram_file.download_as_bytearray()) == b"PK\x03\x04 fake workbook"
    assert server.stats["downloadFile"] == 1


async def test_group_mentions_and_replies_to_the_bot(server: FakeTelegramServer) -> None:
    async def group_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        mentions = message.parse_entities([MessageEntity.MENTION]).values()
        replied = message.reply_to_message and message.reply_to_message.from_user.id == context.bot.id
        if f"@{context.bot.username}" in mentions:
            await message.reply_text("在，请讲")
        elif replied:
            await message.reply_text("收到回复")

    app = application_builder(server).build()
    app.add_handler(MessageHandler(filters.ChatType.GROUPS & filters.TEXT, group_text))
    async with polling(app):
        server.add_chat(GROUP, "supergroup", title="政协委员群")
        server.inject_message(USER, "@cppcc_test_bot 第三项任务谁负责？", chat_id=GROUP)
        answer = await server.wait_for_reply(GROUP)
        assert answer.text == "在，请讲"
        assert answer.message["chat"] == {"id": GROUP, "type": "supergroup", "title": "政协委员群"}
        assert answer.message["reply_to_message"]["message_id"] == 1  # PTB quotes in groups

        server.inject_message(OTHER_USER, "谢谢", chat_id=GROUP, reply_to_message=answer)
        assert (await server.wait_for_reply(GROUP)).text == "收到回复"

        mark = server.mark()
        server.inject_message(USER, "大家好 @someone_else", chat_id=GROUP, chat_type="group")
        await server.wait_until_consumed()
        await server.expect_no_messages(GROUP, 0.3, since=mark)

    first = server.injected_updates()[0]["message"]
    assert first["entities"] == [{"type": "mention", "offset": 0, "length": 15}]
    assert server.injected_updates()[1]["message"]["reply_to_message"]["from"]["id"] == server.bot_id


async def test_injected_payloads_deserialize_in_ptb(server: FakeTelegramServer, bot: Bot) -> None:
    server.add_user(USER, "王", username="wang")
    server.inject_photo(USER, "看图")
    server.inject_sticker(USER, "🙏")
    server.inject_voice(USER, 7)
    server.inject_location(USER, 27.7, 112.0)
    server.inject_contact(USER, "+8613800000000")
    server.inject_contact(USER, "13900000000", OTHER_USER, "张三")
    server.inject_contact(USER, "13700000000", own=False)
    original = server.inject_message(USER, "原文")
    server.inject_message(USER, "改过", edited=True)
    server.inject_message(0, "全体委员会议通知", chat_id=CHANNEL, no_from=True)
    updates = await bot.get_updates()
    photo, sticker, voice, location, own, other, phonebook, sent, edited, post = updates
    assert photo.message.photo[-1].width == 800 and photo.message.caption == "看图"
    assert photo.message.from_user.username == "wang"
    assert sticker.message.sticker.emoji == "🙏"
    assert voice.message.voice.duration == dtm.timedelta(seconds=7) or voice.message.voice.duration == 7
    assert (location.message.location.latitude, location.message.location.longitude) == (27.7, 112.0)
    assert (own.message.contact.user_id, own.message.contact.first_name) == (USER, "王")
    assert (other.message.contact.user_id, other.message.contact.first_name) == (OTHER_USER, "张三")
    assert phonebook.message.contact.user_id is None
    assert sent.update_id == original
    assert edited.edited_message.text == "改过"
    assert edited.edited_message.message_id == sent.message.message_id
    assert edited.edited_message.edit_date is not None
    assert post.channel_post.from_user is None
    assert (post.channel_post.chat.type, post.channel_post.sender_chat.id) == ("channel", CHANNEL)


async def test_commands_webhook_and_chat_methods(server: FakeTelegramServer, bot: Bot) -> None:
    assert await bot.set_my_commands([BotCommand("start", "开始"), BotCommand("help", "帮助")])
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    assert await bot.get_my_commands(scope=BotCommandScopeAllPrivateChats()) == ()
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Start", "uppercase is invalid")])

    server.inject_message(USER, "pending")
    assert await bot.set_webhook("https://example.org/hook")
    assert (await bot.get_webhook_info()).url == "https://example.org/hook"
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates() == ()

    assert await bot.set_chat_menu_button(chat_id=USER, menu_button=MenuButtonCommands())
    assert (await bot.get_chat_menu_button(chat_id=USER)).type == "commands"
    chat = await bot.get_chat(USER)
    assert (chat.id, chat.type, chat.first_name) == (USER, "private", f"User{USER}")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.get_chat(-5)
    assert await bot.send_chat_action(USER, "typing")

    temporary = await bot.send_message(USER, "临时")
    assert await bot.delete_message(USER, temporary.message_id)
    assert server.sent_messages(USER)[-1].deleted
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER, message_id=temporary.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(USER, temporary.message_id)
    assert await bot.log_out() and await bot.close()


async def test_add_method_and_internal_errors(server: FakeTelegramServer, bot: Bot) -> None:
    server.add_method("getMyName", lambda request: {"name": "政协履职助手"})
    assert (await bot.get_my_name()).name == "政协履职助手"
    server.add_method("getMyDescription", lambda request: 1 / 0)
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.get_my_description()
    assert server.errors and "ZeroDivisionError" in server.errors[0]


async def test_waiting_helpers_and_clear(server: FakeTelegramServer, bot: Bot) -> None:
    await bot.send_message(USER, "hello")
    assert [m.text for m in await server.wait_for(1)] == ["hello"]
    assert await server.wait_for(lambda: server.stats["sendMessage"]) == 1
    with pytest.raises(WaitTimeout) as raised:
        await server.wait_for_messages(OTHER_USER, timeout=0.2)
    assert isinstance(raised.value, AssertionError)
    assert "1 message(s) to chat 1002" in str(raised.value)
    assert f"sendMessage chat={USER} -> 200 'hello'" in str(raised.value)

    mark = server.mark()
    await bot.send_message(OTHER_USER, "later")
    assert [m.text for m in server.sent_messages(since=mark)] == ["later"]
    assert [r.method for r in server.requests(since=mark)] == ["sendMessage"]
    with pytest.raises(AssertionError, match="unexpected message"):
        await server.expect_no_messages(duration=0.05, since=mark)

    server.clear()
    assert (server.requests(), server.sent_messages(), server.stats) == ([], [], {})
