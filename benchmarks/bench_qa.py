"""Question-answering speed: per-question latency in one process, and cold start of `cppcc-bot ask`.

Run: python benchmarks/bench_qa.py [--rounds 20]
Targets (issues 3, 16): p99 < 2 ms per question, cold start < 1 s on a 2-core machine.
Besides wall-clock times it reports CPU time per answer (time.thread_time): on a machine shared
with other work the wall-clock tail measures the scheduler, the CPU time the engine.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.answers.engine import default_engine  # noqa: E402
from bot.answers.evaluation import load_questions  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--cold", type=int, default=5, help="cold starts of `cppcc-bot ask` to time")
    args = parser.parse_args()

    files = ["questions.jsonl", "questions_holdout.jsonl", "questions_holdout2.jsonl"]
    questions = [q["q"] for name in files for _, q in load_questions(ROOT / "tests" / "data" / name)]
    started = time.perf_counter()
    engine = default_engine()
    engine.answer("预热")
    build = time.perf_counter() - started
    timings, cpu = [], []
    for _ in range(args.rounds):
        for question in questions:
            t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
            engine.answer(question)
            timings.append((time.perf_counter_ns() - t0) / 1e6)
            cpu.append((time.thread_time_ns() - c0) / 1e6)
    print(f"engine build (plan, index, OpenCC): {build * 1000:.0f} ms")
    print(
        f"{len(timings)} answers ({len(questions)} questions x {args.rounds}): "
        f"median {statistics.median(timings):.3f} ms, p99 {percentile(timings, 99):.3f} ms, "
        f"max {max(timings):.3f} ms"
    )
    print(f"CPU time per answer: median {statistics.median(cpu):.3f} ms, p99 {percentile(cpu, 99):.3f} ms")
    cold = []
    for _ in range(args.cold):
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "bot.cli", "ask", "委员活动的钱谁出"], cwd=ROOT, check=True, capture_output=True
        )
        cold.append(time.perf_counter() - t0)
    print(
        f"cold start of `cppcc-bot ask` (process start to answer printed): median {statistics.median(cold):.3f} s, "
        f"max {max(cold):.3f} s over {args.cold} runs"
    )


if __name__ == "__main__":
    main()
