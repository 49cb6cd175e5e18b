"""Telegram handlers for the ledger feature (thin: updates → bot/ calls → messages)."""

from __future__ import annotations

from telegram import BotCommand
from telegram.ext import Application

COMMANDS: list[BotCommand] = []


def register(app: Application) -> None:
    """Add this feature's handlers to the application."""


async def startup(app: Application) -> None:
    """Start-up work for this feature (called from post_init)."""


async def shutdown(app: Application) -> None:
    """Tear-down work for this feature (called from post_shutdown)."""
