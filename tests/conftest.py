"""Shared fixtures: the fake Bot API server and the real bot application running against it."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram import Update
from telegram.ext import Application

from bot.config import Settings
from handlers.app import build_application
from tests.fakeapi import FakeTelegramServer

ADMIN_ID = 900001

# A plan put in force on this machine (plans/ beside its own database, bot/plan/store.py) never
# reaches the tests: they read knowledge/plan.json unless a test sets up its own plans folder.
os.environ["CPPCC_PLANS"] = os.path.join(tempfile.gettempdir(), f"cppcc-test-no-plans-{os.getpid()}")


@pytest.fixture
def tg() -> FakeTelegramServer:
    with FakeTelegramServer(bot_username="cppcc_helper_bot") as server:
        yield server


def make_settings(tg: FakeTelegramServer, db_path: Path, **overrides) -> Settings:
    values = {
        "token": tg.token,
        "base_url": tg.base_url,
        "db_path": db_path,
        "admin_ids": frozenset({ADMIN_ID}),
        # Tests send many messages to one chat and notices to many; the 1 s per-chat spacing and
        # the overall pacing have their own tests.
        "per_chat_interval": 0.01,
        "send_rate": 400.0,
    }
    values.update(overrides)
    return Settings(**values)


@contextlib.asynccontextmanager
async def running(app: Application) -> AsyncIterator[Application]:
    """Start the application in the order run_polling uses (initialize → post_init →
    polling → start) and stop it the same way, also when the test fails."""
    await app.initialize()
    try:
        if app.post_init:
            await app.post_init(app)
        await app.updater.start_polling(poll_interval=0, timeout=1, allowed_updates=Update.ALL_TYPES)
        await app.start()
        try:
            yield app
        finally:
            if app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
                if app.post_stop:
                    await app.post_stop(app)
    finally:
        await app.shutdown()
        if app.post_shutdown:
            await app.post_shutdown(app)


@pytest.fixture
async def bot(tg, tmp_path) -> AsyncIterator[Application]:
    """The real application (handlers, defaults, rate limiter) polling the fake server."""
    app = build_application(make_settings(tg, tmp_path / "cppcc.db"))
    async with running(app):
        yield app
