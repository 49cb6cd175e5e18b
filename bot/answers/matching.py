"""Ranking questions against the plan's tasks, and finding unit names in text.

Tasks are ranked with BM25 over character unigrams and bigrams (Chinese is not
segmented; bigrams carry most of the meaning, unigrams give typo tolerance).
Before ranking, a question is rewritten (input-method slips, misleading colloquialisms), stripped of
question words and expanded with domain synonyms from knowledge/synonyms.json.
Unit names are found by exact alias match first and rapidfuzz second.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from bot.answers.unitphrases import UnitPhrases
from bot.config import knowledge_dir, read_json
from bot.plan.model import Plan, Task

_DIGITS = dict(zip("一二两三四五六七八九", "1223456789", strict=True))  # the plan writes 1次, 1遍
_WORD_RE = re.compile(r"[\u3400-\u9fff]+|[a-z0-9+]+")
_SENTENCE_RE = re.compile(r"[^。；;!?！？]+[。；;!?！？]?")


class VocabularyError(ValueError):
    """knowledge/synonyms.json is malformed."""


@dataclass(frozen=True)
class Vocabulary:
    synonyms: dict[str, tuple[str, ...]]
    rewrites: dict[str, str]
    question_phrases: tuple[str, ...]
    stop_chars: frozenset[str]

    @classmethod
    def load(cls, path: Path | None = None) -> Vocabulary:
        path = path or knowledge_dir() / "synonyms.json"
        data = read_json(path, VocabularyError, "同义词文件")
        return cls.from_dict(data, str(path))

    @classmethod
    def from_dict(cls, data: dict, where: str = "synonyms.json") -> Vocabulary:
        def strings(value, field: str) -> list[str]:
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise VocabularyError(f"{where} {field}: 应为非空字符串列表")
            return value

        synonyms = data.get("synonyms")
        rewrites = data.get("rewrites")
        if not isinstance(synonyms, dict) or not isinstance(rewrites, dict):
            raise VocabularyError(f"{where}: 缺少 synonyms 或 rewrites 对象")
        for key, value in rewrites.items():
            if not isinstance(value, str) or not key:
                raise VocabularyError(f"{where} rewrites[{key!r}]: 应为字符串")
        phrases = strings(data.get("question_phrases"), "question_phrases")
        return cls(
            synonyms={k: tuple(strings(v, f"synonyms[{k!r}]")) for k, v in synonyms.items()},
            rewrites=dict(rewrites),
            question_phrases=tuple(sorted(phrases, key=len, reverse=True)),
            stop_chars=frozenset(data.get("stop_chars", "")),
        )

    def rewrite(self, norm: str) -> str:
        for wrong, right in self.rewrites.items():
            norm = norm.replace(wrong, right)
        return norm

    def strip_question(self, norm: str) -> str:
        """Remove question words; removed spans become spaces so no false bigram forms."""
        for phrase in self.question_phrases:
            norm = norm.replace(phrase, " ")
        return norm

    def expansions(self, norm: str) -> list[str]:
        return [word for key, words in self.synonyms.items() if key in norm for word in words]

    def tokens(self, text: str) -> list[str]:
        """Character unigrams (minus stop characters) and bigrams within each run of word characters."""
        out: list[str] = []
        for run in _WORD_RE.findall(text):
            if run.isascii():
                out.append(run)
                continue
            out.extend(ch for ch in run if ch not in self.stop_chars)
            out.extend(
                run[i : i + 2]
                for i in range(len(run) - 1)
                if not (run[i] in self.stop_chars and run[i + 1] in self.stop_chars)
            )
        return out


@dataclass(frozen=True)
class Query:
    text: str  # rewritten, question words removed
    own: tuple[str, ...]
    expanded: tuple[str, ...]

    @property
    def tokens(self) -> tuple[str, ...]:
        return self.own + self.expanded


@dataclass(frozen=True)
class Ranked:
    task: Task
    score: float


class BM25:
    """Okapi BM25 over documents given as token lists (weighted query tokens), with postings
    precomputed so a question costs one lookup per token."""

    def __init__(self, docs: list[list[str]], k1: float = 1.2, b: float = 0.75):
        self.size = len(docs)
        average = max(1.0, sum(len(doc) for doc in docs) / max(1, len(docs)))
        tfs = [Counter(doc) for doc in docs]
        df = Counter(token for tf in tfs for token in tf)
        self.idf = {token: math.log(1 + (self.size - count + 0.5) / (count + 0.5)) for token, count in df.items()}
        self._postings: dict[str, list[tuple[int, float]]] = {}
        for index, (doc, tf) in enumerate(zip(docs, tfs, strict=True)):
            norm_len = k1 * (1 - b + b * len(doc) / average)
            for token, freq in tf.items():
                part = self.idf[token] * freq * (k1 + 1) / (freq + norm_len)
                self._postings.setdefault(token, []).append((index, part))

    def scores(self, weighted: list[tuple[str, float]]) -> list[float]:
        out = [0.0] * self.size
        for token, weight in weighted:
            for index, part in self._postings.get(token, ()):
                out[index] += weight * part
        return out


def spread(values: list[float]) -> tuple[float, float]:
    """Mean and population standard deviation (floats; statistics.pstdev is exact and slow)."""
    if not values:
        return 0.0, 0.0
    mean = sum(values) / len(values)
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def ranked(tasks: list[Task], scores: list[float]) -> list[Ranked]:
    """Tasks by descending score (ties: lower number first)."""
    out = [Ranked(task, score) for task, score in zip(tasks, scores, strict=True)]
    out.sort(key=lambda r: (-r.score, r.task.number))
    return out


class TaskIndex:
    """BM25 over the tasks (text plus group title)."""

    def __init__(
        self, plan: Plan, vocabulary: Vocabulary, k1: float = 1.2, b: float = 0.75, expansion_weight: float = 0.6
    ):
        self.plan = plan
        self.vocabulary = vocabulary
        self.expansion_weight = expansion_weight
        docs = [vocabulary.tokens(f"{t.text} {plan.group(t.group).title}".lower()) for t in plan.tasks]
        self.bm25 = BM25(docs, k1, b)
        self.idf = self.bm25.idf
        self._explaining = {t.number: " ".join((t.text, *t.units_printed)) for t in plan.tasks}

    def query(self, norm: str) -> Query:
        """Tokens of a normalised question: its own, and those added by synonyms."""
        vocab = self.vocabulary
        stripped = vocab.strip_question(vocab.rewrite(norm))
        own = list(dict.fromkeys(vocab.tokens(stripped)))
        expanded = [t for t in dict.fromkeys(vocab.tokens(" ".join(vocab.expansions(stripped)))) if t not in own]
        return Query(stripped, tuple(own), tuple(expanded))

    def weighted(self, query: Query) -> list[tuple[str, float]]:
        return [(t, 1.0) for t in query.own] + [(t, self.expansion_weight) for t in query.expanded]

    def scores(self, query: Query) -> list[float]:
        """BM25 score of every task, in plan order."""
        return self.bm25.scores(self.weighted(query))

    def rank(self, query: Query) -> list[Ranked]:
        return ranked(self.plan.tasks, self.scores(query))

    def explained(self, query: Query, task: Task) -> float:
        """Share of the question's content characters found in the task — its text and responsible
        units — directly or via a synonym."""
        chars = [t for t in query.own if len(t) == 1 and not t.isascii()]
        if not chars:
            return 0.0
        text = self._explaining[task.number]
        via_synonym = {
            ch
            for key, words in self.vocabulary.synonyms.items()
            if key in query.text and any(word in text for word in words)
            for ch in key
        }
        return sum(1 for ch in chars if ch in text or ch in via_synonym or _DIGITS.get(ch, ch) in text) / len(chars)

    def best_sentence(self, task: Task, query: Query) -> str:
        """The sentence of a task that shares most with the question (for short answers)."""
        sentences = [s.strip() for s in _SENTENCE_RE.findall(task.text) if s.strip()]
        wanted = set(query.tokens)

        def overlap(sentence: str) -> float:
            return sum(self.idf.get(t, 0.0) for t in set(self.vocabulary.tokens(sentence)) & wanted)

        return max(sentences, key=overlap) if sentences else task.text


@dataclass(frozen=True)
class UnitHit:
    unit_id: str
    name: str
    start: int
    end: int
    exact: bool


class UnitMatcher:
    """Finds a responsible unit named in a question: exact name first, then one typo.

    Names are the catalogue's plus the colloquial ones of knowledge/unit_phrases.json; a clipped
    form (纪检, 宣传) is found before an appended word (那头, 上) first and bare last (the engine
    then accepts it only when the rest of the question asks what the unit does), and a hit takes
    in the appended word that follows it (纪委那边). The typo-tolerant pass (rapidfuzz Levenshtein
    ≤ 1) looks only at windows ending in a unit-name suffix (部, 局, 办 …) that matches the
    name's own suffix, so 人设局 finds 人社局 but ordinary words are left alone.
    """

    def __init__(self, plan: Plan, phrases: UnitPhrases | None = None, min_fuzzy_length: int = 3):
        self.plan = plan
        self.phrases = phrases or UnitPhrases({}, {}, ())
        self.names = {name.lower(): uid for uid, unit in plan.catalogue.units.items() for name in unit.names}
        self.names.update(self.phrases.aliases)
        self._by_length = sorted(self.names, key=len, reverse=True)
        self._clipped = sorted(self.phrases.clipped, key=len, reverse=True)
        self._by_suffix: dict[str, list[str]] = {}
        for name in self._by_length:
            if len(name) >= min_fuzzy_length:
                self._by_suffix.setdefault(name[-1], []).append(name)

    def find(self, norm: str) -> UnitHit | None:
        hit = self._exact(norm)
        if hit is not None and hit.exact:
            return hit
        for end, ch in enumerate(norm, start=1):
            for name in self._by_suffix.get(ch, ()):
                start = end - len(name)
                if start >= 0 and Levenshtein.distance(norm[start:end], name, score_cutoff=1) <= 1:
                    return self._with_appended(norm, UnitHit(self.names[name], name, start, end, False))
        return hit  # a bare clipped form (部门, 纪检), if any, after a name with a typo (人设局这个部门)

    def without(self, norm: str, unit_id: str) -> str:
        """``norm`` with every name and clipped form of the unit blanked out (same length, so
        positions still refer to ``norm``)."""
        forms = [n for n in self._by_length if self.names[n] == unit_id]
        forms += [f for f in self._clipped if self.phrases.clipped[f] == unit_id]
        for form in sorted(forms, key=len, reverse=True):
            norm = norm.replace(form, " " * len(form))
        return norm

    def others(self, norm: str, unit_id: str, limit: int = 3) -> list[UnitHit]:
        """Up to ``limit`` other units named by full name in ``norm`` besides ``unit_id``."""
        hits: list[UnitHit] = []
        rest = self.without(norm, unit_id)
        while len(hits) < limit:
            other = self.find(rest)
            if other is None or not other.exact:
                break
            hits.append(other)
            rest = self.without(rest, other.unit_id)
        return hits

    def _exact(self, norm: str) -> UnitHit | None:
        for name in self._by_length:
            start = norm.find(name)
            if start >= 0 and len(name) >= 2:
                return self._with_appended(norm, UnitHit(self.names[name], name, start, start + len(name), True))
        bare: UnitHit | None = None
        for form in self._clipped:
            start = norm.find(form)
            while start >= 0:
                extra = self.phrases.appended_at(norm, start + len(form))
                if extra:
                    return UnitHit(self.phrases.clipped[form], form, start, start + len(form) + extra, True)
                bare = bare or UnitHit(self.phrases.clipped[form], form, start, start + len(form), False)
                start = norm.find(form, start + 1)
        return bare

    def _with_appended(self, norm: str, hit: UnitHit) -> UnitHit:
        extra = self.phrases.appended_at(norm, hit.end)
        return UnitHit(hit.unit_id, hit.name, hit.start, hit.end + extra, hit.exact) if extra else hit
