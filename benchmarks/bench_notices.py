"""Notices under Telegram's flood limits: 2,000 recipients through the fake Bot API.

Run: python benchmarks/bench_notices.py [--recipients 2000] [--only clean|faults|kill]

The bot runs as a real `cppcc-bot run` process with the shipped knowledge/notices.json
(25 messages/s overall, 1/s per chat); notices are queued with `cppcc-bot notice send`,
as a secretary would from the server. The fake server enforces 30 messages/s overall and
1 message/s per chat and answers 429 above that. Scenarios:

* clean — one notice to every recipient: time from the first to the last delivery, and
  the number of 429s. Target: ≤ recipients / 25 s + 10 %, zero 429s. While it runs a
  non-recipient asks a question every 2 s; the reply latency is reported.
* faults — 10 % of the recipients have blocked the bot and 5 % get one or two 5xx
  answers first: every reachable recipient gets exactly one copy, the blocked are
  reported unreachable, and the report's counts match what the server saw.
* kill — kill -9 the bot halfway through, start it again: everyone is reached, and the
  duplicates are at most the rows that were in flight ('sending') at the kill.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import notices  # noqa: E402
from bot.storage import Storage  # noqa: E402
from tests.fakeapi import FakeTelegramServer  # noqa: E402

FIRST_CHAT = 1_000_000
ASKER = 999_999  # not a recipient
TEXT = "各位委员：定于下周二上午九点在县政协三楼会议室召开全体委员会议，请准时参加。"


def roster(db: Path, count: int) -> list[int]:
    """``count`` members, each bound to a chat, written straight through the storage API."""
    with Storage(db) as storage:
        now = storage.now()
        with storage.atomic():
            for i in range(count):
                person = storage.insert_person("member", {"name": f"委员{i:04d}", "phone": f"138{i:08d}"}, now)
                storage.bind(FIRST_CHAT + i, "member", person, "code", now)
    return [FIRST_CHAT + i for i in range(count)]


class Bot:
    """`cppcc-bot run` as a child process."""

    def __init__(self, tg: FakeTelegramServer, db: Path):
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "CPPCC_"))}
        self.env.update(
            TELEGRAM_BOT_TOKEN=tg.token,
            TELEGRAM_API_BASE_URL=tg.base_url,
            CPPCC_DB=str(db),
            CPPCC_ADMIN_IDS="900001",
            NO_PROXY="127.0.0.1,localhost",
        )
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run"], env=self.env, cwd=ROOT, stderr=subprocess.PIPE, text=True
        )

    def send_notice(self, text_file: Path) -> None:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "bot.cli",
                "notice",
                "send",
                "--audience",
                "全体委员",
                "--text-file",
                str(text_file),
            ],
            env=self.env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def stop(self) -> str:
        self.process.send_signal(signal.SIGINT)
        _, stderr = self.process.communicate(timeout=60)
        return stderr


def delivered(tg: FakeTelegramServer, chats: set[int]) -> Counter:
    return Counter(m.chat_id for m in tg.sent_messages() if m.chat_id in chats)


def counts(db: Path, notice_id: int = 1) -> dict[str, int]:
    with Storage(db) as storage:
        return storage.outbox_counts(notices.SOURCE, str(notice_id))


def wait_settled(db: Path, total: int, timeout: float) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = counts(db)
        if sum(now.get(s, 0) for s in ("sent", "failed", "unreachable")) == total:
            return now
        time.sleep(0.5)
    raise TimeoutError(f"not settled after {timeout}s: {counts(db)}")


def ask_while_sending(tg: FakeTelegramServer, until) -> list[float]:
    """A question every 2 s from a non-recipient; reply latencies in seconds."""
    latencies = []
    while not until():
        mark = tg.mark()
        started = time.monotonic()
        tg.inject_message(ASKER, "委员活动的经费谁出")
        try:
            tg.wait_for_sync(lambda m=mark: tg.sent_messages(ASKER, since=m), timeout=10)
            latencies.append(time.monotonic() - started)
        except AssertionError:
            latencies.append(float("inf"))
        time.sleep(2)
    return latencies


def scenario_clean(tg: FakeTelegramServer, workdir: Path, count: int) -> bool:
    db = workdir / "clean.db"
    chats = set(roster(db, count))
    text_file = workdir / "notice.txt"
    text_file.write_text(TEXT, encoding="utf-8")
    bot = Bot(tg, db)
    bot.start()
    try:
        tg.wait_for_sync(lambda: tg.requests("getUpdates"), timeout=30)
        queued = time.monotonic()
        bot.send_notice(text_file)
        latencies = ask_while_sending(tg, lambda: len(delivered(tg, chats)) >= count)
        final = wait_settled(db, count, timeout=count / 25 * 2 + 30)
    finally:
        bot.stop()
    times = sorted(m.at for m in tg.sent_messages() if m.chat_id in chats)
    span = times[-1] - times[0]
    target = count / 25 * 1.1
    per_chat = delivered(tg, chats)
    ok = span <= target and tg.stats["429"] == 0 and set(per_chat.values()) == {1} and len(per_chat) == count
    finite = [x for x in latencies if x != float("inf")]
    print(
        f"clean: {count} recipients delivered in {span:.1f} s (target ≤ {target:.1f} s), "
        f"{count / span:.1f} messages/s, {times[-1] - queued:.1f} s from `notice send` to the last message"
    )
    print(f"       429s: {tg.stats['429']}; copies per recipient: {sorted(set(per_chat.values()))}; outbox: {final}")
    if finite:
        print(
            f"       questions answered during the notice: {len(finite)}/{len(latencies)}, "
            f"median {statistics.median(finite) * 1000:.0f} ms, max {max(finite) * 1000:.0f} ms"
        )
    return ok


def scenario_faults(tg: FakeTelegramServer, workdir: Path, count: int) -> bool:
    db = workdir / "faults.db"
    chats = roster(db, count)
    rng = random.Random(7)
    blocked = set(rng.sample(chats, count // 10))
    flaky = rng.sample([c for c in chats if c not in blocked], count // 20)
    for chat in blocked:
        tg.block_chat(chat)
    for chat in flaky:
        tg.fail_next("sendMessage", rng.choice([500, 502]), chat_id=chat, count=rng.choice([1, 2]))
    text_file = workdir / "notice.txt"
    text_file.write_text(TEXT, encoding="utf-8")
    bot = Bot(tg, db)
    bot.start()
    try:
        tg.wait_for_sync(lambda: tg.requests("getUpdates"), timeout=30)
        started = time.monotonic()
        bot.send_notice(text_file)
        final = wait_settled(db, count, timeout=count / 25 * 2 + 60)
        elapsed = time.monotonic() - started
    finally:
        bot.stop()
    per_chat = delivered(tg, set(chats))
    reachable = set(chats) - blocked
    with Storage(db) as storage:
        report = notices.report_counts(notices.build_report(storage, storage.notice(1)))
    exact = set(per_chat) == reachable and set(per_chat.values()) == {1}
    match = (report["sent"], report["unreachable"], report["failed"], report["pending"]) == (
        len(reachable),
        len(blocked),
        0,
        0,
    )
    server_5xx = tg.stats["500"] + tg.stats["502"]
    print(
        f"faults: {count} recipients, {len(blocked)} blocked, {len(flaky)} with 5xx first "
        f"({server_5xx} 5xx answers, {tg.stats['403']} 403s, {tg.stats['429']} 429s) — settled in {elapsed:.1f} s"
    )
    print(
        f"        each reachable recipient exactly once: {exact}; report sent {report['sent']}, "
        f"unreachable {report['unreachable']}, failed {report['failed']}, pending {report['pending']} "
        f"(expected {len(reachable)}/{len(blocked)}/0/0): {match}; outbox: {final}"
    )
    return exact and match and tg.stats["429"] == 0


def scenario_kill(tg: FakeTelegramServer, workdir: Path, count: int) -> bool:
    db = workdir / "kill.db"
    chats = set(roster(db, count))
    text_file = workdir / "notice.txt"
    text_file.write_text(TEXT, encoding="utf-8")
    bot = Bot(tg, db)
    bot.start()
    tg.wait_for_sync(lambda: tg.requests("getUpdates"), timeout=30)
    bot.send_notice(text_file)
    tg.wait_for_sync(lambda: len(delivered(tg, chats)) >= count // 2, timeout=count / 25 * 2)
    bot.kill()
    before = len(delivered(tg, chats))
    time.sleep(1)  # requests the dead process had sent are answered by now
    at_kill = counts(db)
    in_flight = at_kill.get("sending", 0)
    restarted = time.monotonic()
    bot.start()
    try:
        final = wait_settled(db, count, timeout=count / 25 * 2 + 60)
    finally:
        stderr = bot.stop()
    per_chat = delivered(tg, chats)
    duplicates = sum(per_chat.values()) - len(per_chat)
    ok = len(per_chat) == count and duplicates <= in_flight and tg.stats["429"] == 0
    print(f"kill: kill -9 after {before} of {count} deliveries; outbox at the kill {at_kill}")
    print(
        f"      after restart ({time.monotonic() - restarted:.1f} s): reached {len(per_chat)}/{count}, "
        f"duplicates {duplicates} (bound: {in_flight} in flight), 429s {tg.stats['429']}; outbox: {final}"
    )
    if "in flight when the process stopped" in stderr:
        print("      (the restarted bot logged the re-sent in-flight rows)")
    return ok


SCENARIOS = {"clean": scenario_clean, "faults": scenario_faults, "kill": scenario_kill}


def run_scenarios(scenarios: dict, prepare=lambda tg: None) -> int:
    """Run the scenarios (``--only NAME`` picks one), each against its own fake server; 1 if a target is missed."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=2000)
    parser.add_argument("--only", choices=sorted(scenarios))
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, scenario in scenarios.items():
            if args.only and name != args.only:
                continue
            with FakeTelegramServer(bot_username="cppcc_helper_bot") as tg:
                prepare(tg)
                results[name] = scenario(tg, Path(tmp), args.recipients)
    missed = [name for name, ok in results.items() if not ok]
    print(f"targets missed: {missed}" if missed else "all targets met")
    return 1 if missed else 0


def main() -> int:
    return run_scenarios(SCENARIOS, lambda tg: tg.enforce_limits(global_per_sec=30, per_chat_per_sec=1))


if __name__ == "__main__":
    sys.exit(main())
