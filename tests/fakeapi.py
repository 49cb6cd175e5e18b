"""A fake Telegram Bot API server for end-to-end tests of python-telegram-bot bots.

The server speaks the Bot API wire protocol on ``127.0.0.1`` (ephemeral port) from a
background thread, so a PTB ``Application`` running on the test's own asyncio loop, or a
bot started as a subprocess, can talk to it through ``base_url``.  It records every
request, lets tests inject updates as given users, validates what the bot sends the way
Telegram does (HTML entities, lengths, callback data) and can inject faults and enforce
flood limits.

Typical use from an async test (pytest-asyncio, ``asyncio_mode = "auto"``)::

    from tests.fakeapi import FakeTelegramServer, application_builder, polling

    @pytest.fixture
    def tg():
        with FakeTelegramServer() as server:      # stopped even if the test fails
            yield server

    async def test_start(tg):
        app = application_builder(tg).build()    # token, base_url, base_file_url set
        app.add_handler(CommandHandler("start", start))
        async with polling(app):                  # start + start_polling, then stop
            tg.inject_message(42, "/start", first_name="Li")
            reply = await tg.wait_for_reply(42)   # first bot message to chat 42 since
            assert "Welcome" in reply.plain_text  # the last update injected there

A bot under test that builds its own ``Application`` only needs ``server.token``,
``server.base_url`` and ``server.base_file_url``.  A bot run as a subprocess gets the
same values on its command line or environment; a synchronous test then uses
``server.wait_for_sync(...)``.

Main API (see the docstrings for details):

* Life cycle: ``FakeTelegramServer(token=..., bot_username=..., bot_first_name=...)``,
  ``start()``/``stop()`` or ``with``; ``.token``, ``.bot_id``, ``.bot_user``,
  ``.base_url``, ``.base_file_url``.
* Injection (each returns the ``update_id``): ``inject_message``, ``inject_contact``,
  ``inject_callback``, ``inject_photo``, ``inject_sticker``, ``inject_voice``,
  ``inject_location``, ``inject_document``, ``inject_update`` (any raw payload);
  ``add_user`` / ``add_chat`` set names, usernames and group titles.
* Inspection: ``requests(method, chat_id=, since=)``, ``sent_messages(chat_id, since=)``,
  ``message(chat_id, message_id)``, ``pending_updates()``, ``stats`` (a ``Counter`` of
  requests per method plus answered error statuses such as ``stats["429"]``),
  ``errors`` (bugs inside the fake), ``mark()`` (a position for ``since=``), ``clear()``.
* Waiting (async; ``wait_for_sync`` blocks): ``wait_for(predicate_or_count)``,
  ``wait_for_messages(chat_id, count)``, ``wait_for_reply(chat_id)``,
  ``wait_for_requests(method, count)``, ``wait_until_consumed(update_id)``,
  ``expect_no_messages(chat_id, duration)``.  A timeout raises ``WaitTimeout`` (an
  ``AssertionError``) listing the last requests the server saw.
* Faults: ``fail_next(method, status, retry_after=, chat_id=, count=, skip=)``,
  ``block_chat(chat_id)`` / ``unblock_chat``, ``slow(method, seconds)``,
  ``answer_late(method, seconds)`` (delivered, answered late),
  ``enforce_limits(global_per_sec=30, per_chat_per_sec=1, per_group_per_min=None)``,
  ``reset_faults()``.
* Extension: ``add_method(name, handler)`` serves a method the fake does not know.
* PTB helpers: ``application_builder(server)``, ``make_bot(server)`` (a plain ``Bot``),
  ``polling(app, timeout=1)``; text helpers ``parse_html``, ``auto_entities``,
  ``utf16_len``.

Imports use ``tests.fakeapi``, so run pytest from the repository root as
``python -m pytest`` (what ``.ci/run`` does).

Telegram behaviour the fake reproduces on purpose: ``editMessageText`` without
``reply_markup`` removes the inline keyboard; an edit that changes nothing is a 400
"message is not modified"; each callback query can be answered once; updates of type
``chat_member``/``message_reaction*`` are only delivered when the bot asks for them in
``allowed_updates``; ``getUpdates`` while a webhook is set, or superseded by a newer
``getUpdates``, is a 409.  Not reproduced: MarkdownV2 validation (use HTML), group
privacy mode, automatic ``url``/``hashtag`` entities.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import logging
import math
import mimetypes
import os
import re
import socket
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple, TypeVar, overload
from urllib.parse import parse_qsl, unquote, urlsplit

from telegram import Bot
from telegram.ext import Application, ApplicationBuilder


def _bypass_proxies_for_localhost() -> None:
    """Make httpx (and other clients honouring proxy variables) connect to us directly."""
    for variable in ("NO_PROXY", "no_proxy"):
        hosts = [h for h in os.environ.get(variable, "").split(",") if h.strip()]
        hosts += [h for h in ("127.0.0.1", "localhost") if h not in hosts]
        os.environ[variable] = ",".join(hosts)


_bypass_proxies_for_localhost()

_LOGGER = logging.getLogger(__name__)

DEFAULT_TOKEN = "123456789:AAFakeTokenForEndToEndTests_0123456789"
DEFAULT_TIMEOUT = 5.0
"""Default seconds for the ``wait_*`` helpers."""

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64

_POLL_INTERVAL = 0.005
_FIRST_UPDATE_ID = 10001
_METHOD_PATH_RE = re.compile(r"^/bot([^/]+)/([A-Za-z]+)/?$")
_FILE_PATH_RE = re.compile(r"^/file/bot([^/]+)/(.+)$")
_COMMAND_RE = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@])")
_MENTION_RE = re.compile(r"(?<![\w@/])@[A-Za-z][A-Za-z0-9_]{3,31}(?![A-Za-z0-9_])")
_BOT_COMMAND_NAME_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_HTML_ENTITY_RE = re.compile(r"&(?:#(\d+)|#[xX]([0-9a-fA-F]+)|([A-Za-z]+));?")

# Parameters that are plain strings even when they look like JSON ("123", "true").
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "url",
        "action",
        "language_code",
        "secret_token",
        "emoji",
        "title",
        "description",
        "short_description",
        "name",
        "query",
        "phone_number",
        "first_name",
        "last_name",
        "file_id",
        "photo",
        "document",
        "sticker",
        "voice",
        "audio",
        "video",
        "animation",
    }
)
_ID_PARAMS = ("chat_id", "message_id", "user_id")

# Update types Telegram only sends when listed explicitly in allowed_updates.
_OPT_IN_UPDATE_TYPES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

_INLINE_BUTTON_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)

_QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply "
    "markup are exactly the same as a current content and reply markup of the message"
)
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
}

T = TypeVar("T")


# --------------------------------------------------------------------------- records


class ApiError(Exception):
    """A Bot API error answer; raise it from an :meth:`FakeTelegramServer.add_method` handler."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


