"""Notices, the delivery outbox and receipts (issue: notices)."""

from __future__ import annotations

from typing import ClassVar

from bot.storage.core import Migration


class OutboxStore:
    """Mixin for :class:`bot.storage.Storage`; methods use ``self.db`` (sqlite-utils)."""

    DOMAIN_MIGRATIONS: ClassVar[dict[str, tuple[Migration, ...]]] = {"notices": ()}
