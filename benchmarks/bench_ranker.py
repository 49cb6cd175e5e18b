"""Which BM25: the hand-written ranker in bot/answers/matching.py vs SQLite FTS5's bm25() over the same tokens.

Run: python benchmarks/bench_ranker.py

Both rank the 45 tasks over the same pre-tokenised character unigrams and
bigrams; everything else in the engine (normalisation, intents, thresholds)
is unchanged (the example field is blended into either). FTS5 cannot weight synonym
expansions below the question's own words, so it gets them at full weight. Reported: accuracy on the evaluation
sets and time per ranking call.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import sqlite_utils

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.answers.engine import Engine  # noqa: E402
from bot.answers.evaluation import evaluate, load_questions  # noqa: E402
from bot.answers.matching import Query, TaskIndex  # noqa: E402


class Fts5Index(TaskIndex):
    """Same tokens, ranked by SQLite FTS5 bm25() (k1=1.2, b=0.75)."""

    def __init__(self, plan, vocabulary):
        super().__init__(plan, vocabulary)
        self.db = sqlite_utils.Database(memory=True)
        self.db.execute("CREATE VIRTUAL TABLE docs USING fts5(tokens, tokenize='unicode61')")
        for task in plan.tasks:
            tokens = vocabulary.tokens(f"{task.text} {plan.group(task.group).title}".lower())
            self.db.execute("INSERT INTO docs (rowid, tokens) VALUES (?, ?)", (task.number, " ".join(tokens)))

    def scores(self, query: Query) -> list[float]:
        terms = [t for t in query.tokens if not t.isascii()]
        found = {}
        if terms:
            match = " OR ".join(f'"{t}"' for t in terms)
            rows = self.db.execute("SELECT rowid, -bm25(docs) FROM docs WHERE docs MATCH ?", (match,)).fetchall()
            found = dict(rows)
        return [found.get(task.number, 0.0) for task in self.plan.tasks]


def measure(engine: Engine, name: str) -> None:
    files = ["questions.jsonl", "questions_holdout.jsonl", "questions_holdout2.jsonl"]
    accuracies = []
    for file in files:
        report = evaluate(engine, load_questions(ROOT / "tests" / "data" / file))
        accuracies.append(
            f"{file.split('.')[0]} {report.accuracy():.1%} (paraphrase {report.accuracy('paraphrase'):.1%})"
        )
    questions = [q["q"] for _, q in load_questions(ROOT / "tests" / "data" / files[0])]
    queries = [engine.index.query(engine.vocabulary.rewrite(q.lower())) for q in questions]
    timings = []
    for _ in range(10):
        for query in queries:
            t0 = time.perf_counter_ns()
            engine.index.rank(query)
            timings.append((time.perf_counter_ns() - t0) / 1e6)
    print(f"{name}: " + "; ".join(accuracies))
    print(f"  rank(): median {statistics.median(timings):.3f} ms, max {max(timings):.3f} ms")


def main() -> None:
    engine = Engine.from_knowledge()
    measure(engine, "hand-written BM25")
    engine.index = Fts5Index(engine.plan, engine.vocabulary)
    measure(engine, "SQLite FTS5 bm25()")


if __name__ == "__main__":
    main()