class WaitTimeout(AssertionError):
    """A ``wait_*`` helper gave up; the message shows what the server saw meanwhile."""


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a multipart request."""

    filename: str
    content: bytes
    content_type: str


@dataclass(frozen=True)
class TelegramFile:
    """A file known to the server: uploaded by the bot or injected as sent by a user."""

    file_id: str
    file_unique_id: str
    filename: str
    content: bytes
    mime_type: str

    @property
    def file_path(self) -> str:
        """Path under ``base_file_url`` from which ``getFile`` lets the bot download it."""
        return f"files/{self.file_id}"

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass
class Request:
    """One HTTP call received, recorded when it arrives; status/response set when answered."""

    seq: int
    method: str
    params: dict[str, Any]
    files: dict[str, UploadedFile]
    at: float
    """``time.monotonic()`` when the request arrived."""
    token_ok: bool
    status: int | None = None
    response: dict[str, Any] | None = None
    client_gone: Callable[[], bool] = field(default=lambda: False, repr=False, compare=False)
    """True once the client closed the connection (e.g. PTB cancelled a long poll)."""

    @property
    def chat_id(self) -> Any:
        return self.params.get("chat_id")

    @property
    def ok(self) -> bool:
        return self.status == 200

    def summary(self) -> str:
        text = self.params.get("text", self.params.get("caption"))
        shown = f" {text[:60]!r}" if isinstance(text, str) else ""
        return f"#{self.seq} {self.method} chat={self.chat_id} -> {self.status}{shown}"


@dataclass
class SentMessage:
    """A message the bot sent successfully (sendMessage, sendDocument, sendPhoto)."""

    seq: int
    method: str
    chat_id: int
    message_id: int
    text: str | None
    """Text or caption exactly as the bot sent it (markup intact); current after edits."""
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    """The markup as sent, including reply keyboards; current after edits."""
    file: TelegramFile | None
    message: dict[str, Any]
    """The Message object as Telegram holds it now (plain text, entities, edit_date...)."""
    at: float
    history: list[str | None] = field(default_factory=list)
    """Earlier versions of :attr:`text`, oldest first."""
    deleted: bool = False

    @property
    def plain_text(self) -> str | None:
        """What the user sees: tags stripped, entities like ``&lt;`` decoded."""
        return self.message.get("text", self.message.get("caption"))

    @property
    def entities(self) -> list[dict[str, Any]]:
        return self.message.get("entities", self.message.get("caption_entities", []))

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """All buttons of the inline or reply keyboard, row by row."""
        markup = self.reply_markup or {}
        rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
        return [button if isinstance(button, dict) else {"text": button} for row in rows for button in row]

    @property
    def button_texts(self) -> list[str]:
        return [button["text"] for button in self.buttons]

    def callback_data(self, label: str) -> str:
        """Callback data of the inline button whose text equals (or else contains) ``label``."""
        candidates = [b for b in self.buttons if "callback_data" in b]
        for match in (lambda b: b["text"] == label, lambda b: label in b["text"]):
            found = [b["callback_data"] for b in candidates if match(b)]
            if found:
                return found[0]
        raise KeyError(f"no callback button {label!r} in {self.button_texts}")


@dataclass
class Fault:
    """A queued error answer; see :meth:`FakeTelegramServer.fail_next`."""

    method: str
    status: int
    description: str
    retry_after: int | None
    chat_id: int | str | None
    remaining: int
    skip: int

    def matches(self, request: Request) -> bool:
        return request.method == self.method and (self.chat_id is None or request.chat_id == self.chat_id)


@dataclass
class _RateLimits:
    """Sliding-window flood limits, answered with 429 like Telegram."""

    global_per_sec: int | None
    per_chat_per_sec: int | None
    per_group_per_min: int | None
    overall: deque[float] = field(default_factory=deque)
    per_chat: dict[Any, deque[float]] = field(default_factory=dict)
    per_group: dict[Any, deque[float]] = field(default_factory=dict)

    def admit(self, chat_id: Any, now: float) -> int | None:
        """Record a send and return ``None``, or return ``retry_after`` if over a limit."""
        windows = [(self.overall, self.global_per_sec, 1.0)]
        windows.append((self.per_chat.setdefault(chat_id, deque()), self.per_chat_per_sec, 1.0))
        if isinstance(chat_id, int) and chat_id < 0:
            group = self.per_group.setdefault(chat_id, deque())
            windows.append((group, self.per_group_per_min, 60.0))
        waits = []
        for window, limit, span in windows:
            while window and window[0] <= now - span:
                window.popleft()
            if limit is not None and len(window) >= limit:
                waits.append(max(1, math.ceil(window[0] + span - now)))
        if waits:
            return max(waits)
        for window, _, _ in windows:
            window.append(now)
        return None


class _HttpReply(NamedTuple):
    status: int
    content_type: str
    body: bytes


# --------------------------------------------------------------------------- helpers


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's limits and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _html_entity(text: str, pos: int) -> tuple[str, int] | None:
    """Decode a character reference at ``text[pos] == "&"`` as Telegram does.

    Only ``&lt; &gt; &amp; &quot;`` and numeric references are decoded (the ``;`` is
    optional); anything else leaves the ``&`` as a literal character.
    """
    match = _HTML_ENTITY_RE.match(text, pos)
    if not match:
        return None
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        char = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}.get(name)
        return (char, match.end()) if char else None
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if not 0 < code <= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), match.end()


_SIMPLE_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
}
_HTML_TAGS = frozenset({*_SIMPLE_ENTITY_TYPES, "a", "blockquote", "tg-emoji"})


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram HTML into (plain text, entities) or raise a 400 :class:`ApiError`.

    Follows the rules of Telegram's parser (tdlib ``parse_html``): only the tags of the
    Bot API formatting options are allowed, every tag must be closed in order, a bare
    ``<`` is an error, and error messages quote UTF-8 byte offsets.
    """

    def fail(detail: str) -> ApiError:
        return ApiError(400, f"Bad Request: can't parse entities: {detail}")

    def byte_offset(pos: int) -> int:
        return len(text[:pos].encode("utf-8"))

    n = len(text)
    out: list[str] = []
    position = 0  # UTF-16 offset in the plain text
    open_tags: list[tuple[str, dict[str, str], int]] = []
    entities: list[dict[str, Any]] = []
    i = 0
    while i < n:
        if text[i] == "&" and (decoded := _html_entity(text, i)):
            char, i = decoded
            out.append(char)
            position += utf16_len(char)
            continue
        if text[i] != "<":
            out.append(text[i])
            position += utf16_len(text[i])
            i += 1
            continue
        begin = i
        i += 1
        if i < n and text[i] == "/":
            if not open_tags:
                raise fail(f"Unexpected end tag at byte offset {byte_offset(begin)}")
            i += 1
            name_start = i
            while i < n and not text[i].isspace() and text[i] != ">":
                i += 1
            end_name = text[name_start:i].lower()
            while i < n and text[i].isspace():
                i += 1
            if i >= n or text[i] != ">":
                raise fail(f"Unclosed end tag at byte offset {byte_offset(begin)}")
            i += 1
            tag, attributes, start = open_tags.pop()
            if end_name and end_name != tag:
                raise fail(
                    f'Unmatched end tag at byte offset {byte_offset(begin)}, expected "</{tag}>", found "</{end_name}>"'
                )
            if position > start:
                entities.append(_html_entity_for(tag, attributes, start, position - start))
            continue
        name_start = i
        while i < n and not text[i].isspace() and text[i] != ">":
            i += 1
        if i >= n:
            raise fail(f"Unclosed start tag at byte offset {byte_offset(begin)}")
        tag = text[name_start:i].lower()
        if tag not in _HTML_TAGS:
            raise fail(f'Unsupported start tag "{tag}" at byte offset {byte_offset(begin)}')
        attributes, i = _parse_attributes(text, i, tag, byte_offset(begin), fail)
        if tag == "span" and attributes.get("class") != "tg-spoiler":
            raise fail(f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(begin)}')
        open_tags.append((tag, attributes, position))
    if open_tags:
        raise fail(f'Can\'t find end tag corresponding to start tag "{open_tags[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _parse_attributes(
    text: str, i: int, tag: str, begin_offset: int, fail: Callable[[str], ApiError]
) -> tuple[dict[str, str], int]:
    """Parse ``name=value`` pairs up to the closing ``>``; return them and the index after it."""
    n = len(text)
    attributes: dict[str, str] = {}
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            raise fail(f"Unclosed start tag at byte offset {begin_offset}")
        if text[i] == ">":
            return attributes, i + 1
        name_start = i
        while i < n and not text[i].isspace() and text[i] not in "=>":
            i += 1
        name = text[name_start:i].lower()
        if not name:
            raise fail(f'Empty attribute name in the tag "{tag}" at byte offset {begin_offset}')
        while i < n and text[i].isspace():
            i += 1
        if i >= n or text[i] != "=":
            raise fail(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}" at byte offset {begin_offset}'
            )
        i += 1
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            raise fail(f'Unclosed start tag "{tag}" at byte offset {begin_offset}')
        if text[i] in "'\"":
            quote = text[i]
            i += 1
            value: list[str] = []
            while i < n and text[i] != quote:
                if text[i] == "&" and (decoded := _html_entity(text, i)):
                    char, i = decoded
                    value.append(char)
                else:
                    value.append(text[i])
                    i += 1
            i += 1  # past the closing quote (or the end, reported above on the next pass)
            attributes[name] = "".join(value)
        else:
            value_start = i
            while i < n and (text[i].isalnum() or text[i] in ".-"):
                i += 1
            if i < n and not text[i].isspace() and text[i] != ">":
                raise fail(f"Unexpected end of name token at byte offset {begin_offset}")
            attributes[name] = text[value_start:i].lower()


