"""100,000-row roster imports from the command line while 50 users talk to a running bot.

Run: python benchmarks/bench_import_load.py [--rows 100000] [--users 50]

The bot is a real `cppcc-bot run` process (long polling) against the fake Bot API, which
enforces Telegram's limits (30 messages/s overall, 1/s per chat). 50 roster members talk to it
all along, each in a loop, pausing between steps (default 2 s: about 20 messages/s in all,
below the bot's send rate, so that latency shows the imports rather than the send queue):
share their contact (binds: a write), ask a question, send /unbind (a write), ask another
question. Meanwhile the command line runs `cppcc-bot members import` twice with 100,000 rows:
first adding 99,950 members, then changing every row. A probe connection tries to take the
write lock every 10 ms (without waiting) to measure how long each import holds it.

Target (issue 12): no error in the bot's log, every question answered (and every step of the
loop answered; none with 系统繁忙 or the generic error).
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakeapi import FakeTelegramServer, WaitTimeout  # noqa: E402

QUESTIONS = ("委员活动的钱谁出", "第33条", "统战部负责什么", "提案立案标准是什么", "谁负责委员培训")
FIRST_USER = 610000


def phone(i: int) -> str:
    return f"138{i:08d}"


def roster(path: Path, rows: int, sector: str) -> None:
    lines = ["姓名,手机号,界别,专委会"] + [f"委员{i},{phone(i)},{sector},提案委" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


class LockProbe(threading.Thread):
    """Measures the spans during which another connection holds the write lock."""

    def __init__(self, db: Path):
        super().__init__(daemon=True)
        self.db = db
        self.running = True
        self.spans: list[float] = []

    def run(self) -> None:
        conn = sqlite3.connect(self.db, timeout=0, isolation_level=None)
        since = None
        while self.running:
            now = time.monotonic()
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("COMMIT")
                if since is not None:
                    self.spans.append(now - since)
                    since = None
            except sqlite3.OperationalError:
                since = since or now
            time.sleep(0.01)
        conn.close()


class User(threading.Thread):
    """One member: contact → question → /unbind → question, a second apart, until stopped."""

    def __init__(self, tg: FakeTelegramServer, index: int, stop: threading.Event, pause: float):
        super().__init__(daemon=True)
        self.tg, self.index, self.stop, self.pause = tg, index, stop, pause
        self.user = FIRST_USER + index
        self.steps: list[tuple[str, float, float, str]] = []  # (what, sent at, latency s, reply text)
        self.unanswered: list[str] = []

    def step(self, what: str, text: str | None = None) -> None:
        """Send a message (or share the own contact when ``text`` is None) and wait for the reply."""
        mark = self.tg.mark()
        started = time.monotonic()
        if text is None:
            self.tg.inject_contact(self.user, f"86{phone(self.index)}")  # as Telegram sends it
        else:
            self.tg.inject_message(self.user, text)
        try:
            (reply, *_) = self.tg.wait_for_sync(lambda: self.tg.sent_messages(self.user, since=mark), timeout=60)
        except WaitTimeout:
            self.unanswered.append(what)
            return
        self.steps.append((what, started, time.monotonic() - started, reply.plain_text or ""))
        time.sleep(self.pause)

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            self.step("contact")
            self.step("question", QUESTIONS[n % len(QUESTIONS)])
            self.step("unbind", "/unbind")
            self.step("question", QUESTIONS[(n + 1) % len(QUESTIONS)])
            n += 2


def run_import(env: dict[str, str], path: Path) -> tuple[float, str]:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "members", "import", str(path), "--yes", "--full"],
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"import failed: {result.stderr[-2000:]}")
    return time.monotonic() - started, result.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--pause", type=float, default=2.0, help="seconds each user waits between steps")
    args = parser.parse_args()

    with FakeTelegramServer(bot_username="cppcc_helper_bot") as tg, tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        db = tmp / "bench.db"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "CPPCC_"))}
        env.update(
            TELEGRAM_BOT_TOKEN=tg.token,
            TELEGRAM_API_BASE_URL=tg.base_url,
            CPPCC_DB=str(db),
            CPPCC_FLOOD_LIMIT="1000",
            CPPCC_BACKUP_DIR="off",
            NO_PROXY="127.0.0.1,localhost",
        )
        roster(tmp / "seed.csv", args.users, "经济界")
        run_import(env, tmp / "seed.csv")
        roster(tmp / "big1.csv", args.rows, "经济界")
        roster(tmp / "big2.csv", args.rows, "农业界")
        tg.enforce_limits(global_per_sec=30, per_chat_per_sec=1)
        log_path = tmp / "bot.log"
        with log_path.open("w") as log:
            bot = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], env=env, cwd=ROOT, stderr=log)
        stop = threading.Event()
        users = [User(tg, i, stop, args.pause) for i in range(args.users)]
        probe = LockProbe(db)
        try:
            tg.wait_for_sync(lambda: tg.requests("getUpdates"), timeout=30)
            probe.start()
            for user in users:
                user.start()
            time.sleep(5)
            windows = []
            for name in ("big1.csv", "big2.csv"):
                started = time.monotonic()
                seconds, said = run_import(env, tmp / name)
                windows.append((started, time.monotonic()))
                print(f"import {name}: {seconds:.1f} s — {said}")
                time.sleep(3)
            time.sleep(3)
        finally:
            stop.set()
            for user in users:
                user.join(timeout=90)
            probe.running = False
            bot.send_signal(signal.SIGINT)
            bot.wait(timeout=30)
        log_text = log_path.read_text(encoding="utf-8", errors="replace")

    steps = [step for user in users for step in user.steps]
    unanswered = [what for user in users for what in user.unanswered]
    questions = [s for s in steps if s[0] == "question"]
    bad = [s for s in steps if "出了点问题" in s[3] or "系统繁忙" in s[3]]
    during = [s[2] * 1000 for s in steps if any(a <= s[1] <= b for a, b in windows)]
    outside = [s[2] * 1000 for s in steps if not any(a <= s[1] <= b for a, b in windows)]
    errors = [line for line in log_text.splitlines() if " ERROR " in line or "Traceback" in line or "locked" in line]
    print(f"write lock held by another connection: longest {max(probe.spans, default=0):.2f} s")
    binds = sum(1 for s in steps if s[0] == "contact" and "身份已验证" in s[3])
    unbinds = sum(1 for s in steps if s[0] == "unbind" and "已解除绑定" in s[3])
    print(
        f"{len(steps)} steps answered ({len(questions)} questions, {binds} binds and {unbinds} unbinds written), "
        f"{len(unanswered)} unanswered, {len(bad)} answered with an error or 系统繁忙"
    )
    for label, values in (("during the imports", during), ("outside", outside)):
        if values:
            print(
                f"  reply latency {label}: p50 {statistics.median(values):.0f} ms, "
                f"max {max(values):.0f} ms ({len(values)} steps)"
            )
    print(f"errors in the bot log: {len(errors)}")
    for line in errors[:10]:
        print(f"  {line}")
    if unanswered or bad or errors:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
