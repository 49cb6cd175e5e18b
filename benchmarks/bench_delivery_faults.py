"""Delivery when Telegram misbehaves, through a real `cppcc-bot run` and the fake Bot API.

Run: python benchmarks/bench_delivery_faults.py [--only late|outage|load] (recipient counts are fixed)

The bot runs with the shipped knowledge/notices.json (outbox at most 25/s, 20 requests in
flight) and the default send budget (28/s overall, 1.05 s between two messages to one chat).
Notices are queued with `cppcc-bot notice send`, as a secretary would from the server.

* late — answers arrive after the read timeout (CPPCC_READ_TIMEOUT=2, answers held 3 s)
  for a 10 s stretch while a 60-recipient notice goes out. Targets: everyone gets it,
  at most 2 copies each, duplicates ≤ the requests in flight (20) plus the outage probes.
* outage — every send answers 5xx for 50 s during a 100-recipient notice; 10 questions are
  asked during the stretch. Targets: afterwards 100/100 delivered, 0 failed; every question
  answered within 60 s of recovery.
* load — a 1,000-recipient notice and 200 questions from 200 users at once, the server
  enforcing 30/s overall and 1/s per chat. Targets: 0 × 429, question replies p90 < 10 s,
  the notice finished within 1,000 / 25 s + 20 %.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_notices import Bot, counts, roster, run_scenarios  # noqa: E402

from tests.fakeapi import FakeTelegramServer  # noqa: E402

TEXT = "各位委员：定于下周二上午九点在县政协三楼会议室召开全体委员会议，请准时参加。"
QUESTION = "委员活动的经费谁出"
FINAL = ("sent", "failed", "unreachable", "uncertain")


def settled(db: Path, total: int, timeout: float) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = counts(db)
        if sum(now.get(s, 0) for s in FINAL) == total:
            return now
        time.sleep(0.25)
    raise TimeoutError(f"not settled after {timeout}s: {counts(db)}")


def start(tg: FakeTelegramServer, workdir: Path, name: str, recipients: int, **env: str) -> tuple[Bot, Path, list]:
    db = workdir / f"{name}.db"
    chats = roster(db, recipients)
    bot = Bot(tg, db)
    bot.env.update(env)
    bot.start()
    tg.wait_for_sync(lambda: tg.requests("getUpdates"), timeout=30)
    text_file = workdir / f"{name}.txt"
    text_file.write_text(TEXT, encoding="utf-8")
    bot.send_notice(text_file)
    return bot, db, chats


def answered(tg: FakeTelegramServer, user: int) -> float | None:
    messages = [m for m in tg.sent_messages(user) if "（45）" in (m.plain_text or "")]
    return messages[0].at if messages else None


def scenario_late(tg: FakeTelegramServer, workdir: Path, _recipients: int) -> bool:
    tg.answer_late("sendMessage", 3.0)
    stretch_ends = time.monotonic() + 10
    bot, db, chats = start(tg, workdir, "late", 60, CPPCC_READ_TIMEOUT="2")
    threading.Timer(max(0.0, stretch_ends - time.monotonic()), tg.answer_late, ("sendMessage", 0)).start()
    final = settled(db, 60, timeout=180)
    bot.stop()
    copies = Counter(m.chat_id for m in tg.sent_messages() if m.chat_id in set(chats))
    duplicates = sum(n - 1 for n in copies.values())
    ok = set(copies) == set(chats) and max(copies.values()) <= 2
    print(
        f"late: {len(copies)}/60 reached, max copies {max(copies.values())}, duplicates {duplicates}, "
        f"rows {dict(final)} -> {'OK' if ok else 'MISSED'}"
    )
    return ok


def scenario_outage(tg: FakeTelegramServer, workdir: Path, _recipients: int) -> bool:
    tg.fail_next("sendMessage", 502, count=1_000_000)
    bot, db, chats = start(tg, workdir, "outage", 100)
    askers = list(range(700_000, 700_010))
    for i, user in enumerate(askers):
        time.sleep(4 if i else 1)
        tg.inject_message(user, QUESTION)
    time.sleep(max(0.0, 50 - 4 * (len(askers) - 1) - 1))
    tg.reset_faults()
    recovered = time.monotonic()
    final = settled(db, 100, timeout=300)
    tg.wait_for_sync(lambda: all(answered(tg, u) for u in askers), timeout=120)
    bot.stop()
    late = max(answered(tg, u) for u in askers) - recovered
    copies = Counter(m.chat_id for m in tg.sent_messages() if m.chat_id in set(chats))
    ok = final.get("sent") == 100 and not final.get("failed") and late <= 60 and set(copies.values()) == {1}
    print(
        f"outage: rows {dict(final)}, copies {dict(Counter(copies.values()))}, last question answered "
        f"{late:.1f} s after recovery, notice done {time.monotonic() - recovered:.1f} s after -> "
        f"{'OK' if ok else 'MISSED'}"
    )
    return ok


def scenario_load(tg: FakeTelegramServer, workdir: Path, _recipients: int) -> bool:
    tg.enforce_limits(global_per_sec=30, per_chat_per_sec=1)
    bot, db, chats = start(tg, workdir, "load", 1000)
    tg.wait_for_sync(lambda: any(tg.sent_messages(c) for c in chats), timeout=30)
    first = min(m.at for m in tg.sent_messages() if m.chat_id in set(chats))
    askers = list(range(800_000, 800_200))
    asked = time.monotonic()
    for user in askers:
        tg.inject_message(user, QUESTION)
    tg.wait_for_sync(lambda: all(answered(tg, u) for u in askers), timeout=120)
    latencies = sorted(answered(tg, u) - asked for u in askers)
    final = settled(db, 1000, timeout=300)
    last = max(m.at for m in tg.sent_messages() if m.chat_id in set(chats))
    bot.stop()
    p50, p90 = statistics.median(latencies), latencies[int(0.9 * len(latencies)) - 1]
    took, limit = last - first, 1000 / 25 * 1.2
    ok = tg.stats["429"] == 0 and p90 < 10 and took <= limit and final.get("sent") == 1000
    print(
        f"load: 429s {tg.stats['429']}, replies p50 {p50:.1f} s p90 {p90:.1f} s max {latencies[-1]:.1f} s, "
        f"notice {final.get('sent')}/1000 in {took:.1f} s (target ≤ {limit:.0f} s) -> {'OK' if ok else 'MISSED'}"
    )
    return ok


SCENARIOS = {"late": scenario_late, "outage": scenario_outage, "load": scenario_load}


def main() -> int:
    return run_scenarios(SCENARIOS)


if __name__ == "__main__":
    sys.exit(main())
