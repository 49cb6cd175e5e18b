"""Driving the reminder passes with PTB's JobQueue (APScheduler underneath).

The database is the source of truth, not the scheduler: the jobs hold no reminder data and
are rebuilt on every start-up with stable ids (``replace_existing``). Each pass asks
:func:`bot.calendar.reminders.deliver_due` for everything due since the previous pass, so

* a restart neither loses nor doubles a reminder (decisions are keyed in the database);
* a reminder due while the bot was down is handled by the catch-up pass run at start-up;
* a pass that runs late is harmless: jobs use ``misfire_grace_time=None`` (APScheduler's
  default of 1 s would silently drop a late run) and ``coalesce=True`` (several missed runs
  become one).

Two jobs: a periodic tick (default every 60 s; it also notices events added by the CLI or
in chat) and a one-shot wake-up at the next reminder's exact time, re-planned after every
pass.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from telegram.ext import ContextTypes, JobQueue

from bot.calendar.reminders import PassResult, RuleSet, deliver_due, next_due, rules_for
from bot.config import ConfigError
from bot.storage import Storage

log = logging.getLogger(__name__)

TICK_JOB = "reminders:tick"
WAKE_JOB = "reminders:wake"
JOB_DEFAULTS: dict[str, Any] = {"misfire_grace_time": None, "coalesce": True, "max_instances": 1}
WAKE_HORIZON = timedelta(days=2)


class ReminderScheduler:
    """Owns the reminder jobs of one running bot."""

    def __init__(
        self,
        storage: Storage,
        admin_ids: frozenset[int],
        *,
        interval: float = 60.0,
        clock: Callable[[], datetime] | None = None,
        on_enqueued: Callable[[], None] | None = None,
        rules_path: str | None = None,
    ):
        self.storage = storage
        self.admin_ids = admin_ids
        self.interval = interval
        self.clock = clock or storage.now
        self.on_enqueued = on_enqueued or (lambda: None)
        self.rules_path = rules_path
        self.rules: RuleSet | None = None
        self.job_queue: JobQueue | None = None
        self.passes = 0

    def load_rules(self) -> RuleSet:
        """Rules file plus overrides; a broken file is a ConfigError naming it (start-up fails)."""
        self.rules = rules_for(self.storage, self.rules_path)
        return self.rules

    def start(self, job_queue: JobQueue) -> PassResult:
        """Validate the rules, run the catch-up pass, then (re)create the jobs."""
        self.load_rules()
        self.job_queue = job_queue
        result = self.run_pass()
        if result.sent or result.skipped:
            log.info(
                "reminders: start-up pass over %s–%s sent %d message(s), skipped %d",
                result.start.isoformat(timespec="seconds"),
                result.end.isoformat(timespec="seconds"),
                len(result.sent),
                len(result.skipped),
            )
        job_queue.run_repeating(
            self._tick,
            self.interval,
            first=self.interval,
            name=TICK_JOB,
            job_kwargs={**JOB_DEFAULTS, "id": TICK_JOB, "replace_existing": True},
        )
        self._plan_wake()
        return result

    def stop(self) -> None:
        if self.job_queue is not None:
            for name in (TICK_JOB, WAKE_JOB):
                for job in self.job_queue.get_jobs_by_name(name):
                    with contextlib.suppress(LookupError):  # already gone with the stopped scheduler
                        job.schedule_removal()
        self.job_queue = None

    def run_pass(self) -> PassResult:
        """One pass now (also callable after a secretary adds or changes an event)."""
        try:
            self.load_rules()
        except ConfigError:
            if self.rules is None:
                raise
            log.exception("reminders: rules could not be reloaded; keeping the previous ones")
        result = deliver_due(self.storage, self.rules, self.clock(), admin_ids=self.admin_ids)
        self.passes += 1
        if result.sent or result.digest_to:
            self.on_enqueued()
        return result

    def replan(self) -> None:
        """Re-plan the wake-up after a change to events or rules."""
        if self.job_queue is not None:
            self._plan_wake()

    async def _tick(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            self.run_pass()
        finally:
            self._plan_wake()

    def _plan_wake(self) -> None:
        if self.job_queue is None or self.rules is None:
            return
        now = self.clock()
        when = next_due(self.storage, self.rules, now, WAKE_HORIZON, admin_ids=self.admin_ids)
        if when is None or when - now > timedelta(seconds=self.interval):
            for job in self.job_queue.get_jobs_by_name(WAKE_JOB):
                with contextlib.suppress(LookupError):
                    job.schedule_removal()
            return  # the periodic tick will get there
        self.job_queue.run_once(
            self._tick,
            when,
            name=WAKE_JOB,
            job_kwargs={**JOB_DEFAULTS, "id": WAKE_JOB, "replace_existing": True},
        )
