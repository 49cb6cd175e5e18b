"""How well the example field generalises: each example asked with itself left out of the index.

Run: python benchmarks/bench_examples.py [--weights 0,0.5]
Fold j leaves out the j-th example of every task (as many folds as the longest list), builds the
engine over the rest and asks the left-out ones. Reported per weight of the example field
(`Thresholds.examples`): cited first, offered among candidates, answered out of scope (the gate
looks at the task text alone), other. The examples were written from the plan text, but the
weight and the vocabulary were chosen while looking at earlier splits, so this is a tuned-on
figure (README), not a blind one.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.answers.engine import Engine, Thresholds, default_engine  # noqa: E402
from bot.answers.examples import load_examples  # noqa: E402


def leave_out(weight: float) -> Counter:
    base = default_engine()
    examples = load_examples(base.plan)
    outcome: Counter = Counter()
    for fold in range(max(map(len, examples.values()))):
        kept = {number: tuple(q for i, q in enumerate(qs) if i != fold) for number, qs in examples.items()}
        engine = Engine(
            base.plan,
            base.vocabulary,
            base.messages,
            base.cues,
            Thresholds(examples=weight),
            examples=kept,
            unit_phrases=base.units.phrases,
        )
        for number, questions in examples.items():
            if fold >= len(questions):
                continue
            answer = engine.answer(questions[fold])
            if answer.items and answer.items[0] == number:
                outcome["first"] += 1
            elif number in answer.items:
                outcome["offered"] += 1
            elif answer.intent == "out_of_scope":
                outcome["out_of_scope"] += 1
            else:
                outcome["other"] += 1
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", default="0,0.5")
    args = parser.parse_args()
    for weight in (float(w) for w in args.weights.split(",")):
        outcome = leave_out(weight)
        total = sum(outcome.values())
        print(
            f"weight {weight}: {total} examples left out in turn · cited first {outcome['first']} "
            f"({outcome['first'] / total:.1%}) · offered {outcome['offered']} · out of scope on the task "
            f"text {outcome['out_of_scope']} · other {outcome['other']}"
        )


if __name__ == "__main__":
    main()
