"""Telegram bot under load: 2,000 questions from 200 simulated users through the fake Bot API.

Run: python benchmarks/bench_bot.py [--users 200] [--per-user 10]

The bot runs as a real `cppcc-bot run` process (long polling); each simulated
user sends a question, waits for the reply, then sends the next, all users at
in turn at a steady rate below Telegram's ~30 messages/s (the bot's rate
limiter holds sends to that). Latency is measured from injecting the update
to the fake server receiving the bot's sendMessage. Also reported: a burst of
all questions at once (throughput is then the send limit), peak memory of the
bot process (VmHWM), and a check that every user got exactly one reply per
question. The fake server enforces 30 messages/s overall and 1/s per chat.
Targets (issue 4): p99 < 100 ms, memory < 150 MB, nothing dropped or doubled.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.answers.evaluation import load_questions  # noqa: E402
from tests.fakeapi import FakeTelegramServer  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--per-user", type=int, default=10)
    parser.add_argument("--rate", type=float, default=25.0, help="questions per second in the steady phase")
    args = parser.parse_args()
    questions = [q["q"] for _, q in load_questions(ROOT / "tests" / "data" / "questions.jsonl") if q["q"].strip()]
    users = [700000 + i for i in range(args.users)]
    total = args.users * args.per_user

    with FakeTelegramServer(bot_username="cppcc_helper_bot") as tg, tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ)
        env.update(
            TELEGRAM_BOT_TOKEN=tg.token,
            TELEGRAM_API_BASE_URL=tg.base_url,
            CPPCC_DB=str(Path(tmp) / "bench.db"),
            CPPCC_FLOOD_LIMIT="1000",
            NO_PROXY="127.0.0.1,localhost",
        )
        tg.enforce_limits(global_per_sec=30, per_chat_per_sec=1)
        bot = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
        try:
            tg.wait_for_sync(lambda: tg.requests("getUpdates"), timeout=30)
            # Open loop at a steady rate below the send limit: every user asks in turn.
            plan = [(users[i % args.users], questions[i % len(questions)]) for i in range(total)]
            injected: dict[int, list[float]] = {u: [] for u in users}
            started = time.monotonic()
            for index, (user, question) in enumerate(plan):
                delay = started + index / args.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                injected[user].append(time.monotonic())
                tg.inject_message(user, question)
            tg.wait_for_sync(lambda: sum(len(tg.sent_messages(u)) for u in users) >= total, timeout=300)
            wall = time.monotonic() - started
            time.sleep(1)
            counts = [len(tg.sent_messages(u)) for u in users]
            latencies = [
                (reply.at - sent) * 1000
                for u in users
                for sent, reply in zip(injected[u], tg.sent_messages(u), strict=False)
            ]
            print(f"steady: {total} questions from {args.users} users at {args.rate}/s, done in {wall:.1f} s")
            print(
                f"  latency injection→reply: p50 {statistics.median(latencies):.1f} ms, "
                f"p99 {percentile(latencies, 99):.1f} ms, max {max(latencies):.1f} ms"
            )
            print(f"  replies per user: min {min(counts)}, max {max(counts)} (expected {args.per_user} each)")

            # Burst: everything at once; throughput is then the send limit (30 messages/s).
            burst_users = [800000 + i for i in range(args.users)]
            started = time.monotonic()
            for n in range(args.per_user):
                for i, user in enumerate(burst_users):
                    tg.inject_message(user, questions[(i + n) % len(questions)])
            tg.wait_for_sync(lambda: sum(len(tg.sent_messages(u)) for u in burst_users) >= total, timeout=300)
            burst = time.monotonic() - started
            time.sleep(1)
            counts = [len(tg.sent_messages(u)) for u in burst_users]
            print(
                f"burst: {total} questions injected at once answered in {burst:.1f} s ({total / burst:.0f}/s); "
                f"replies per user min {min(counts)} max {max(counts)}; 429s seen: {tg.stats['429']}"
            )
            print(f"bot process peak memory (VmHWM): {peak_rss_mb(bot.pid):.0f} MB")
        finally:
            bot.send_signal(signal.SIGINT)
            bot.wait(timeout=30)


if __name__ == "__main__":
    main()
