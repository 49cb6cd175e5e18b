"""Learned second opinions for the answer engine (knowledge/labelled_questions.json).

The cue phrases of routes.py miss many ways people ask about themselves (替我爸问下，他是委员，
今年履职够不够数; 还差啥没干完，年底要考核了 — without a pronoun), and the out-of-scope topics of
intents.json miss questions the plan does not settle that no one has asked before (全国两会今年开了
几天). Both models are a multinomial naive Bayes over the character unigrams and bigrams of the
normalised question, trained at start-up on the labelled questions of the tuned evaluation sets and
the example questions of examples.json:

- the route model: progress / proposals / binding against every other question; the engine asks
  it only when the cue phrases find no route (`Thresholds.route_model`);
- the scope model: 'plan' against 'out_of_scope'; the engine asks it only before naming a task as
  the answer on the ranking or a unit's tasks, and at a high posterior (`Thresholds.scope_model`)
  answers that the plan does not settle the question, naming the best task as related when it is
  in scope on the text. It never makes a question look in scope.

Measured by `benchmarks/bench_route_model.py` and `benchmarks/bench_scope_model.py`.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from bot.config import ConfigError, knowledge_dir, read_json

FILE = "labelled_questions.json"
ROUTES = ("progress", "proposals", "binding")
PLAN, OUT_OF_SCOPE = "plan", "out_of_scope"
LABELS = (*ROUTES, PLAN, OUT_OF_SCOPE)
OTHER = "other"  # the route model's label for every question not about the asker
T = TypeVar("T")  # a question or its features


def features(norm: str) -> list[str]:
    """Character unigrams and bigrams of a normalised question's letters and digits (spaces,
    punctuation and emoji left out)."""
    text = "".join(ch for ch in norm if unicodedata.category(ch)[0] in "LN")
    return list(text) + [text[i : i + 2] for i in range(len(text) - 1)]


@dataclass(frozen=True)
class NaiveBayes:
    log_prior: dict[str, float]
    log_likelihood: dict[str, dict[str, float]]
    log_unseen: dict[str, float]  # a feature never seen with the label (add-one smoothing)

    @classmethod
    def train(cls, labelled: dict[str, Iterable[str]]) -> NaiveBayes:
        """``labelled``: label → normalised questions."""
        return cls.from_features({label: [features(q) for q in questions] for label, questions in labelled.items()})

    @classmethod
    def from_features(cls, labelled: dict[str, list[list[str]]]) -> NaiveBayes:
        """``labelled``: label → each question's features (two models trained on the same questions
        extract them once)."""
        counts = {label: Counter(f for found in questions for f in found) for label, questions in labelled.items()}
        vocabulary = len({f for counter in counts.values() for f in counter}) or 1
        total = sum(len(questions) for questions in labelled.values()) or 1
        log_prior, log_likelihood, log_unseen = {}, {}, {}
        for label, counter in counts.items():
            denominator = sum(counter.values()) + vocabulary
            log_prior[label] = math.log(max(len(labelled[label]), 1) / total)
            log_likelihood[label] = {f: math.log((n + 1) / denominator) for f, n in counter.items()}
            log_unseen[label] = math.log(1 / denominator)
        return cls(log_prior, log_likelihood, log_unseen)

    def posterior(self, norm: str) -> dict[str, float]:
        found = features(norm)
        scores = {
            label: prior + sum(self.log_likelihood[label].get(f, self.log_unseen[label]) for f in found)
            for label, prior in self.log_prior.items()
        }
        top = max(scores.values())
        weights = {label: math.exp(score - top) for label, score in scores.items()}
        total = sum(weights.values())
        return {label: weight / total for label, weight in weights.items()}

    def route(self, norm: str, threshold: float) -> str | None:
        """A personal route when its posterior reaches ``threshold``, else None."""
        posterior = self.posterior(norm)
        best = max(ROUTES, key=lambda label: posterior.get(label, 0.0))
        return best if posterior.get(best, 0.0) >= threshold else None

    def out_of_scope(self, norm: str, threshold: float) -> bool:
        """The question reads as one the plan does not settle, at a posterior ≥ ``threshold``."""
        return self.posterior(norm).get(OUT_OF_SCOPE, 0.0) >= threshold


def load_labelled(prepare: Callable[[str], T], path: Path | None = None) -> dict[str, list[T]]:
    """label → prepared questions of the knowledge file (normalised, or their features); {} when
    the file is absent. ConfigError names the file and the entry."""
    path = path or knowledge_dir() / FILE
    if not path.exists():
        return {}
    data = read_json(path, ConfigError, "问题样本文件")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: 应为对象")
    labelled: dict[str, list[str]] = {}
    for label in LABELS:
        questions = data.get(label)
        valid = isinstance(questions, list) and all(isinstance(q, str) and q.strip() for q in questions)
        if not valid or not questions:
            raise ConfigError(f"{path} {label}: 应为非空字符串列表")
        labelled[label] = [prepare(q) for q in questions]
    return labelled


def route_training(labelled: dict[str, list[T]], examples: Iterable[T] = ()) -> dict[str, list[T]]:
    """The route model's data: the personal routes against every other question (questions or
    their features)."""
    return {**{r: labelled[r] for r in ROUTES}, OTHER: [*labelled[PLAN], *labelled[OUT_OF_SCOPE], *examples]}


def scope_training(labelled: dict[str, list[T]], examples: Iterable[T] = ()) -> dict[str, list[T]]:
    """The scope model's data: questions about the plan (with the example questions) against
    questions it does not settle."""
    return {PLAN: [*labelled[PLAN], *examples], OUT_OF_SCOPE: labelled[OUT_OF_SCOPE]}
