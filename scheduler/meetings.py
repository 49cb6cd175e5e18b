"""The meetings pass on PTB's JobQueue: close events that ended (attendance → duty records),
send [签到] when a sign-in window opens, and tell people who bound late about notices they missed.

The database is the source of truth: each pass looks at what the tables say (events not yet
closed, replies without a sign-in message in the outbox), so the pass at start-up catches up
after downtime and a pass that runs twice adds nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from telegram.ext import ContextTypes, JobQueue

from bot.calendar.attendance import close_ended
from bot.calendar.invitations import push_signin
from bot.inbox.items import unread_after_binding
from bot.storage import Storage

log = logging.getLogger(__name__)

JOB = "meetings:pass"
INTERVAL = 30.0  # seconds


class MeetingScheduler:
    """Owns the meetings job of one running bot."""

    def __init__(self, storage: Storage, admin_ids: frozenset[int], on_enqueued: Callable[[], None]):
        self.storage = storage
        self.admin_ids = admin_ids
        self.on_enqueued = on_enqueued
        self.job_queue: JobQueue | None = None

    def run_pass(self) -> int:
        """One pass; how many events were closed."""
        now = self.storage.now()
        closed = close_ended(self.storage, now=now, admin_ids=self.admin_ids)
        pushed = push_signin(self.storage, now=now, admin_ids=self.admin_ids)
        pushed += unread_after_binding(self.storage, now=now)
        if closed or pushed:
            self.on_enqueued()
        return len(closed)

    async def _tick(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            self.run_pass()
        except Exception:  # a bad row must not stop the job; the next pass tries again
            log.exception("meetings pass failed")

    def start(self, job_queue: JobQueue) -> None:
        self.job_queue = job_queue
        self.run_pass()  # catch up at start-up
        job_queue.run_repeating(
            self._tick,
            interval=INTERVAL,
            first=INTERVAL,
            name=JOB,
            job_kwargs={
                "id": JOB,
                "replace_existing": True,
                "misfire_grace_time": None,
                "coalesce": True,
                "max_instances": 1,
            },
        )

    def stop(self) -> None:
        if self.job_queue is not None:
            for job in self.job_queue.get_jobs_by_name(JOB):
                job.schedule_removal()
