"""Bounded memory: messages from 20,000 distinct users, the bot's resident memory sampled as they come.

Run: python benchmarks/bench_memory.py [--users 20000] [--batch 1000] [--warm-up 4000]

The bot runs as a real `cppcc-bot run` process (long polling) against the fake Bot API server.
Users arrive in batches, each a new set of Telegram ids; every user talks to the bot twice:

* a quarter send /start (welcome and the 验证身份 prompt) and then press the first example
  button under the welcome;
* the others ask a question, then either ask another, send /record (refused: not a bound
  member — PTB's chat_data is touched), or press a stale calendar button (user_data touched).

After each batch (every reply received) the bot process's VmRSS is read from /proc. Per-user
state (flood-guard windows, per-chat locks, user_data and chat_data, drafts) must expire, so
after the warm-up the resident size stays flat: the script prints the samples, the growth per
1,000 users after warm-up (least squares over the samples), and fails (exit 1) when that growth
exceeds --max-growth MB. The server does not enforce Telegram's rate limits here, the bot's send
rate is raised and its daily backup is off: this measures memory, not pacing
(benchmarks/bench_bot.py measures that).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.answers.evaluation import load_questions  # noqa: E402
from tests.fakeapi import FakeTelegramServer  # noqa: E402

FIRST_USER = 10_000_000


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def slope(points: list[tuple[int, float]]) -> float:
    """Least-squares growth of memory (MB) per 1,000 users."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _ in points)
    return 1000 * sum((x - mean_x) * (y - mean_y) for x, y in points) / var if var else 0.0


def replies(tg: FakeTelegramServer) -> dict[int, list]:
    """The messages the bot sent, by chat (one pass over the server's record)."""
    found: dict[int, list] = {}
    for message in tg.sent_messages():
        found.setdefault(message.chat_id, []).append(message)
    return found


def wait_for_replies(tg: FakeTelegramServer, expected: dict[int, int], timeout: float) -> dict[int, list]:
    def complete() -> dict[int, list] | None:
        found = replies(tg)
        return found if all(len(found.get(u, ())) >= count for u, count in expected.items()) else None

    return tg.wait_for_sync(complete, timeout=timeout)


def run_batch(tg: FakeTelegramServer, users: range, questions: list[str], timeout: float) -> None:
    """Two turns per user; returns when every expected reply has arrived."""
    expected: dict[int, int] = {}
    for n, user in enumerate(users):
        if n % 4 == 0:
            tg.inject_message(user, "/start")
            expected[user] = 2  # the welcome and the 验证身份 prompt
        else:
            tg.inject_message(user, questions[n % len(questions)])
            expected[user] = 1
    first = wait_for_replies(tg, expected, timeout)
    for n, user in enumerate(users):
        if n % 4 == 0:
            welcome = first[user][0]
            tg.inject_callback(user, welcome.buttons[0]["callback_data"], welcome)
        elif n % 4 == 1:
            tg.inject_message(user, questions[(n * 7) % len(questions)])
        elif n % 4 == 2:
            tg.inject_message(user, "/record")
        else:
            tg.inject_callback(user, "e:q", first[user][0], check_buttons=False)
        expected[user] += 1
    wait_for_replies(tg, expected, timeout)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--warm-up", type=int, default=4_000, help="users before the baseline sample")
    parser.add_argument("--max-growth", type=float, default=0.25, help="MB per 1,000 users allowed after warm-up")
    args = parser.parse_args()
    questions = [q["q"] for _, q in load_questions(ROOT / "tests" / "data" / "questions.jsonl") if q["q"].strip()]

    with FakeTelegramServer(bot_username="cppcc_helper_bot") as tg, tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ)
        env.update(
            TELEGRAM_BOT_TOKEN=tg.token,
            TELEGRAM_API_BASE_URL=tg.base_url,
            CPPCC_DB=str(Path(tmp) / "bench.db"),
            CPPCC_SEND_RATE="2000",
            CPPCC_PER_CHAT_INTERVAL="0.01",
            CPPCC_BACKUP_DIR="off",  # the daily backup's start-up run would land in the middle
            NO_PROXY="127.0.0.1,localhost",
        )
        bot = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
        try:
            tg.wait_for_sync(lambda: tg.requests("getUpdates"), timeout=30)
            started = time.monotonic()
            samples: list[tuple[int, float]] = [(0, rss_mb(bot.pid))]
            print(f"{'users':>7} {'seconds':>8} {'VmRSS MB':>9}")
            print(f"{0:>7} {0:>8.0f} {samples[0][1]:>9.1f}")
            for first in range(0, args.users, args.batch):
                users = range(FIRST_USER + first, FIRST_USER + min(first + args.batch, args.users))
                run_batch(tg, users, questions, timeout=300)
                done = first + len(users)
                samples.append((done, rss_mb(bot.pid)))
                print(f"{done:>7} {time.monotonic() - started:>8.0f} {samples[-1][1]:>9.1f}", flush=True)
                tg.clear()  # the fake server's own records are not the bot's memory, but keep the run light
            after = [(users, mb) for users, mb in samples if users >= args.warm_up]
            growth = slope(after)
            baseline = after[0][1]
            print(
                f"\n{args.users} users ({2 * args.users} updates) in {time.monotonic() - started:.0f} s; "
                f"VmRSS {samples[0][1]:.1f} MB at start, {baseline:.1f} MB after {args.warm_up} users (warm-up), "
                f"{samples[-1][1]:.1f} MB at the end (max {max(mb for _, mb in after):.1f}); "
                f"growth after warm-up {growth:+.2f} MB per 1,000 users (limit {args.max_growth})"
            )
            return 0 if growth <= args.max_growth else 1
        finally:
            bot.send_signal(signal.SIGINT)
            bot.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