def _html_entity_for(tag: str, attributes: dict[str, str], offset: int, length: int) -> dict[str, Any]:
    entity: dict[str, Any] = {"offset": offset, "length": length}
    if tag == "a":
        entity["type"] = "text_link"
        entity["url"] = attributes.get("href", "")
    elif tag == "blockquote":
        entity["type"] = "expandable_blockquote" if "expandable" in attributes else "blockquote"
    elif tag == "tg-emoji":
        entity["type"] = "custom_emoji"
        entity["custom_emoji_id"] = attributes.get("emoji-id", "")
    else:
        entity["type"] = _SIMPLE_ENTITY_TYPES[tag]
    return entity


def auto_entities(text: str) -> list[dict[str, Any]]:
    """Entities Telegram's clients attach to typed text: ``/commands`` and ``@mentions``."""
    found = [(m, "bot_command") for m in _COMMAND_RE.finditer(text)]
    found += [(m, "mention") for m in _MENTION_RE.finditer(text)]
    entities = [
        {
            "type": kind,
            "offset": utf16_len(text[: m.start()]),
            "length": utf16_len(m.group()),
        }
        for m, kind in found
    ]
    return sorted(entities, key=lambda e: e["offset"])


def _split_header(value: str) -> tuple[str, dict[str, str]]:
    """Split ``type/subtype; key="value"`` into the lower-cased main value and parameters."""
    main = value.split(";", 1)[0].strip().lower()
    options: dict[str, str] = {}
    for match in re.finditer(r';\s*([\w*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))', value):
        key, quoted, bare = match.groups()
        if quoted is not None:
            # httpx escapes '"' as %22 and '\' as '\\' in multipart parameters.
            bare = re.sub(r"\\(.)", r"\1", quoted).replace("%22", '"')
        options[key.lower()] = bare
    if "filename*" in options:  # RFC 5987: utf-8''percent-encoded
        options["filename"] = unquote(options["filename*"].split("''", 1)[-1])
    return main, options


def _parse_multipart(body: bytes, boundary: str) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    for part in body.split(b"--" + boundary.encode("latin-1"))[1:]:
        if part.startswith(b"--"):
            break
        head, separator, content = part.partition(b"\r\n\r\n")
        if not separator:
            raise ValueError("multipart part without headers")
        content = content.removesuffix(b"\r\n")
        headers = {}
        for line in head.decode("utf-8").split("\r\n"):
            key, colon, value = line.partition(":")
            if colon:
                headers[key.strip().lower()] = value.strip()
        _, disposition = _split_header(headers.get("content-disposition", ""))
        name = disposition.get("name")
        if name is None:
            continue
        if "filename" in disposition:
            content_type = headers.get("content-type", "application/octet-stream")
            files[name] = UploadedFile(disposition["filename"], content, content_type)
        else:
            fields[name] = content.decode("utf-8")
    return fields, files


