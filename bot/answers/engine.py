"""The question-answering engine: normalised question → intent → answer.

Transport-free: the Telegram handlers, `cppcc-bot ask`, `cppcc-bot chat` and
the tests all call :meth:`Engine.answer`. Replies are plain text (the
transport escapes them); answers cite tasks as （33） with their units.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cache

from bot.answers.examples import ExampleIndex, load_examples
from bot.answers.learned import NaiveBayes, features, load_labelled, route_training, scope_training
from bot.answers.matching import Query, Ranked, TaskIndex, UnitHit, UnitMatcher, Vocabulary, ranked, spread
from bot.answers.normalize import extract_task_number, is_meaningless, normalize
from bot.answers.routes import BEST, BINDING, PersonalCues, ScopeTopic, ScopeTopics
from bot.answers.unitphrases import UnitPhrases
from bot.config import ConfigError, knowledge_dir, read_json
from bot.people.duties import duty_lines, member_obligations
from bot.plan.model import Plan, Task, default_plan

MAX_QUESTION = 500  # characters considered; longer text is cut (and the reply says so)
SNIPPET = 46  # characters of a task shown in lists
_JOINED = re.compile(r"和|与|跟|及|、|还是|同|或")
_CLAUSE = re.compile(r"[,，。.?？!！;；:：\s]+")


@dataclass
class Answer:
    reply: str
    intent: str  # task | unit | topic | duties | numbers | greeting | out_of_scope | candidates | empty | personal
    items: list[int] = field(default_factory=list)
    units: list[str] = field(default_factory=list)
    score: float = 0.0
    unit: str | None = None  # the unit id, for the unit intent
    personal: bool = False  # includes the caller's own data (their duty progress)
    route: str | None = None  # personal intent: progress | proposals | binding (routes.py)
    related: list[int] = field(default_factory=list)  # out of scope: named as related, never as the answer

    def to_json(self) -> dict:
        data = asdict(self)
        for key in ("unit", "personal", "route", "related"):
            if not data[key]:
                del data[key]
        return data


@dataclass(frozen=True)
class Thresholds:
    """Tuned on tests/data/questions.jsonl; see README (question answering)."""

    weak: float = 7.0  # below: not confident enough to name a task
    explained: float = 0.45  # share of the question's characters the best task explains
    tie: float = 0.88  # second best within this share of the best → ask which
    numbers_margin: float = 0.6  # a quantified task must score this share of the best
    examples: float = 0.5  # weight of the z-scored example score blended into the task-text score
    # a task that stands out (score ≥ dominant × weak and ≥ lead × the runner-up) needs to explain
    # only this share of the question: long colloquial questions carry many words no task has
    dominant: float = 2.5
    lead: float = 1.6
    dominant_explained: float = 0.35
    route_model: float = 0.9  # posterior the learned route model needs (learned.py)
    route_model_sure: float = 0.999  # … when the cue phrases read the question as about the rules or duties
    scope_model: float = 0.99  # posterior of 'out_of_scope' at which the scope model overrules a ranking


MESSAGE_KEYS = ("welcome", "help", "examples", "greeting", "out_of_scope", "empty", "too_long", "no_such_task")
MESSAGE_KEYS += ("unknown_unit", "candidates", "task_more", "duties_bind_hint", "error", "flood", "non_text")
MESSAGE_KEYS += ("personal_progress", "personal_proposals", "personal_binding", "out_of_scope_topic")
MESSAGE_KEYS += ("out_of_scope_related", "out_of_scope_unsettled")
INTENT_KEYS = ("greeting", "greeting_filler", "duty_phrases", "duty_period", "duty_need", "duty_subject")
INTENT_KEYS += ("not_duty", "duty_ignore", "numbers", "numbers_vague", "numbers_period", "asks_who")
INTENT_KEYS += ("personal_anchor", "personal_status", "personal_lookup")
INTENT_KEYS += ("unit_question", "unit_generic", "unit_ask", "unit_ask_loose", "unit_wh", "unit_matter")


def _load_json(name: str, required: tuple[str, ...]) -> dict:
    """A knowledge file that must be a JSON object with ``required`` keys (ConfigError otherwise)."""
    path = knowledge_dir() / name
    data = read_json(path, ConfigError, "数据文件")
    missing = [key for key in required if not isinstance(data, dict) or key not in data]
    if missing:
        raise ConfigError(f"{path}: 缺少字段 {', '.join(missing)}")
    return data


def _checked_cues(intents: dict, where: str = "intents.json") -> dict:
    """The intent cues, each a non-empty list of phrases (unit_generic: a string of characters);
    ConfigError names the file and the key."""
    for key in INTENT_KEYS:
        value = intents.get(key)
        if key == "unit_generic":
            valid, wanted = isinstance(value, str) and bool(value), "非空字符串"
        else:
            valid = isinstance(value, list) and bool(value) and all(isinstance(p, str) and p for p in value)
            wanted = "非空字符串列表"
        if not valid:
            raise ConfigError(f"{where} {key}: 应为{wanted}")
    return intents


class Engine:
    def __init__(
        self,
        plan: Plan,
        vocabulary: Vocabulary,
        messages: dict,
        intents: dict,
        thresholds: Thresholds | None = None,
        examples: dict[int, tuple[str, ...]] | None = None,
        unit_phrases: UnitPhrases | None = None,
        route_model: NaiveBayes | None = None,
        scope_model: NaiveBayes | None = None,
    ):
        self.plan = plan
        self.vocabulary = vocabulary
        self.messages = messages
        self.cues = _checked_cues(intents)
        self.t = thresholds or Thresholds()
        self.index = TaskIndex(plan, vocabulary)
        self.examples = ExampleIndex.build(plan, vocabulary, examples or {}, self.t.examples)
        self.units = UnitMatcher(plan, unit_phrases)
        self.personal_cues = PersonalCues.from_intents(intents)
        self.route_model = route_model
        self.scope_model = scope_model
        appended = unit_phrases.appended if unit_phrases else ()
        asking = (*intents["unit_question"], *intents["unit_ask"], *intents["unit_ask_loose"], *appended)
        self._unit_question_phrases = sorted(set(asking), key=lambda p: (-len(p), p))
        doc_number = plan.document.get("doc_number")
        self.scope = ScopeTopics.from_intents(intents, {task.number for task in plan.tasks}, doc_number)
        self._topics: dict[str, ScopeTopic | None] = {}  # this question's topic look-ups (see _topic)
        self._quantified = sorted({o.task for o in plan.obligations})

    @classmethod
    def from_knowledge(cls) -> Engine:
        plan = default_plan()
        vocabulary = Vocabulary.load()
        examples = load_examples(plan)
        prepare = lambda q: features(vocabulary.rewrite(normalize(q)))  # noqa: E731
        asked = [prepare(q) for questions in examples.values() for q in questions]
        labelled = load_labelled(prepare)  # each question's features, extracted once for both models
        return cls(
            plan,
            vocabulary,
            _load_json("messages.json", MESSAGE_KEYS),
            _load_json("intents.json", INTENT_KEYS),
            examples=examples,
            unit_phrases=UnitPhrases.load(plan.catalogue, plan.document.get("doc_number")),
            route_model=NaiveBayes.from_features(route_training(labelled, asked)) if labelled else None,
            scope_model=NaiveBayes.from_features(scope_training(labelled, asked)) if labelled else None,
        )

    # ---- helpers -------------------------------------------------------

    def text(self, key: str, **values) -> str:
        examples = "\n".join(f"· {q}" for q in self.messages["examples"][:3])
        return self.messages[key].format(examples=examples, doc_number=self.plan.document.get("doc_number"), **values)

    def _units_line(self, task: Task) -> str:
        return "、".join(task.units_printed)

    def _units_of(self, task: Task) -> list[str]:
        return list(task.units_printed)

    def _topic(self, text: str) -> ScopeTopic | None:
        """The out-of-scope topic ``text`` matches; one question asks up to four times (routing, the
        unit checks, the answer), so the look-ups are kept until the next question."""
        if text not in self._topics:
            self._topics[text] = self.scope.find(text)
        return self._topics[text]

    def _has(self, norm: str, cue: str) -> bool:
        return any(phrase in norm for phrase in self.cues[cue])

    @staticmethod
    def _snippet(text: str, size: int = SNIPPET) -> str:
        return text if len(text) <= size else text[: size - 1] + "…"

    # ---- entry point ---------------------------------------------------

    def answer(self, question: str, personal: Callable[[], str | None] | None = None) -> Answer:
        """Answer one question. ``personal`` returns the caller's own progress text, if known."""
        question = question or ""
        self._topics.clear()
        too_long = len(question) > MAX_QUESTION
        norm = normalize(question[:MAX_QUESTION])
        result = self._answer(norm, personal)
        if too_long:
            result.reply = self.text("too_long", length=len(question), limit=MAX_QUESTION) + "\n\n" + result.reply
        return result

    def personal_route(self, question: str) -> str | None:
        """progress | proposals | binding when ``question`` is about the asker (see routes.py), else None."""
        self._topics.clear()
        norm = normalize((question or "")[:MAX_QUESTION])
        if not norm or is_meaningless(norm):
            return None
        norm = self.vocabulary.rewrite(norm)
        return None if extract_task_number(norm) is not None else self._route(norm)

    def _route(self, norm: str) -> str | None:
        """The personal route, unless the question only asks what a named unit does (帮我查查编办的任务)."""
        route = self.personal_cues.route(norm)
        threshold = self._model_threshold(norm) if route is None and self.route_model is not None else None
        if threshold is not None:
            route = self.route_model.route(norm, threshold)
            if route not in (None, BINDING) and not self._own_record(norm):
                route = None  # 提案提交后多久能收到答复: a question about the rules
        if route in (None, BINDING) or self._unit_question(norm) is None:
            return route
        return None

    def _own_record(self, norm: str) -> bool:
        """A record is the asker's when they say so (我, 俺, 替我妈 …; not 我们) or ask after its state
        (提案答复了没有, 交的提案立了没) rather than a quantity (多久能收到答复)."""
        if self.personal_cues.speaks_for_self(norm):
            return True
        return self._has(norm, "personal_status") and not self._has(norm, "numbers")

    def _model_threshold(self, norm: str) -> float | None:
        """The posterior the learned route model needs, or None when it may not answer: only for a
        question with a personal_anchor word (履职, 提案, 绑 …) that no out-of-scope topic matches;
        a surer one when the cue phrases read it as about every member's duties (我还有几项没完成;
        never with a duty phrase: 年底前我还得完成什么) or as about the rules while the asker asks
        for a look-up (俺今年算不算履职差的，查一下)."""
        if not self._has(norm, "personal_anchor") or self._topic(norm) is not None:
            return None
        if self.personal_cues.asks_rules(norm):
            return self.t.route_model_sure if self._has(norm, "personal_lookup") else None
        if not self._is_duties(norm):
            return self.t.route_model
        return None if self._has(norm, "duty_phrases") else self.t.route_model_sure  # 年底前我还得完成什么

    def _unit_question(self, norm: str) -> str | None:
        """The unit id when the question names a unit and asks what it does: nothing else in it
        (宣传部有啥任务); or a unit_ask phrase and nothing else about a task (我是统战口的联络员，
        麻烦把涉及我们的几条列一下); or a unit_ask phrase in a clause of its own and, elsewhere, a
        guess at one of the unit's own tasks (纪委那边管啥？是不是换届的时候要出意见). A matter in the
        same clause (提案委在引导委员履职方面负责啥) asks about that task."""
        hit = self.units.find(norm)
        if hit is None:
            return None
        if not self.plan.tasks_of_unit(hit.unit_id).all_numbers and self._has(norm, "unit_ask"):
            # 农业农村局算县直部门吧，方案里让我们干啥: a unit the plan gives no task counts itself in a group
            named = [o for o in self.units.others(norm, hit.unit_id) if self.plan.tasks_of_unit(o.unit_id).all_numbers]
            if named:
                return named[0].unit_id
        # an out-of-scope topic outside the unit's name (医保局, 公安局 are no questions about 医保 or
        # 公安) asks for what the plan does not say: the unit's people (各专委会主任都是谁), its office
        # (财政局在哪办公), a case the plan has no rule for (委员被立案调查了，政协这边先干啥)
        unsettled = self._unsettled(norm, hit)
        if self._is_unit_question(norm, hit):
            return None if unsettled else hit.unit_id
        if not hit.exact:
            return None
        unit_id = hit.unit_id
        if self._two_units(norm, hit):
            return None  # 编办和人社局各管啥: one matter, two units
        about = self._rest_about(norm, unit_id)
        own = self.plan.tasks_of_unit(unit_id).all_numbers
        # a bare question word and at most two other characters (县政协党组牵头的事是哪件, 财政局要保障些啥)
        short = len(self._leftover(norm, hit)) <= 2 and self._has(norm, "unit_wh") and not unsettled
        if about is None:
            if unsettled:
                return None
            if self._has(norm, "unit_ask") or self._has(norm, "unit_ask_loose"):
                return unit_id
            return unit_id if short else None
        if short and len(own) == 1:
            # 财政局要保障些啥: the rest reads as another task's word (保障) but the unit's one task explains it
            rest = self.index.query(self._without_unit_words(self._without_hit(norm, hit)))
            if self.index.explained(rest, self.plan.task(own[0])) >= self.t.explained:
                return unit_id
        if about not in own or not self._has(norm, "unit_ask"):
            return None
        if own == [about]:
            return unit_id  # 财政局是不是只管给钱: its one task is the matter asked about
        asking = [c for c in _CLAUSE.split(norm) if self._has(c, "unit_ask")]
        return unit_id if not unsettled and any(self._rest_about(c, unit_id) is None for c in asking) else None

    def _unsettled(self, norm: str, hit: UnitHit) -> bool:
        """An out-of-scope topic matches the question, and not only by a word inside the unit's name
        (医保局 holds 医保; 哪几个专委会 holds the name but asks for a head count)."""
        if self._topic(self._without_hit(norm, hit)) is not None:
            return True
        topic = self._topic(norm)
        return topic is not None and not any(group.search(hit.name) for group in topic.all)

    def _two_units(self, norm: str, hit: UnitHit) -> bool:
        """Two of the units named are joined by 和, 与, 、 … (编办和人社局各管啥) or follow each other
        (县委办政府办得干啥); 专委会的功能型党支部 names one."""
        hits = sorted([hit, *self.units.others(norm, hit.unit_id)], key=lambda h: h.start)
        gaps = (norm[a.end : b.start] for a, b in itertools.pairwise(hits))
        return any(not gap.strip() or _JOINED.search(gap) for gap in gaps)

    def _rest_about(self, norm: str, unit_id: str) -> int | None:
        """The task the question is about (in scope on the task text) once the units named (also
        in passing: 专委会的功能型党支部) and the unit-question words are taken out, or None
        (麻烦把涉及我们的几条列一下)."""
        rest = self.units.without(norm, unit_id)
        for other in self.units.others(norm, unit_id):
            rest = self.units.without(rest, other.unit_id)
        query = self.index.query(self._without_unit_words(rest))
        best = self._best_on_text(self.index.scores(query))
        return best.task.number if self._in_scope(best, query) else None

    def _without_unit_words(self, text: str) -> str:
        for phrase in self._unit_question_phrases:
            text = text.replace(phrase, " ")
        return text

    def _best_on_text(self, text_scores: list[float]) -> Ranked:
        """The best task on the task text alone (the first of equals: the lowest number)."""
        top = max(range(len(text_scores)), key=text_scores.__getitem__)
        return Ranked(self.plan.tasks[top], text_scores[top])

    def _answer(self, norm: str, personal: Callable[[], str | None] | None) -> Answer:
        if not norm or is_meaningless(norm):
            return Answer(self.text("empty"), "empty")
        norm = self.vocabulary.rewrite(norm)
        number = extract_task_number(norm)
        if number is not None:
            return self.task_answer(number)
        route = self._route(norm)
        if route:
            return self.personal_answer(route, personal)
        query = self.index.query(norm)
        weighted = self.index.weighted(query)
        text_scores = self.index.scores(query)
        best = self._best_on_text(text_scores)  # the out-of-scope checks look at the text alone
        if self._is_greeting(norm, best):
            return Answer(self.text("greeting"), "greeting")
        unit_id = self._unit_question(norm)
        if unit_id is not None:
            if self._reads_unsettled(norm):  # 委员被立案调查了，政协这边先干啥
                return self.unsettled_answer(best, query, related=self._in_scope(best, query))
            return self.unit_answer(unit_id)  # before duties: 我是人社局的，要完成哪些任务
        if self._is_duties(norm):
            return self.duties_answer(personal)
        topic = self._topic(norm)
        if topic is not None:
            return self.scope_answer(topic, best, query)
        runner_up = sorted(text_scores)[-2]
        if not self._in_scope(best, query, runner_up) and not self._in_scope(best, self._without_unit(norm), runner_up):
            return Answer(self.text("out_of_scope"), "out_of_scope", score=round(best.score, 3))
        boosts = self.examples.boosts(weighted, spread(text_scores)[1])
        order = ranked(self.plan.tasks, [s + b for s, b in zip(text_scores, boosts, strict=True)])
        best = order[0]
        if self._reads_unsettled(norm):
            return self.unsettled_answer(best, query)  # 全国两会今年开了几天: like no question the plan settles
        margin = self._numbers_margin(norm)
        numbers = self._numbers_answer(order, query, margin) if margin is not None else None
        if numbers:
            return numbers
        close = [r for r in order[1:4] if r.score >= self.t.tie * best.score]
        if close:
            return self.candidates_answer([best, *close])
        return self.topic_answer(best, query)

    # ---- intent tests --------------------------------------------------

    def _in_scope(self, best: Ranked, query: Query, runner_up: float | None = None) -> bool:
        """On the task text alone: the best task scores well and explains most of the question, or
        stands out from the runner-up and explains a good part of it."""
        if best.score < self.t.weak:
            return False
        explained = self.index.explained(query, best.task)
        if explained >= self.t.explained:
            return True
        stands_out = runner_up is not None and best.score >= max(self.t.dominant * self.t.weak, self.t.lead * runner_up)
        return stands_out and explained >= self.t.dominant_explained

    def _without_unit(self, norm: str) -> Query:
        """The question without the unit it names (统战部门在界别设置上要干啥 asks who does 界别设置):
        the unit's name is no part of the topic a task has to explain."""
        hit = self.units.find(norm)
        return self.index.query(self.units.without(norm, hit.unit_id) if hit and hit.exact else "")

    def _numbers_margin(self, norm: str) -> float | None:
        """How close a quantified task must score for a numbers answer; None: not a numbers question.
        几位委员, 几个人 ('a few') are no question of quantity."""
        for phrase in self.cues["numbers_vague"]:
            norm = norm.replace(phrase, " ")
        if self._has(norm, "numbers"):
            return self.t.numbers_margin
        return 1.0 if self._has(norm, "numbers_period") and not self._has(norm, "asks_who") else None

    def _is_greeting(self, norm: str, best: Ranked) -> bool:
        if not self._has(norm, "greeting"):
            return False
        rest = norm
        for phrase in sorted(self.cues["greeting"] + self.cues["greeting_filler"], key=len, reverse=True):
            rest = rest.replace(phrase, "")
        return is_meaningless(rest) or best.score < self.t.weak

    def _is_duties(self, norm: str) -> bool:
        for word in self.cues["duty_ignore"]:
            norm = norm.replace(word, " ")
        if self._has(norm, "not_duty"):
            return False
        return self._has(norm, "duty_phrases") or all(
            self._has(norm, cue) for cue in ("duty_period", "duty_need", "duty_subject")
        )

    def _is_unit_question(self, norm: str, hit: UnitHit) -> bool:
        """Besides the unit's name the question holds only 'what does it do' words, words people
        append to unit names (那头, 上 …) and the asker's frame (我是…的联络员, 跟我们有关, 列一下);
        no matter of the plan made of generic characters (政协党组的主体责任是啥)."""
        return not self._leftover(norm, hit) and not self._has(norm, "unit_matter")

    def _without_hit(self, norm: str, hit: UnitHit) -> str:
        """``norm`` without the unit's name, each time it is named (我是专委会主任，方案对专委会有啥要求)."""
        rest = norm[: hit.start] + " " + norm[hit.start + len(hit.name) :]
        return self.units.without(rest, hit.unit_id) if hit.exact else rest

    def _leftover(self, norm: str, hit: UnitHit) -> str:
        """The question's characters besides the unit's name, the unit-question phrases and the
        generic characters (任务, 哪些 …)."""
        rest = self.vocabulary.strip_question(self._without_unit_words(self._without_hit(norm, hit)))
        generic = set(self.cues["unit_generic"]) | self.vocabulary.stop_chars
        return "".join(ch for ch in rest if not (is_meaningless(ch) or ch in generic))

    # ---- answers -------------------------------------------------------

    def task_answer(self, number: int) -> Answer:
        task = self.plan.task(number)
        if task is None:
            return Answer(self.text("no_such_task", number=number, count=len(self.plan.tasks)), "task")
        group = self.plan.group(task.group)
        area = self.plan.area(task.area)
        limit = task.time_limit.text or "未写明"
        reply = (
            f"方案第{task.label}项\n{task.text}\n\n"
            f"所属：（{_cn(area.number)}）{area.title} · {group.number}.{group.title}\n"
            f"责任单位：{self._units_line(task)}\n"
            f"完成时限：{limit}"
        )
        return Answer(reply, "task", [number], self._units_of(task), 1.0)

    def unit_answer(self, unit_id: str) -> Answer:
        result = self.plan.tasks_of_unit(unit_id)
        unit = result.unit
        name = unit.short if unit.short == unit.full else f"{unit.short}（{unit.full}）"
        if not unit.in_plan and not result.all_numbers:
            return Answer(
                f"{name}不是方案列明的责任单位，方案中没有写明由它负责的任务。", "unit", [], [], 1.0, unit=unit_id
            )
        lines = [f"{name}是方案中 {len(result.direct)} 项任务的责任单位："]
        lines += self._grouped(result.direct)
        for parent, tasks in result.inherited:
            lines.append("")
            lines.append(
                f"{unit.short}是{parent.short}之一，以下 {len(tasks)} 项写明由“{parent.short}”负责，"
                f"同样涉及{unit.short}："
            )
            lines += self._grouped(tasks)
        lines.append("")
        lines.append("发送 /item 编号 查看某项全文。")
        numbers = result.all_numbers
        first = self.plan.task(numbers[0]) if numbers else None
        return Answer("\n".join(lines), "unit", numbers, self._units_of(first) if first else [], 1.0, unit=unit_id)

    def unit_by_name(self, name: str) -> Answer:
        """For /unit: exact or typo-tolerant unit name."""
        norm = self.vocabulary.rewrite(normalize(name))
        hit = self.units.find(norm) if norm else None
        if hit is None:
            units = "、".join(u.short for u in self.plan.catalogue.plan_units())
            return Answer(self.text("unknown_unit", name=name.strip()[:30], units=units), "unit")
        return self.unit_answer(hit.unit_id)

    def _grouped(self, tasks: tuple[Task, ...]) -> list[str]:
        lines: list[str] = []
        area = None
        for task in tasks:
            if task.area != area:
                area = task.area
                lines.append(f"【{self.plan.area(area).title}】")
            lines.append(f"{task.label}{self._snippet(task.text)}")
        return lines

    def topic_answer(self, best: Ranked, query: Query) -> Answer:
        task = best.task
        sentence = self.index.best_sentence(task, query)
        reply = (
            f"这属于方案第{task.label}项：\n{self._snippet(sentence, 160)}\n\n"
            f"责任单位：{self._units_line(task)}\n"
            f"完成时限：{task.time_limit.text or '未写明'}\n" + self.text("task_more", number=task.number)
        )
        return Answer(reply, "topic", [task.number], self._units_of(task), round(best.score, 3))

    def candidates_answer(self, ranked: list[Ranked]) -> Answer:
        lines = [self.text("candidates")]
        for r in ranked:
            lines.append(f"{r.task.label}{self._snippet(r.task.text, 40)}（{self._units_line(r.task)}）")
        first = ranked[0].task
        return Answer(
            "\n".join(lines),
            "candidates",
            [r.task.number for r in ranked],
            self._units_of(first),
            round(ranked[0].score, 3),
        )

    def _numbers_answer(self, ranked: list[Ranked], query: Query, margin: float) -> Answer | None:
        """Answer from the structured obligations when a quantified task scores ≥ margin × the best."""
        best = ranked[0]
        quantified = next((r for r in ranked if r.task.number in self._quantified), None)
        if quantified is None or quantified.score < margin * best.score:
            return None
        task = quantified.task
        rules = self.plan.obligations_for(task=task.number)
        lines = [f"方案第{task.label}项规定："]
        lines += [f"· {o.describe()}" for o in rules]
        lines.append(f"原文：“{self._snippet(self.index.best_sentence(task, query), 160)}”")
        lines.append(f"责任单位：{self._units_line(task)}")
        return Answer("\n".join(lines), "numbers", [task.number], self._units_of(task), round(quantified.score, 3))

    def personal_answer(self, route: str, personal: Callable[[], str | None] | None = None) -> Answer:
        """A question about the asker: where their own progress, proposals or binding step is.

        The transports open that screen (handlers/answers.py); the reply says how to get there,
        with the caller's own progress when it is known.
        """
        reply = self.text(f"personal_{route}")
        own = personal() if personal and route != "binding" else None
        if own:
            reply = f"{own}\n\n{reply}"
        return Answer(reply, "personal", personal=own is not None, route=route)

    def scope_answer(self, topic: ScopeTopic, best: Ranked, query: Query) -> Answer:
        """The plan does not say: “方案没有规定…”. When the question is about the plan's matters (in
        scope on the task text), the topic's related task (or the best-ranked one) is named as
        related, never as the answer."""
        lines = [self.text("out_of_scope_topic", what=topic.what, pointer=topic.pointer)]
        related: list[int] = []
        if topic.related and self._in_scope(best, query):
            related = [best.task.number] if topic.related == BEST else list(topic.related)
        for number in related[:1]:
            lines += ["", self._related_line(number, query)]
        return Answer("\n".join(lines), "out_of_scope", related=related[:1])

    def _reads_unsettled(self, norm: str) -> bool:
        """The learned scope model reads the question as one the plan does not settle (learned.py)."""
        return self.scope_model is not None and self.scope_model.out_of_scope(norm, self.t.scope_model)

    def unsettled_answer(self, best: Ranked, query: Query, related: bool = True) -> Answer:
        """The scope model reads the question as one the plan does not settle: say so, and name the
        best-ranked task as related (so a question it misjudges still finds its task), never as the
        answer."""
        if not related:
            return Answer(self.text("out_of_scope_unsettled"), "out_of_scope", score=round(best.score, 3))
        lines = [self.text("out_of_scope_unsettled"), "", self._related_line(best.task.number, query)]
        return Answer("\n".join(lines), "out_of_scope", related=[best.task.number], score=round(best.score, 3))

    def _related_line(self, number: int, query: Query) -> str:
        task = self.plan.task(number)
        sentence = self._snippet(self.index.best_sentence(task, query), 120)
        return self.text("out_of_scope_related", label=task.label, sentence=sentence, units=self._units_line(task))

    def duties_answer(self, personal: Callable[[], str | None] | None = None) -> Answer:
        """Every member's requirements in plain words (bot.people.duties), with the caller's own progress."""
        pairs = member_obligations(self.plan)
        yearly = sorted({o.task for o, _ in pairs if o.period == "year"})
        items = yearly + sorted({o.task for o, _ in pairs} - set(yearly))
        main = self.plan.task(items[0]) if items else None
        lines = duty_lines(self.plan)
        if main:
            lines.append(f"责任单位：{self._units_line(main)}")
        own = personal() if personal else None
        lines += ["", own or self.text("duties_bind_hint")]
        units = self._units_of(main) if main else []
        return Answer("\n".join(lines), "duties", items, units, 1.0, personal=own is not None)


_CN_SMALL = "零一二三四五六七八九十"


def _cn(number: int) -> str:
    return _CN_SMALL[number] if 0 <= number <= 10 else str(number)


@cache
def default_engine() -> Engine:
    """The engine over the knowledge directory, built once per process."""
    return Engine.from_knowledge()
