"""The learned route model (bot/answers/learned.py), cross-validated on its own labelled data.

Run: python benchmarks/bench_route_model.py [--folds 5] [--thresholds 0.8,0.9,0.95,0.99]
Each fold leaves every k-th labelled question (knowledge/labelled_questions.json: the personal
routes against 'other' = its plan and out-of-scope questions and the example questions) out of
training and asks the engine the left-out ones. Reported per threshold, and with no model (the cue
phrases alone): questions about the asker routed right, routed to the wrong screen, missed; other
questions wrongly taken as about the asker; and how many questions about the asker the model finds
on its own (what it adds for phrasings the cue phrases do not know, as those were written for these
very questions). The labelled questions come from tuned-on sets, so this measures generalisation
within them, not a blind figure.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.answers.engine import default_engine  # noqa: E402
from bot.answers.examples import load_examples  # noqa: E402
from bot.answers.learned import OTHER, NaiveBayes, load_labelled, route_training  # noqa: E402
from bot.answers.normalize import normalize  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--thresholds", default="0.8,0.9,0.95,0.99")
    parser.add_argument("--sure", type=float, help="Thresholds.route_model_sure (default: the engine's)")
    args = parser.parse_args()
    engine = default_engine()
    if args.sure is not None:
        engine.t = replace(engine.t, route_model_sure=args.sure)
    examples = load_examples(engine.plan)
    raw = route_training(load_labelled(lambda q: q), (q for qs in examples.values() for q in qs))
    rows = [(label, q) for label, questions in raw.items() for q in questions]
    prepare = lambda q: engine.vocabulary.rewrite(normalize(q))  # noqa: E731
    for threshold in [None, *(float(t) for t in args.thresholds.split(","))]:
        outcome: Counter = Counter()
        for fold in range(args.folds):
            train: dict[str, list[str]] = {}
            for i, (label, q) in enumerate(rows):
                if i % args.folds != fold:
                    train.setdefault(label, []).append(prepare(q))
            engine.route_model = NaiveBayes.train(train) if threshold is not None else None
            engine.t = replace(engine.t, route_model=threshold or 1.0)
            for i, (label, q) in enumerate(rows):
                if i % args.folds != fold:
                    continue
                got = engine.answer(q).route
                if label != OTHER and engine.route_model is not None:
                    # the model on its own (as for a phrasing no cue phrase knows)
                    norm = prepare(q)
                    alone = engine.route_model.route(norm, threshold) if engine._model_threshold(norm) else None
                    outcome["model alone right"] += alone == label
                if label == OTHER:
                    outcome["other wrongly personal"] += got is not None
                    outcome["other"] += 1
                else:
                    outcome["personal"] += 1
                    outcome["right" if got == label else "missed" if got is None else "wrong screen"] += 1
        name = "cue phrases alone" if threshold is None else f"with the model at {threshold}"
        print(
            f"{name}: about the asker {outcome['right']}/{outcome['personal']} right, {outcome['wrong screen']} "
            f"to the wrong screen, {outcome['missed']} missed; others taken as personal "
            f"{outcome['other wrongly personal']}/{outcome['other']}"
            + (f"; the model alone finds {outcome['model alone right']}/{outcome['personal']}" if threshold else "")
        )


if __name__ == "__main__":
    main()