def _decode_form_value(key: str, value: str) -> Any:
    """Undo PTB's encoding: non-string values are JSON inside the form."""
    if key in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _parse_params(content_type: str, body: bytes, query: str) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Parameters and uploaded files of a request (query string, form, multipart or JSON)."""
    raw = dict(parse_qsl(query, keep_blank_values=True))
    files: dict[str, UploadedFile] = {}
    mime, options = _split_header(content_type)
    params: dict[str, Any]
    if mime == "application/json" and body:
        decoded = json.loads(body)
        if not isinstance(decoded, dict):
            raise ValueError("JSON body is not an object")
        params = {key: _decode_form_value(key, value) for key, value in raw.items()}
        params.update(decoded)
    else:
        if mime == "application/x-www-form-urlencoded":
            raw.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        elif mime == "multipart/form-data":
            fields, files = _parse_multipart(body, options["boundary"])
            raw.update(fields)
        params = {key: _decode_form_value(key, value) for key, value in raw.items()}
    for key in _ID_PARAMS:
        value = params.get(key)
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
            params[key] = int(value)
    return params, files


def _json_reply(status: int, body: dict[str, Any]) -> _HttpReply:
    payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
    return _HttpReply(status, "application/json", payload)


# --------------------------------------------------------------------------- HTTP layer


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # a flood of parallel connections must not hit SYN retries

    def __init__(self, fake: FakeTelegramServer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):  # client went away (cancelled long poll)
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        with self.connections_lock:
            for connection in self.connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # otherwise each keep-alive answer waits ~40 ms for an ACK
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def do_GET(self) -> None:
        self._respond()

    def do_POST(self) -> None:
        self._respond()

    def _respond(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            reply = _json_reply(411, ApiError(411, "Length Required").to_json())
            self.close_connection = True
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            url = urlsplit(self.path)
            content_type = self.headers.get("Content-Type", "")
            reply = self.server.fake.handle_http(url.path, url.query, content_type, body, self._client_gone)
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def _client_gone(self) -> bool:
        # While a request is answered a well-behaved HTTP/1.1 client sends nothing, so
        # a readable socket with no data means it was closed.
        try:
            return self.connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True

    def log_message(self, format: str, *args: Any) -> None:
        _LOGGER.debug("%s " + format, self.address_string(), *args)


# --------------------------------------------------------------------------- the server

MethodHandler = Callable[[Request], Any]
"""Implements one Bot API method: returns the ``result`` or raises :class:`ApiError`."""


class FakeTelegramServer:
    """A fake Bot API server; see the module docstring for an overview."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "cppcc_test_bot",
        bot_first_name: str = "CPPCC Test Bot",
    ) -> None:
        self.token = token
        bot_id = token.split(":", 1)[0]
        self.bot_id = int(bot_id) if bot_id.isdigit() else 123456789
        self.bot_user: dict[str, Any] = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.stats: Counter[str] = Counter()
        """Requests per method, plus answered error statuses as strings ("429", "403"...)."""
        self.errors: list[str] = []
        """Bugs inside the fake (each answered with a 500); should stay empty."""

        self._cond = threading.Condition(threading.RLock())
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._seq = itertools.count(1)
        self._last_seq = 0

        self._requests: list[Request] = []
        self._sent: list[SentMessage] = []
        self._sent_by_key: dict[tuple[Any, int], SentMessage] = {}
        self._messages: dict[tuple[Any, int], dict[str, Any]] = {}
        self._next_message_id: dict[Any, int] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._chats: dict[Any, dict[str, Any]] = {}
        self._files: dict[str, TelegramFile] = {}
        self._file_ids = itertools.count(1)
        self._last_user_message: dict[tuple[Any, int], int] = {}
        self._last_injection_seq: dict[Any, int] = {}

        self._update_ids = itertools.count(_FIRST_UPDATE_ID)
        self._last_update_id = 0
        self._injected: list[dict[str, Any]] = []
        self._pending: list[dict[str, Any]] = []
        self._confirmed_below = 0
        self._allowed_updates: list[str] = []
        self._poll_generation = 0
        self._webhook_url = ""
        self._callback_ids = itertools.count(1)
        self._open_callbacks: set[str] = set()
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._menu_buttons: dict[Any, dict[str, Any]] = {}

        self._faults: list[Fault] = []
        self._blocked: dict[Any, str] = {}
        self._delays: dict[str, float] = {}
        self._lags: dict[str, tuple[float, frozenset | None]] = {}  # method → (seconds, only these chats)
        self._limits: _RateLimits | None = None

        self._methods: dict[str, MethodHandler] = {
            "getMe": lambda _: self.bot_user,
            "logOut": lambda _: True,
            "close": lambda _: True,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "getUpdates": self._get_updates,
            "sendMessage": self._send_message,
            "sendDocument": lambda r: self._send_media(r, "document"),
            "sendPhoto": lambda r: self._send_media(r, "photo"),
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": lambda r: self._commands.get(self._commands_key(r), []),
            "deleteMyCommands": self._delete_my_commands,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": lambda r: self._menu_buttons.get(r.params.get("chat_id"), {"type": "default"}),
            "getChat": self._get_chat,
            "getFile": self._get_file,
        }
        self._canonical = {name.lower(): name for name in self._methods}

    # ----------------------------------------------------------------- life cycle

    def start(self) -> FakeTelegramServer:
        if self._httpd is not None:
            raise RuntimeError("server already started")
        self._httpd = _HTTPServer(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"FakeTelegramServer:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake long polls and close kept-alive connections. Idempotent."""
        if self._httpd is None or self._stopping.is_set():
            return
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeTelegramServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)``: requests go to ``<base_url><token>/<method>``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``ApplicationBuilder().base_file_url(...)`` so ``File.download_*`` works."""
        return f"{self.url}/file/bot"

    def __repr__(self) -> str:
        where = self.url if self._httpd else "not started"
        return f"<FakeTelegramServer {where} requests={len(self._requests)}>"

    # ----------------------------------------------------------------- inspection

    def mark(self) -> int:
        """A position in the server's history, for the ``since=`` arguments."""
        with self._cond:
            return self._last_seq

    def requests(self, method: str | None = None, *, chat_id: Any = None, since: int | None = None) -> list[Request]:
        """Recorded requests (pending ones have ``status is None``), oldest first."""
        with self._cond:
            return [
                r
                for r in self._requests
                if (method is None or r.method == method)
                and (chat_id is None or r.chat_id == chat_id)
                and (since is None or r.seq > since)
            ]

    def sent_messages(self, chat_id: Any = None, *, since: int | None = None) -> list[SentMessage]:
        """Messages the bot sent successfully, oldest first."""
        with self._cond:
            return [
                m for m in self._sent if (chat_id is None or m.chat_id == chat_id) and (since is None or m.seq > since)
            ]

    def message(self, chat_id: Any, message_id: int) -> dict[str, Any]:
        """Current state of any message in a chat (user's or bot's); KeyError if unknown."""
        with self._cond:
            return copy.deepcopy(self._messages[(chat_id, message_id)])

    def pending_updates(self) -> list[dict[str, Any]]:
        """Injected updates the bot has not confirmed yet (via ``getUpdates`` offset)."""
        with self._cond:
            return copy.deepcopy(self._pending)

    def injected_updates(self) -> list[dict[str, Any]]:
        """Every update injected so far, confirmed or not."""
        with self._cond:
            return copy.deepcopy(self._injected)

    def clear(self) -> None:
        """Forget recorded requests, sent messages, stats and errors.

        Chats, messages (so callbacks on older messages still work), pending updates and
        faults stay; use :meth:`reset_faults` for the latter.
        """
        with self._cond:
            self._requests.clear()
            self._sent.clear()
            self.stats.clear()
            self.errors.clear()

    # ----------------------------------------------------------------- waiting

    @overload
    async def wait_for(self, condition: int, timeout: float = ...) -> list[SentMessage]: ...
    @overload
    async def wait_for(self, condition: Callable[[], T], timeout: float = ...) -> T: ...

    async def wait_for(self, condition: int | Callable[[], Any], timeout: float = DEFAULT_TIMEOUT) -> Any:
        """Wait without blocking the event loop.

        ``condition`` is either a count (wait until the bot has sent that many messages in
        total; returns them) or a zero-argument callable (wait until it returns something
        truthy; returns that).
        """
        check, what = self._condition(condition)
        return await self._wait(check, what, timeout)

    @overload
    def wait_for_sync(self, condition: int, timeout: float = ...) -> list[SentMessage]: ...
    @overload
    def wait_for_sync(self, condition: Callable[[], T], timeout: float = ...) -> T: ...

    def wait_for_sync(self, condition: int | Callable[[], Any], timeout: float = DEFAULT_TIMEOUT) -> Any:
        """Blocking :meth:`wait_for`, for synchronous tests (e.g. a subprocess bot)."""
        check, what = self._condition(condition)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                done, value = check()
                if done:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WaitTimeout(self._timeout_report(what, timeout))
                self._cond.wait(min(remaining, 0.05))

    async def wait_for_messages(
        self,
        chat_id: Any = None,
        count: int = 1,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        since: int | None = None,
    ) -> list[SentMessage]:
        """Wait until the bot has sent ``count`` messages (to ``chat_id``, after ``since``)."""

        def check() -> tuple[bool, list[SentMessage]]:
            messages = self.sent_messages(chat_id, since=since)
            return len(messages) >= count, messages

        where = "" if chat_id is None else f" to chat {chat_id}"
        return await self._wait(check, f"{count} message(s){where}", timeout)

    async def wait_for_reply(self, chat_id: Any, timeout: float = DEFAULT_TIMEOUT) -> SentMessage:
        """Wait for the first message the bot sends to ``chat_id`` after the latest update
        injected in that chat (or ever, if none was), and return it."""
        with self._cond:
            since = self._last_injection_seq.get(chat_id, 0)
        messages = await self.wait_for_messages(chat_id, 1, timeout, since=since)
        return messages[0]

    async def wait_for_requests(
        self,
        method: str,
        count: int = 1,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        chat_id: Any = None,
        since: int | None = None,
    ) -> list[Request]:
        """Wait until ``count`` calls of ``method`` have been answered; return them all."""

        def check() -> tuple[bool, list[Request]]:
            found = [r for r in self.requests(method, chat_id=chat_id, since=since) if r.status is not None]
            return len(found) >= count, found

        return await self._wait(check, f"{count} answered {method} call(s)", timeout)

    async def wait_until_consumed(self, update_id: int | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait until the bot confirmed ``update_id`` (default: the last injected one).

        PTB confirms an update on its next ``getUpdates`` after queueing it, so this means
        "fetched", not "handled".  To assert that an update produced no reply, prefer
        :meth:`expect_no_messages`.
        """
        with self._cond:
            target = self._last_update_id if update_id is None else update_id

        def check() -> tuple[bool, None]:
            with self._cond:
                return self._confirmed_below > target, None

        await self._wait(check, f"update {target} to be confirmed", timeout)

    async def expect_no_messages(self, chat_id: Any = None, duration: float = 0.3, *, since: int | None = None) -> None:
        """Assert that the bot sends nothing (to ``chat_id``) for ``duration`` seconds.

        ``since`` defaults to now; pass ``server.mark()`` taken before injecting.
        """
        start = self.mark() if since is None else since
        await asyncio.sleep(duration)
        unexpected = self.sent_messages(chat_id, since=start)
        if unexpected:
            shown = [(m.chat_id, m.text) for m in unexpected]
            raise AssertionError(f"bot sent unexpected message(s): {shown}")

    def _condition(self, condition: int | Callable[[], Any]) -> tuple[Callable[[], tuple[bool, Any]], str]:
        if isinstance(condition, int):

            def count_check() -> tuple[bool, list[SentMessage]]:
                messages = self.sent_messages()
                return len(messages) >= condition, messages

            return count_check, f"{condition} sent message(s)"

        def predicate_check() -> tuple[bool, Any]:
            value = condition()
            return bool(value), value

        return predicate_check, getattr(condition, "__name__", repr(condition))

    async def _wait(self, check: Callable[[], tuple[bool, T]], what: str, timeout: float) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            done, value = check()
            if done:
                return value
            if loop.time() >= deadline:
                raise WaitTimeout(self._timeout_report(what, timeout))
            await asyncio.sleep(_POLL_INTERVAL)

    def _timeout_report(self, what: str, timeout: float) -> str:
        with self._cond:
            recent = [r.summary() for r in self._requests[-15:]]
            lines = [
                f"timed out after {timeout}s waiting for {what}",
                f"pending updates: {[u['update_id'] for u in self._pending]}",
                "last requests:",
                *(f"  {line}" for line in recent or ["  (none)"]),
            ]
            if self.errors:
                lines.append(f"errors inside the fake: {self.errors}")
        return "\n".join(lines)

    # ----------------------------------------------------------------- faults

    def fail_next(
        self,
        method: str,
        status: int = 500,
        *,
        description: str | None = None,
        retry_after: int | None = None,
        chat_id: Any = None,
        count: int = 1,
        skip: int = 0,
    ) -> Fault:
        """Answer the next ``count`` calls of ``method`` (to ``chat_id`` if given) with an error.

        The first ``skip`` matching calls pass normally.  ``status=429`` implies
        ``retry_after=1`` unless given; the description defaults to Telegram's wording.
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            description = (
                f"Too Many Requests: retry after {retry_after}"
                if status == 429
                else _DEFAULT_DESCRIPTIONS.get(status, f"Error {status}")
            )
        fault = Fault(method, status, description, retry_after, chat_id, count, skip)
        with self._cond:
            self._faults.append(fault)
        return fault

    def block_chat(self, chat_id: Any, description: str = "Forbidden: bot was blocked by the user") -> None:
        """Answer every call about ``chat_id`` with 403 until :meth:`unblock_chat`."""
        with self._cond:
            self._blocked[chat_id] = description

    def unblock_chat(self, chat_id: Any) -> None:
        with self._cond:
            self._blocked.pop(chat_id, None)

    def slow(self, method: str, seconds: float) -> None:
        """Delay every answer to ``method`` by ``seconds`` (0 removes the delay)."""
        with self._cond:
            if seconds > 0:
                self._delays[method] = seconds
            else:
                self._delays.pop(method, None)

    def answer_late(self, method: str, seconds: float, *, chat_ids: Iterable[Any] | None = None) -> None:
        """Do every ``method`` call (to ``chat_ids`` if given) at once but hold its answer for
        ``seconds`` (0 removes it).

        The message is delivered (recorded, visible to the user) even when the bot gives up
        waiting: what a read timeout against a slow Bot API looks like.
        """
        with self._cond:
            if seconds > 0:
                self._lags[method] = (seconds, frozenset(chat_ids) if chat_ids is not None else None)
            else:
                self._lags.pop(method, None)

    def enforce_limits(
        self,
        global_per_sec: int | None = 30,
        per_chat_per_sec: int | None = 1,
        per_group_per_min: int | None = None,
    ) -> None:
        """Answer 429 with ``retry_after`` when sends exceed Telegram's flood limits.

        Counts sendX/editX/copy/forward calls accepted in sliding windows (one second;
        one minute for negative chat ids with ``per_group_per_min``).  ``None`` disables
        a limit.  Rejections are counted in ``stats["429"]``.
        """
        with self._cond:
            self._limits = _RateLimits(global_per_sec, per_chat_per_sec, per_group_per_min)

    def reset_faults(self) -> None:
        """Drop queued faults, blocked chats, delays and flood limits."""
        with self._cond:
            self._faults.clear()
            self._blocked.clear()
            self._delays.clear()
            self._lags.clear()
            self._limits = None

    def add_method(self, name: str, handler: MethodHandler) -> None:
        """Serve (or override) a Bot API method; ``handler(request)`` returns the result."""
        with self._cond:
            self._methods[name] = handler
            self._canonical[name.lower()] = name

    # ----------------------------------------------------------------- injection

    def add_user(
        self,
        user_id: int,
        first_name: str | None = None,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> dict[str, Any]:
        """Create or update a user; later injections as ``user_id`` reuse these details."""
        with self._cond:
            user = self._users.setdefault(user_id, {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"})
            details = {
                "first_name": first_name,
                "last_name": last_name,
                "username": username,
                "language_code": language_code,
            }
            user.update({key: value for key, value in details.items() if value is not None})
            chat = self._chats.get(user_id)
            if chat is not None:
                chat.update(self._private_chat(user))
            return dict(user)

    def add_chat(
        self,
        chat_id: int,
        chat_type: str = "supergroup",
        *,
        title: str | None = None,
        username: str | None = None,
    ) -> dict[str, Any]:
        """Create or update a group, supergroup or channel chat."""
        with self._cond:
            chat = self._chats.setdefault(chat_id, {"id": chat_id})
            chat["type"] = chat_type
            chat["title"] = title or chat.get("title") or f"Test {chat_type} {chat_id}"
            if username is not None:
                chat["username"] = username
            return dict(chat)

    def inject_update(self, payload: dict[str, Any]) -> int:
        """Queue any update payload (e.g. ``{"my_chat_member": {...}}``); returns its id."""
        with self._cond:
            update_id = next(self._update_ids)
            update = {"update_id": update_id, **copy.deepcopy(payload)}
            self._injected.append(update)
            self._pending.append(update)
            self._last_update_id = update_id
            seq = self._next_seq()
            for body in payload.values():
                if isinstance(body, dict):
                    chat = (body.get("message") or body).get("chat")
                    if isinstance(chat, dict):
                        self._last_injection_seq[chat["id"]] = seq
            self._cond.notify_all()
            return update_id

    def inject_message(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        chat_type: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        entities: list[dict[str, Any]] | None = None,
        reply_to_message: SentMessage | dict[str, Any] | int | None = None,
        edited: bool = False,
        message_id: int | None = None,
        no_from: bool = False,
    ) -> int:
        """A text message from ``user_id``; returns the update id.

        ``chat_id`` defaults to the private chat (the user's id); for another id
        ``chat_type`` defaults to the type given to :meth:`add_chat`, else "supergroup"
        (all ``inject_*`` methods work like this).  ``entities`` default to Telegram's:
        ``bot_command`` for ``/cmd[@bot]`` and ``mention`` for ``@username``.  ``reply_to_message`` is a bot message
        (:class:`SentMessage`), a message id in that chat or a message dict.  ``edited``
        sends an ``edited_message`` for ``message_id`` (default: the user's last message in
        that chat).  ``no_from`` (or ``chat_type="channel"``) makes a ``channel_post``
        without ``from``.
        """
        content = {"text": text, "entities": auto_entities(text) if entities is None else entities}
        if not content["entities"]:
            del content["entities"]
        self.add_user(user_id, first_name, last_name=last_name, username=username)
        return self._inject_message(
            user_id,
            content,
            chat_id=chat_id,
            chat_type="channel" if no_from else chat_type,
            reply_to_message=reply_to_message,
            edited=edited,
            message_id=message_id,
        )

    def inject_contact(
        self,
        user_id: int,
        phone_number: str,
        contact_user_id: int | None = None,
        first_name: str | None = None,
        *,
        own: bool = True,
        chat_id: int | None = None,
    ) -> int:
        """A shared contact.  By default it is the sender's own (``request_contact``
        button): ``contact.user_id`` is the sender.  Pass ``contact_user_id`` for someone
        else's contact, or ``own=False`` for a phone-book contact without ``user_id``."""
        sender = self.add_user(user_id)
        contact: dict[str, Any] = {
            "phone_number": phone_number,
            "first_name": first_name or sender["first_name"],
        }
        if contact_user_id is not None:
            contact["user_id"] = contact_user_id
        elif own:
            contact["user_id"] = user_id
        return self._inject_message(user_id, {"contact": contact}, chat_id=chat_id)

    def inject_callback(
        self,
        user_id: int,
        data: str,
        message: SentMessage | int | None = None,
        *,
        chat_id: int | None = None,
        check_buttons: bool = True,
    ) -> int:
        """The user presses an inline button of a bot message; returns the update id.

        ``message`` is a :class:`SentMessage`, a message id in ``chat_id`` (default: the
        user's private chat) or ``None`` for the bot's latest message there with an inline
        keyboard.  With ``check_buttons`` the data must belong to one of its buttons, which
        catches typos in tests; the query id is recorded so ``answerCallbackQuery`` can be
        checked.
        """
        with self._cond:
            user = self.add_user(user_id)
            target = self._callback_target(user_id if chat_id is None else chat_id, message)
            if check_buttons:
                rows = target.get("reply_markup", {}).get("inline_keyboard", [])
                known = [b.get("callback_data") for row in rows for b in row]
                if data not in known:
                    raise ValueError(f"{data!r} is not a button of the message; buttons: {known}")
            query_id = str(next(self._callback_ids))
            self._open_callbacks.add(query_id)
            query = {
                "id": query_id,
                "from": user,
                "chat_instance": f"instance{target['chat']['id']}",
                "message": target,
                "data": data,
            }
            return self.inject_update({"callback_query": query})

    def inject_photo(
        self,
        user_id: int,
        caption: str | None = None,
        *,
        content: bytes = b"\xff\xd8\xff\xe0fake-jpeg",
        chat_id: int | None = None,
        chat_type: str | None = None,
    ) -> int:
        """A photo (two sizes) with an optional caption."""
        stored = self._store_file("photo.jpg", content, "image/jpeg")
        sizes = [
            {**self._file_ref(stored), "width": 90, "height": 68},
            {**self._file_ref(stored), "width": 800, "height": 600},
        ]
        return self._inject_message(
            user_id,
            {"photo": sizes, **self._caption(caption)},
            chat_id=chat_id,
            chat_type=chat_type,
        )

    def inject_document(
        self,
        user_id: int,
        file_name: str = "document.pdf",
        content: bytes = b"%PDF-1.4 fake",
        *,
        mime_type: str | None = None,
        caption: str | None = None,
        chat_id: int | None = None,
        chat_type: str | None = None,
    ) -> int:
        """A document; the bot can download ``content`` through getFile."""
        mime_type = mime_type or mimetypes.guess_type(file_name)[0] or "application/octet-stream"
        stored = self._store_file(file_name, content, mime_type)
        document = {**self._file_ref(stored), "file_name": file_name, "mime_type": mime_type}
        return self._inject_message(
            user_id,
            {"document": document, **self._caption(caption)},
            chat_id=chat_id,
            chat_type=chat_type,
        )

    def inject_sticker(self, user_id: int, emoji: str = "👍", *, chat_id: int | None = None) -> int:
        """A regular (static) sticker."""
        stored = self._store_file("sticker.webp", b"RIFF-fake-webp", "image/webp")
        sticker = {
            **self._file_ref(stored),
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return self._inject_message(user_id, {"sticker": sticker}, chat_id=chat_id)

    def inject_voice(
        self,
        user_id: int,
        duration: int = 3,
        *,
        content: bytes = b"OggS-fake",
        chat_id: int | None = None,
    ) -> int:
        """A voice note of ``duration`` seconds."""
        stored = self._store_file("voice.ogg", content, "audio/ogg")
        voice = {**self._file_ref(stored), "duration": duration, "mime_type": "audio/ogg"}
        return self._inject_message(user_id, {"voice": voice}, chat_id=chat_id)

    def inject_location(
        self,
        user_id: int,
        latitude: float = 27.73,
        longitude: float = 111.99,
        *,
        chat_id: int | None = None,
    ) -> int:
        """A location (default: somewhere in Hunan)."""
        location = {"latitude": latitude, "longitude": longitude}
        return self._inject_message(user_id, {"location": location}, chat_id=chat_id)

    def _inject_message(
        self,
        user_id: int,
        content: dict[str, Any],
        *,
        chat_id: int | None,
        chat_type: str | None = None,
        reply_to_message: SentMessage | dict[str, Any] | int | None = None,
        edited: bool = False,
        message_id: int | None = None,
    ) -> int:
        with self._cond:
            user = self.add_user(user_id)
            if chat_type is None:
                private = chat_id in (None, user_id)
                chat_type = "private" if private else self._chats.get(chat_id, {}).get("type", "supergroup")
            if chat_type == "private":
                chat = self._chats.setdefault(user_id, {})
                chat.update(self._private_chat(user))
                if chat_id not in (None, user_id):
                    raise ValueError("a private chat's id is the user's id")
            elif chat_id is None:
                raise ValueError(f"chat_id is required for a {chat_type} chat")
            else:
                chat = self._chats.get(chat_id) or self.add_chat(chat_id, chat_type)
            key = (chat["id"], user_id)
            if edited:
                message_id = message_id or self._last_user_message.get(key)
                if message_id is None:
                    raise ValueError("no earlier message to edit; pass message_id")
            else:
                message_id = self._new_message_id(chat["id"])
                self._last_user_message[key] = message_id
            message: dict[str, Any] = {"message_id": message_id, "date": int(time.time())}
            if chat["type"] == "channel":
                message["sender_chat"] = dict(chat)
            else:
                message["from"] = dict(user)
            message["chat"] = dict(chat)
            if edited:
                message["edit_date"] = int(time.time())
            if reply_to_message is not None:
                message["reply_to_message"] = self._reply_target(chat["id"], reply_to_message)
            message.update(content)
            self._messages[(chat["id"], message_id)] = message
            kind = "channel_post" if chat["type"] == "channel" else "message"
            return self.inject_update({("edited_" if edited else "") + kind: message})

    def _private_chat(self, user: dict[str, Any]) -> dict[str, Any]:
        chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        chat.update({k: user[k] for k in ("last_name", "username") if k in user})
        return chat

    def _reply_target(self, chat_id: Any, reference: SentMessage | dict[str, Any] | int) -> dict[str, Any]:
        if isinstance(reference, SentMessage):
            chat_id, reference = reference.chat_id, reference.message_id
        if isinstance(reference, int):
            try:
                reference = self._messages[(chat_id, reference)]
            except KeyError:
                raise ValueError(f"no message {reference} in chat {chat_id}") from None
        target = copy.deepcopy(reference)
        target.pop("reply_to_message", None)  # Telegram does not nest replies further
        return target

    def _callback_target(self, chat_id: Any, message: SentMessage | int | None) -> dict[str, Any]:
        if isinstance(message, SentMessage):
            chat_id, message = message.chat_id, message.message_id
        if message is None:
            candidates = [
                m
                for (chat, _), m in self._messages.items()
                if chat == chat_id and m.get("from", {}).get("id") == self.bot_id and "reply_markup" in m
            ]
            if not candidates:
                raise ValueError(f"the bot has no message with inline keyboard in chat {chat_id}")
            return copy.deepcopy(max(candidates, key=lambda m: m["message_id"]))
        try:
            return copy.deepcopy(self._messages[(chat_id, message)])
        except KeyError:
            raise ValueError(f"no message {message} in chat {chat_id}") from None

    def _caption(self, caption: str | None) -> dict[str, Any]:
        if caption is None:
            return {}
        entities = auto_entities(caption)
        return {"caption": caption, **({"caption_entities": entities} if entities else {})}

    def _store_file(self, filename: str, content: bytes, mime_type: str) -> TelegramFile:
        number = next(self._file_ids)
        stored = TelegramFile(f"file-{number}", f"unique-{number}", filename, content, mime_type)
        with self._cond:
            self._files[stored.file_id] = stored
        return stored

    def _file_ref(self, stored: TelegramFile) -> dict[str, Any]:
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
        }

    def _new_message_id(self, chat_id: Any) -> int:
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _next_seq(self) -> int:
        self._last_seq = next(self._seq)
        return self._last_seq

    # ----------------------------------------------------------------- dispatch

    def handle_http(
        self,
        path: str,
        query: str,
        content_type: str,
        body: bytes,
        client_gone: Callable[[], bool] = lambda: False,
    ) -> _HttpReply:
        """Answer one HTTP request (called from the server's handler threads)."""
        path = unquote(path)  # PTB percent-encodes the token's ':' in file URLs
        if match := _FILE_PATH_RE.match(path):
            return self._download(*match.groups())
        match = _METHOD_PATH_RE.match(path)
        if not match:
            return _json_reply(404, ApiError(404, "Not Found").to_json())
        token, raw_method = match.groups()
        try:
            params, files = _parse_params(content_type, body, query)
        except (ValueError, KeyError, UnicodeDecodeError) as exc:
            return _json_reply(400, ApiError(400, f"Bad Request: {exc}").to_json())
        with self._cond:
            method = self._canonical.get(raw_method.lower(), raw_method)
            request = Request(
                self._next_seq(),
                method,
                params,
                files,
                time.monotonic(),
                token_ok=token == self.token,
                client_gone=client_gone,
            )
            self._requests.append(request)
            self.stats[method] += 1
            handler = self._methods.get(method)
            delay = self._delays.get(method, 0.0)
            lag, lagged_chats = self._lags.get(method, (0.0, None))
            if lagged_chats is not None and request.chat_id not in lagged_chats:
                lag = 0.0
        status, response = self._answer(request, handler, delay)
        with self._cond:
            request.status = status
            request.response = response
            if status != 200:
                self.stats[str(status)] += 1
            self._cond.notify_all()
        if lag:
            self._stopping.wait(lag)
        return _json_reply(status, response)

    def _answer(self, request: Request, handler: MethodHandler | None, delay: float) -> tuple[int, dict[str, Any]]:
        try:
            if not request.token_ok:
                raise ApiError(401, "Unauthorized")
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            if delay:
                self._stopping.wait(delay)
            with self._cond:
                self._check_faults(request)
                # Deep-copied under the lock: later edits must not change recorded answers.
                return 200, {"ok": True, "result": copy.deepcopy(handler(request))}
        except ApiError as error:
            return error.status, error.to_json()
        except Exception as exc:  # a bug in the fake: answer 500 and keep it visible
            _LOGGER.exception("fake Bot API failed on %s", request.method)
            self.errors.append(f"{request.method}: {exc!r}")
            return 500, ApiError(500, f"Internal Server Error: {exc!r}").to_json()

    def _check_faults(self, request: Request) -> None:
        for fault in self._faults:
            if fault.remaining > 0 and fault.matches(request):
                if fault.skip > 0:
                    fault.skip -= 1
                    continue
                fault.remaining -= 1
                raise ApiError(fault.status, fault.description, fault.retry_after)
        self._faults = [fault for fault in self._faults if fault.remaining > 0]
        chat_id = request.chat_id
        if chat_id is not None and chat_id in self._blocked:
            raise ApiError(403, self._blocked[chat_id])
        method = request.method
        counted = method.startswith(("send", "edit", "copy", "forward"))
        if self._limits and counted and method != "sendChatAction":
            retry_after = self._limits.admit(chat_id, time.monotonic())
            if retry_after is not None:
                raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)

    def _download(self, token: str, file_path: str) -> _HttpReply:
        with self._cond:
            request = Request(
                self._next_seq(),
                "downloadFile",
                {"file_path": file_path},
                {},
                time.monotonic(),
                token_ok=token == self.token,
            )
            self._requests.append(request)
            self.stats["downloadFile"] += 1
            found = [f for f in self._files.values() if f.file_path == file_path]
            request.status = 200 if request.token_ok and found else 404
            if request.status != 200:
                self.stats["404"] += 1
            self._cond.notify_all()
        if request.status != 200:
            return _json_reply(404, ApiError(404, "Not Found").to_json())
        return _HttpReply(200, found[0].mime_type, found[0].content)

    # ----------------------------------------------------------------- methods

    def _chat(self, chat_id: Any) -> dict[str, Any]:
        """The chat a method addresses; unknown numeric ids are created on the fly."""
        if chat_id is None or chat_id == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        if isinstance(chat_id, str):
            for chat in self._chats.values():
                if chat_id.startswith("@") and chat.get("username") == chat_id[1:]:
                    return chat
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id not in self._chats:
            if chat_id > 0:
                self._chats[chat_id] = self._private_chat(self.add_user(chat_id))
            else:
                self.add_chat(chat_id, "supergroup")
        return self._chats[chat_id]

    def _set_webhook(self, request: Request) -> bool:
        self._webhook_url = request.params.get("url", "")
        if request.params.get("drop_pending_updates"):
            self._drop_pending()
        return True

    def _delete_webhook(self, request: Request) -> bool:
        self._webhook_url = ""
        if request.params.get("drop_pending_updates"):
            self._drop_pending()
        return True

    def _drop_pending(self) -> None:
        if self._pending:
            self._confirmed_below = self._pending[-1]["update_id"] + 1
        self._pending.clear()

    def _get_webhook_info(self, _: Request) -> dict[str, Any]:
        return {
            "url": self._webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }

    def _get_updates(self, request: Request) -> list[dict[str, Any]]:
        if self._webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        params = request.params
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        if params.get("allowed_updates") is not None:
            self._allowed_updates = list(params["allowed_updates"])
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
            self._confirmed_below = max(self._confirmed_below, offset)
        elif offset < 0:
            dropped, self._pending = self._pending[:offset], self._pending[offset:]
            if dropped:
                self._confirmed_below = max(self._confirmed_below, dropped[-1]["update_id"] + 1)
        self._poll_generation += 1
        generation = self._poll_generation
        self._cond.notify_all()  # an older long poll still waiting must end with 409
        deadline = time.monotonic() + timeout
        while True:
            if request.client_gone():
                return []  # nobody listens any more: deliver nothing, report no conflict
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                )
            self._pending = [u for u in self._pending if self._is_allowed(u)]
            if self._pending or self._stopping.is_set():
                return self._pending[:limit]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            self._cond.wait(min(remaining, 0.25))

    def _is_allowed(self, update: dict[str, Any]) -> bool:
        kind = next(key for key in update if key != "update_id")
        if self._allowed_updates:
            return kind in self._allowed_updates
        return kind not in _OPT_IN_UPDATE_TYPES

    def _render(
        self, request: Request, text_key: str, entities_key: str
    ) -> tuple[str | None, str, list[dict[str, Any]]]:
        """Validate a text or caption as Telegram does; return (raw, plain, entities)."""
        is_text = text_key == "text"
        raw = request.params.get(text_key)
        if raw is None or raw == "":
            if is_text:
                raise ApiError(400, "Bad Request: message text is empty")
            return None, "", []
        parse_mode = request.params.get("parse_mode") or ""
        if parse_mode.lower() == "html":
            plain, entities = parse_html(str(raw))
        elif parse_mode.lower() in ("", "markdown", "markdownv2"):
            plain, entities = str(raw), list(request.params.get(entities_key) or [])
        else:
            raise ApiError(400, "Bad Request: unsupported parse_mode")
        if is_text and not plain.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(plain) > (MAX_TEXT_LENGTH if is_text else MAX_CAPTION_LENGTH):
            what = "message is too long" if is_text else "message caption is too long"
            raise ApiError(400, f"Bad Request: {what}")
        return str(raw), plain, entities

    def _reply_markup(self, request: Request) -> dict[str, Any] | None:
        markup = request.params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                if not _INLINE_BUTTON_ACTIONS & button.keys():
                    raise ApiError(
                        400,
                        "Bad Request: can't parse inline keyboard button: "
                        "Text buttons are unallowed in the inline keyboard",
                    )
        return markup

    def _record_sent(
        self,
        request: Request,
        content: dict[str, Any],
        raw_text: str | None,
        file: TelegramFile | None = None,
    ) -> dict[str, Any]:
        """Create a bot message in the addressed chat and record it as sent."""
        chat = self._chat(request.chat_id)
        markup = self._reply_markup(request)
        reply_to = request.params.get("reply_parameters") or {}
        reply_to_id = reply_to.get("message_id") or request.params.get("reply_to_message_id")
        original = self._messages.get((chat["id"], reply_to_id))
        missing = reply_to_id is not None and original is None
        if missing and not reply_to.get("allow_sending_without_reply"):
            raise ApiError(400, "Bad Request: message to be replied not found")
        message: dict[str, Any] = {
            "message_id": self._new_message_id(chat["id"]),
            "from": self.bot_user,
            "chat": dict(chat),
            "date": int(time.time()),
        }
        if original is not None:
            message["reply_to_message"] = self._reply_target(chat["id"], original)
        message.update(content)
        if markup and "inline_keyboard" in markup:  # other keyboards are not echoed
            message["reply_markup"] = markup
        self._messages[(chat["id"], message["message_id"])] = message
        sent = SentMessage(
            seq=self._next_seq(),
            method=request.method,
            chat_id=chat["id"],
            message_id=message["message_id"],
            text=raw_text,
            parse_mode=request.params.get("parse_mode"),
            reply_markup=markup,
            file=file,
            message=message,
            at=request.at,
        )
        self._sent.append(sent)
        self._sent_by_key[(chat["id"], message["message_id"])] = sent
        return message

    def _send_message(self, request: Request) -> dict[str, Any]:
        raw, plain, entities = self._render(request, "text", "entities")
        content: dict[str, Any] = {"text": plain}
        if entities:
            content["entities"] = entities
        return self._record_sent(request, content, raw)

    def _send_media(self, request: Request, kind: str) -> dict[str, Any]:
        raw, plain, entities = self._render(request, "caption", "caption_entities")
        stored = self._media_file(request, kind)
        content: dict[str, Any] = {}
        if kind == "photo":
            content["photo"] = [
                {**self._file_ref(stored), "width": 90, "height": 68},
                {**self._file_ref(stored), "width": 1280, "height": 960},
            ]
        else:
            content["document"] = {
                **self._file_ref(stored),
                "file_name": stored.filename,
                "mime_type": stored.mime_type,
            }
        if raw is not None:
            content["caption"] = plain
            if entities:
                content["caption_entities"] = entities
        return self._record_sent(request, content, raw, stored)

    def _media_file(self, request: Request, kind: str) -> TelegramFile:
        """The file a sendX call refers to: an upload, a known file_id or a URL."""
        reference = request.params.get(kind)
        part = request.files.get(kind)
        if isinstance(reference, str) and reference.startswith("attach://"):
            part = request.files.get(reference.removeprefix("attach://"))
        if part is not None:
            return self._store_file(part.filename, part.content, part.content_type)
        if isinstance(reference, str) and reference in self._files:
            return self._files[reference]
        if isinstance(reference, str) and reference.startswith(("http://", "https://")):
            name = reference.rsplit("/", 1)[-1] or kind
            guessed = mimetypes.guess_type(name)[0] or "application/octet-stream"
            return self._store_file(name, b"", guessed)
        if reference is None:
            raise ApiError(400, f"Bad Request: there is no {kind} in the request")
        raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    def _editable(self, request: Request) -> tuple[dict[str, Any], SentMessage | None] | None:
        """The bot message an editX call addresses, or None for inline messages."""
        if request.params.get("inline_message_id"):
            return None
        key = (self._chat(request.chat_id)["id"], request.params.get("message_id"))
        message = self._messages.get(key)
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if message.get("from", {}).get("id") != self.bot_id:
            raise ApiError(400, "Bad Request: message can't be edited")
        return message, self._sent_by_key.get(key)

    def _apply_edit(
        self,
        message: dict[str, Any],
        sent: SentMessage | None,
        changes: dict[str, Any],
        markup: dict[str, Any] | None,
    ) -> None:
        """Apply an edit (raising "not modified" if nothing changes); the keyboard is
        replaced by ``markup``, which removes it when absent, as Telegram does."""
        inline = markup if markup and "inline_keyboard" in markup else None
        current = {key: message.get(key) for key in changes}
        if current == changes and message.get("reply_markup") == inline:
            raise ApiError(400, _NOT_MODIFIED)
        for key, value in changes.items():
            if value:
                message[key] = value
            else:
                message.pop(key, None)
        if inline is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = inline
        message["edit_date"] = int(time.time())
        if sent is not None:
            sent.reply_markup = markup

    def _edit_message_text(self, request: Request) -> dict[str, Any] | bool:
        raw, plain, entities = self._render(request, "text", "entities")
        markup = self._reply_markup(request)
        target = self._editable(request)
        if target is None:
            return True
        message, sent = target
        if "text" not in message:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        self._apply_edit(message, sent, {"text": plain, "entities": entities or None}, markup)
        if sent is not None:
            sent.history.append(sent.text)
            sent.text = raw
            sent.parse_mode = request.params.get("parse_mode")
        return message

    def _edit_message_reply_markup(self, request: Request) -> dict[str, Any] | bool:
        markup = self._reply_markup(request)
        target = self._editable(request)
        if target is None:
            return True
        message, sent = target
        self._apply_edit(message, sent, {}, markup)
        return message

    def _delete_message(self, request: Request) -> bool:
        key = (self._chat(request.chat_id)["id"], request.params.get("message_id"))
        if self._messages.pop(key, None) is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        if key in self._sent_by_key:
            self._sent_by_key[key].deleted = True
        return True

    def _answer_callback_query(self, request: Request) -> bool:
        query_id = request.params.get("callback_query_id")
        if query_id not in self._open_callbacks:
            raise ApiError(400, _QUERY_INVALID)
        self._open_callbacks.discard(query_id)
        return True

    def _commands_key(self, request: Request) -> tuple[str, str]:
        scope = request.params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), request.params.get("language_code") or ""

    def _set_my_commands(self, request: Request) -> bool:
        commands = request.params.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            if not _BOT_COMMAND_NAME_RE.match(str(command.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        self._commands[self._commands_key(request)] = commands
        return True

    def _delete_my_commands(self, request: Request) -> bool:
        self._commands.pop(self._commands_key(request), None)
        return True

    def _send_chat_action(self, request: Request) -> bool:
        self._chat(request.chat_id)
        return True

    def _set_chat_menu_button(self, request: Request) -> bool:
        button = request.params.get("menu_button") or {"type": "default"}
        self._menu_buttons[request.params.get("chat_id")] = button
        return True

    def _get_chat(self, request: Request) -> dict[str, Any]:
        chat_id = request.chat_id
        if isinstance(chat_id, int) and chat_id not in self._chats:
            raise ApiError(400, "Bad Request: chat not found")
        gift_types = dict.fromkeys(
            (
                "unlimited_gifts",
                "limited_gifts",
                "unique_gifts",
                "premium_subscription",
                "gifts_from_channels",
            ),
            False,
        )
        return {
            **self._chat(chat_id),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": gift_types,
        }

    def _get_file(self, request: Request) -> dict[str, Any]:
        stored = self._files.get(request.params.get("file_id"))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {**self._file_ref(stored), "file_path": stored.file_path}


# --------------------------------------------------------------------------- PTB helpers


def application_builder(server: FakeTelegramServer) -> ApplicationBuilder:
    """An ``ApplicationBuilder`` with the server's token, ``base_url`` and ``base_file_url``."""
    return Application.builder().token(server.token).base_url(server.base_url).base_file_url(server.base_file_url)


def make_bot(server: FakeTelegramServer) -> Bot:
    """A plain ``telegram.Bot`` talking to the server; use it as ``async with make_bot(s)``."""
    return Bot(server.token, base_url=server.base_url, base_file_url=server.base_file_url)


@contextlib.asynccontextmanager
async def polling(app: Application, *, timeout: int = 1) -> AsyncIterator[Application]:
    """Initialize, start and poll ``app`` (``getUpdates`` long-poll of ``timeout`` s),
    then stop and shut it down, also when the body fails."""
    async with app:
        await app.start()
        try:
            await app.updater.start_polling(poll_interval=0, timeout=timeout)
            yield app
        finally:
            if app.updater.running:
                await app.updater.stop()
            await app.stop()
