"""The learned scope model (bot/answers/learned.py), each evaluation set left out in turn.

Run: python benchmarks/bench_scope_model.py [--thresholds 0.9,0.95,0.99,0.995]
For each set of
tests/data/questions*.jsonl the model is trained on knowledge/labelled_questions.json without that
set's questions (and on the example questions), the way a new blind set meets it, and the engine
answers the set twice: without the scope model and with it at each threshold. Reported per set and
in total: out-of-scope questions the model reads as such on its own (what it may catch of kinds no
rule knows yet); out-of-scope questions the engine alone cites a task for, and how many of them the
model turns into the honest answer; questions the engine alone answers right with a task on the
ranking or a unit's tasks that the model turns away (it still names the task as related). The
engine's rules were tuned on these sets, so the first figure is low by construction; the figures
that matter are what the model catches on a set it has not seen and what it costs on right answers.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.answers.engine import default_engine  # noqa: E402
from bot.answers.evaluation import is_correct, load_questions, resolve  # noqa: E402
from bot.answers.examples import load_examples  # noqa: E402
from bot.answers.learned import NaiveBayes, load_labelled, scope_training  # noqa: E402
from bot.answers.normalize import normalize  # noqa: E402

RANKED = ("topic", "candidates", "numbers", "unit")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--thresholds", default="0.9,0.95,0.99,0.995")
    args = parser.parse_args()
    thresholds = [float(t) for t in args.thresholds.split(",")]
    engine = default_engine()
    prepare = lambda q: engine.vocabulary.rewrite(normalize(q))  # noqa: E731
    examples = [prepare(q) for qs in load_examples(engine.plan).values() for q in qs]
    labelled = load_labelled(prepare)
    totals = {t: [0, 0, 0, 0, 0, 0] for t in thresholds}
    for path in sorted((ROOT / "tests" / "data").glob("questions*.jsonl")):
        items = [resolve(item, engine.plan, line) for line, item in load_questions(path)]
        held = {prepare(item["q"]) for item in items}
        data = {label: [q for q in questions if q not in held] for label, questions in labelled.items()}
        model = NaiveBayes.train(scope_training(data, examples))
        engine.scope_model = None
        alone = [engine.answer(item["q"]) for item in items]
        engine.scope_model = model
        row = []
        for threshold in thresholds:
            engine.t = replace(engine.t, scope_model=threshold)
            oos = read = cited = caught = right = lost = 0
            for item, before in zip(items, alone, strict=True):
                after = engine.answer(item["q"])
                if item["intent"] == "out_of_scope":
                    oos += 1
                    read += model.out_of_scope(prepare(item["q"]), threshold)
                    cited += bool(before.items)
                    caught += bool(before.items) and not after.items
                elif before.intent in RANKED and is_correct(item, before):
                    right += 1
                    lost += not is_correct(item, after)
            totals[threshold] = [
                a + b for a, b in zip(totals[threshold], (oos, read, cited, caught, right, lost), strict=True)
            ]
            row.append(f"{threshold}: reads {read}/{oos}, catches {caught}/{cited} cited, loses {lost}/{right}")
        print(f"{path.name}: " + "; ".join(row))
    for threshold, (oos, read, cited, caught, right, lost) in totals.items():
        print(
            f"total at {threshold}: of {oos} out-of-scope questions the model reads {read} as such; the engine "
            f"alone cites {cited}, the model catches {caught}; of {right} right answers on the ranking it turns "
            f"away {lost}"
        )


if __name__ == "__main__":
    main()
