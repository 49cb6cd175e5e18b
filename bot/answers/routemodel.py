"""A learned second opinion on questions about the asker (knowledge/personal_questions.json).

The cue phrases of routes.py miss the many ways people ask about themselves (替我爸问下，他是委员，
今年履职够不够数; 还差啥没干完，年底要考核了 — without a pronoun). This model is a multinomial naive
Bayes over the character unigrams and bigrams of the normalised question, trained at start-up on
labelled questions (the file's progress / proposals / binding lists) and, as 'other', on the file's
other questions and every example question of examples.json. The engine asks it only when the cue
phrases find no route, and takes its route only at a high posterior (`Thresholds.route_model`);
measured by `benchmarks/bench_route_model.py`.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.config import ConfigError, knowledge_dir, read_json

FILE = "personal_questions.json"
ROUTES = ("progress", "proposals", "binding")
OTHER = "other"


def features(norm: str) -> list[str]:
    """Character unigrams and bigrams of a normalised question's letters and digits (spaces,
    punctuation and emoji left out)."""
    text = "".join(ch for ch in norm if unicodedata.category(ch)[0] in "LN")
    return list(text) + [text[i : i + 2] for i in range(len(text) - 1)]


@dataclass(frozen=True)
class RouteModel:
    log_prior: dict[str, float]
    log_likelihood: dict[str, dict[str, float]]
    log_unseen: dict[str, float]  # a feature never seen with the label (add-one smoothing)

    @classmethod
    def train(cls, labelled: dict[str, Iterable[str]]) -> RouteModel:
        """``labelled``: label → normalised questions."""
        counts = {label: Counter(f for q in questions for f in features(q)) for label, questions in labelled.items()}
        sizes = {label: sum(1 for _ in labelled[label]) for label in labelled}
        vocabulary = len({f for counter in counts.values() for f in counter}) or 1
        total = sum(sizes.values()) or 1
        log_prior, log_likelihood, log_unseen = {}, {}, {}
        for label, counter in counts.items():
            denominator = sum(counter.values()) + vocabulary
            log_prior[label] = math.log(max(sizes[label], 1) / total)
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


def load_labelled(prepare: Callable[[str], str], others: Iterable[str] = (), path: Path | None = None) -> dict:
    """label → prepared questions from the knowledge file (plus ``others`` as 'other'); {} when the
    file is absent. ConfigError names the file and the entry."""
    path = path or knowledge_dir() / FILE
    if not path.exists():
        return {}
    data = read_json(path, ConfigError, "个人问题样本文件")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: 应为对象")
    labelled: dict[str, list[str]] = {}
    for label in (*ROUTES, OTHER):
        questions = data.get(label)
        valid = isinstance(questions, list) and all(isinstance(q, str) and q.strip() for q in questions)
        if not valid or not questions:
            raise ConfigError(f"{path} {label}: 应为非空字符串列表")
        labelled[label] = [prepare(q) for q in questions]
    labelled[OTHER] += [prepare(q) for q in others]
    return labelled
