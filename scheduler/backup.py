"""The daily database backup, run by PTB's JobQueue (the work is in bot/storage/backup.py).

One daily job at ``backup_time`` (local time) writes a dated backup into the folder and deletes
the oldest beyond the retention count. A computer that is off at that hour would never back up,
so start-up also plans a catch-up backup a few minutes later when the newest backup is more than
a day old. The copy runs in a worker thread: the bot keeps answering meanwhile. A failure is
logged (one line: the folder and the reason) and the next run tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from telegram.ext import ContextTypes, JobQueue

from bot.config import Settings
from bot.plan.store import plans_dir
from bot.storage import StorageError
from bot.storage.backup import BackupResult, backup_time, backups_in, dated_backup

log = logging.getLogger(__name__)

DAILY_JOB = "backup:daily"
CATCH_UP_JOB = "backup:catch-up"
CATCH_UP_DELAY = timedelta(minutes=5)
MAX_AGE = timedelta(days=1)
JOB_DEFAULTS: dict[str, Any] = {"misfire_grace_time": None, "coalesce": True, "max_instances": 1}


class BackupScheduler:
    """Owns the backup jobs of one running bot."""

    def __init__(
        self,
        db_path: Path,
        folder: Path,
        keep: int,
        at: time,
        tz: ZoneInfo,
        *,
        clock: Callable[[], datetime] | None = None,
        plans: Path | None = None,
    ):
        self.db_path = db_path
        self.plans = plans  # the plans folder, copied beside each backup (bot/storage/backup.py)
        self.folder = folder
        self.keep = keep
        self.at = at
        self.tz = tz
        self.clock = clock or (lambda: datetime.now(tz))
        self.job_queue: JobQueue | None = None
        self.last: BackupResult | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> BackupScheduler | None:
        """None when daily backups are off."""
        folder = settings.backup_folder()
        if folder is None:
            return None
        plans = plans_dir(settings.db_path)
        return cls(settings.db_path, folder, settings.backup_keep, settings.backup_time, settings.tz, plans=plans)

    def start(self, job_queue: JobQueue) -> None:
        self.job_queue = job_queue
        at = self.at if self.at.tzinfo else self.at.replace(tzinfo=self.tz)
        job_queue.run_daily(
            self._run, at, name=DAILY_JOB, job_kwargs={**JOB_DEFAULTS, "id": DAILY_JOB, "replace_existing": True}
        )
        if self.overdue():
            job_queue.run_once(
                self._run,
                CATCH_UP_DELAY,
                name=CATCH_UP_JOB,
                job_kwargs={**JOB_DEFAULTS, "id": CATCH_UP_JOB, "replace_existing": True},
            )
        log.info("backups: daily at %s into %s, keeping %d", self.at.strftime("%H:%M"), self.folder, self.keep)

    def stop(self) -> None:
        if self.job_queue is not None:
            for name in (DAILY_JOB, CATCH_UP_JOB):
                for job in self.job_queue.get_jobs_by_name(name):
                    with contextlib.suppress(LookupError):  # already gone with the stopped scheduler
                        job.schedule_removal()
        self.job_queue = None

    def overdue(self) -> bool:
        """No backup yet, or the newest is more than a day old."""
        existing = backups_in(self.folder)
        return not existing or self.clock() - backup_time(existing[-1], self.tz) > MAX_AGE

    def run(self) -> BackupResult:
        """One backup now, with the retention count applied (blocking; the job runs it in a thread)."""
        result = dated_backup(self.db_path, self.folder, self.keep, self.clock(), self.plans)
        self.last = result
        log.info(
            "backup written: %s (%.1f MB in %.1f s), %d old one(s) deleted",
            result.path.name,
            result.size / 1e6,
            result.seconds,
            len(result.removed),
        )
        return result

    async def _run(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            await asyncio.to_thread(self.run)
        except (StorageError, OSError) as exc:
            log.error("backup into %s failed: %s", self.folder, exc)
