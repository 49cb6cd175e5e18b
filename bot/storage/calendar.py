"""Events and reminder deliveries (issue: scheduled reminders)."""

from __future__ import annotations

from typing import ClassVar

from bot.storage.core import Migration


class CalendarStore:
    """Mixin for :class:`bot.storage.Storage`; methods use ``self.db`` (sqlite-utils)."""

    DOMAIN_MIGRATIONS: ClassVar[dict[str, tuple[Migration, ...]]] = {"calendar": ()}
