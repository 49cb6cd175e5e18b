"""The answers feature's data: example questions, colloquial unit names, personal routes and
out-of-scope topics — their rules, their validation (one line naming the file and the entry), and
the evaluation lines that score them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.answers.engine import Engine, default_engine
from bot.answers.evaluation import evaluate
from bot.answers.examples import load_examples, parse_examples
from bot.answers.matching import ranked, spread
from bot.answers.normalize import normalize
from bot.answers.routes import PersonalCues, ScopeTopics
from bot.answers.unitphrases import UnitPhrases
from bot.config import ConfigError, knowledge_dir

ENGINE = default_engine()
PLAN = ENGINE.plan
EXAMPLES = load_examples(PLAN)
RAW_EXAMPLES = json.loads((knowledge_dir() / "examples.json").read_text(encoding="utf-8"))


# ---- example questions -------------------------------------------------------


def test_examples_say_how_they_were_written():
    assert "only the plan text" in RAW_EXAMPLES["how_written"]
    assert "without seeing any evaluation set" in RAW_EXAMPLES["how_written"]


def test_every_task_has_at_least_four_examples():
    assert sorted(EXAMPLES) == [task.number for task in PLAN.tasks]
    assert all(len(questions) >= 4 for questions in EXAMPLES.values())


def test_no_example_is_listed_under_two_tasks():
    seen: dict[str, str] = {}
    for number, questions in RAW_EXAMPLES["tasks"].items():
        for question in questions:
            assert seen.setdefault(normalize(question), number) == number, question


def _blended_order(question: str) -> list[int]:
    """The ranker's order with the examples blended in (the out-of-scope gate left aside)."""
    query = ENGINE.index.query(ENGINE.vocabulary.rewrite(normalize(question)))
    weighted = ENGINE.index.weighted(query)
    text = ENGINE.index.bm25.scores(weighted)
    boosts = ENGINE.examples.boosts(weighted, spread(text)[1])
    return [r.task.number for r in ranked(PLAN.tasks, [t + b for t, b in zip(text, boosts, strict=True)])]


def test_each_example_answers_its_own_task():
    """A check of the data (each example is about its task as the engine sees it), not of
    generalisation. The ranking (example field blended in, out-of-scope gate aside) puts the own
    task first for nearly all. The gate looks at the task text alone, and the second batch
    describes situations in words the plan does not use, so a bounded share of the examples is out
    of scope on the text; every other answer cites the own task first or offers it."""
    answers = {(number, q): ENGINE.answer(q) for number, questions in EXAMPLES.items() for q in questions}
    assert sum(_blended_order(q)[0] == number for number, q in answers) >= 0.99 * len(answers)
    gated = [key for key, answer in answers.items() if answer.intent == "out_of_scope"]
    assert len(gated) <= 0.07 * len(answers), gated
    assert all(number in answer.items for (number, q), answer in answers.items() if (number, q) not in gated)
    first = [key for key, answer in answers.items() if answer.items and answer.items[0] == key[0]]
    assert len(first) >= 0.92 * len(answers)


def test_examples_move_the_ranking():
    """Without the example field the same question is left undecided (the field matters)."""
    plain = Engine(PLAN, ENGINE.vocabulary, ENGINE.messages, ENGINE.cues, unit_phrases=ENGINE.units.phrases)
    assert plain.answer("协商会议谁组织").intent == "candidates"
    assert (ENGINE.answer("协商会议谁组织").intent, ENGINE.answer("协商会议谁组织").items) == ("topic", [5])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "缺少 tasks"),
        ({"tasks": {"99": ["问题"]}}, "tasks['99']: 方案中没有这项任务"),
        ({"tasks": {"1": "问题"}}, "tasks['1']: 应为非空字符串列表"),
        ({"tasks": {"1": ["同一个问题"], "2": ["同一个问题"]}}, "已列在任务 1 下"),
    ],
)
def test_bad_examples_file_is_one_line_naming_the_entry(data, message):
    with pytest.raises(ConfigError) as caught:
        parse_examples(data, PLAN, "examples.json")
    assert message in str(caught.value) and "\n" not in str(caught.value)


# ---- units as people name them ---------------------------------------------------


@pytest.mark.parametrize(
    ("question", "unit_id"),
    [
        ("纪检那头负责啥", "discipline_commission"),
        ("纪委那边需要配合做什么", "discipline_commission"),
        ("宣传上要做什么", "propaganda_dept"),
        ("纪检的任务", "discipline_commission"),
        ("政府那边负责哪些", "gov_office"),
        ("编办那边有啥任务", "staffing_office"),
        ("人社那块要干啥", "hr_bureau"),
        ("县直部门要干啥", "county_departments"),
        ("县直有关部门负责哪些", "county_departments"),
        ("专委会负责什么", "cppcc_committees"),
        ("各专门委员会有哪些任务", "cppcc_committees"),
    ],
)
def test_colloquial_unit_names_list_all_of_the_units_tasks(question, unit_id):
    answer = ENGINE.answer(question)
    assert answer.intent == "unit" and answer.unit == unit_id
    assert answer.items == PLAN.tasks_of_unit(unit_id).all_numbers


@pytest.mark.parametrize(
    "question", ["组织上安排我去培训吗", "宣传政策是谁的事", "政府支持政协协商吗", "组织生活会一年几次"]
)
def test_clipped_forms_alone_are_ordinary_words(question):
    assert ENGINE.answer(question).intent != "unit"


def test_unit_phrases_validation_names_the_entry():
    catalogue = PLAN.catalogue
    with pytest.raises(ConfigError, match=r"unit_phrases.json clipped\['纪检'\]: 单位目录中没有 id 'nope'"):
        UnitPhrases.from_dict({"clipped": {"纪检": "nope"}}, catalogue, "unit_phrases.json")
    with pytest.raises(ConfigError, match="名称 '统战部' 已属于单位 united_front_dept"):
        UnitPhrases.from_dict({"aliases": {"hr_bureau": ["统战部"]}}, catalogue, "unit_phrases.json")
    with pytest.raises(ConfigError, match=r"clipped\['纪'\]: 简称至少两个字"):
        UnitPhrases.from_dict({"clipped": {"纪": "discipline_commission"}}, catalogue, "unit_phrases.json")
    with pytest.raises(ConfigError, match="appended: 应为非空字符串列表"):
        UnitPhrases.from_dict({"appended": ["", "上"]}, catalogue, "unit_phrases.json")


# ---- questions about the asker -----------------------------------------------------


@pytest.mark.parametrize(
    ("question", "route"),
    [
        ("我的履职情况", "progress"),
        ("俺的履职情况咋样", "progress"),
        ("本人今年还差啥", "progress"),
        ("我这个委员今年还欠啥", "progress"),
        ("我的提案办得怎么样了", "proposals"),
        ("俺的提案有回音没有", "proposals"),
        ("验证身份", "binding"),
        ("怎么绑定", "binding"),
    ],
)
def test_personal_questions_are_routed_to_the_person(question, route):
    answer = ENGINE.answer(question)
    assert answer.intent == "personal" and answer.route == route and answer.items == []
    assert ENGINE.personal_route(question) == route


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        ("我今年要提交什么", "duties"),  # every member's requirements, with one's own progress
        ("我的提案没人理咋办", "topic"),  # the plan's rule on replies (18)
        ("第33条", "task"),
        ("委员活动的钱谁出", "topic"),
    ],
)
def test_plan_questions_stay_plan_questions(question, intent):
    assert ENGINE.answer(question).intent == intent


def test_personal_answer_includes_own_progress_when_known():
    answer = ENGINE.answer("我的履职情况", personal=lambda: "提案 1/1 ✅")
    assert answer.personal and "提案 1/1 ✅" in answer.reply and "/mine" in answer.reply


def test_personal_cues_validation_names_the_key():
    with pytest.raises(ConfigError, match=r"intents\.json personal_owner: 应为非空字符串列表"):
        PersonalCues.from_intents({"personal_owner": []})


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("unit_matter", 5, "unit_matter: 应为非空字符串列表"),
        ("personal_status", [], "personal_status: 应为非空字符串列表"),
        ("greeting", ["你好", ""], "greeting: 应为非空字符串列表"),
        ("unit_generic", ["任务"], "unit_generic: 应为非空字符串"),
    ],
)
def test_engine_cues_are_checked_when_the_engine_is_built(key, value, message):
    """A malformed cue list is a one-line error at start-up naming the file and the key, not a
    TypeError at the first question."""
    intents = {**ENGINE.cues, key: value}
    with pytest.raises(ConfigError, match=re.escape(f"intents.json {message}")):
        Engine(PLAN, ENGINE.vocabulary, ENGINE.messages, intents)


# ---- honest out of scope -----------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "related"),
    [
        ("政协秘书长是谁", []),
        ("统战部部长叫什么名字", []),
        ("政协办电话多少", []),
        ("委员开会有没有误工费", [45]),
        ("委员活动经费有多少", [45]),
        ("下次常委会什么时候开", None),
        ("人大代表一年提几个建议", []),
        ("贺兰山门票多少钱", []),
    ],
)
def test_out_of_scope_topics_never_cite_a_task(question, related):
    answer = ENGINE.answer(question)
    assert answer.intent == "out_of_scope" and answer.items == []
    assert "方案没有规定" in answer.reply
    if related is not None:
        assert answer.related == related
    if answer.related:
        assert f"第（{answer.related[0]}）项（仅供参考" in answer.reply


@pytest.mark.parametrize(
    ("question", "task"),
    [("政协一年开几次常委会", 6), ("提案答复有没有时限", 18), ("委员会客室的运转经费谁保障", 45)],
)
def test_in_scope_questions_with_the_same_words_are_answered(question, task):
    answer = ENGINE.answer(question)
    assert answer.items and answer.items[0] == task


def test_scope_topics_validation_names_the_entry():
    base = {"id": "x", "what": "某事", "pointer": "请咨询政协办。", "all": [["电话"]]}
    numbers = {task.number for task in PLAN.tasks}
    with pytest.raises(ConfigError, match=r"out_of_scope_topics\[0\].related"):
        ScopeTopics.from_intents({"out_of_scope_topics": [{**base, "related": [99]}]}, numbers)
    with pytest.raises(ConfigError, match=r"out_of_scope_topics\[0\].all\[0\]"):
        ScopeTopics.from_intents({"out_of_scope_topics": [{**base, "all": [[]]}]}, numbers)


# ---- evaluation lines ----------------------------------------------------------------


def test_evaluation_scores_personal_unit_name_and_out_of_scope_lines():
    lines = [
        {"q": "我的履职情况", "type": "personal", "intent": "personal", "route": "progress"},
        {"q": "我的履职情况", "type": "personal", "intent": "personal", "route": "binding"},
        {"q": "纪检那头负责啥", "type": "unit", "unit_name": "纪委监委"},
        {"q": "纪检那头负责啥", "type": "unit", "unit_name": "宣传部"},
        {"q": "政协秘书长是谁", "type": "out_of_scope", "intent": "out_of_scope", "items": []},
        {"q": "委员活动的钱谁出", "type": "out_of_scope", "intent": "out_of_scope", "items": []},
    ]
    report = evaluate(ENGINE, list(enumerate(lines, start=1)))
    assert report.by_type["personal"] == [1, 2]
    assert report.by_type["unit"] == [1, 2]
    assert report.out_of_scope == 2 and report.cited_out_of_scope == 1
    with pytest.raises(ValueError, match="第1行：单位目录中没有“不存在局”"):
        evaluate(ENGINE, [(1, {"q": "x", "type": "unit", "unit_name": "不存在局"})])


# ---- start-up ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "change", "message"),
    [
        ("unit_phrases.json", lambda d: d["clipped"].update({"纪检": "nope"}), "clipped['纪检']"),
        ("examples.json", lambda d: d["tasks"].update({"77": ["问"]}), "tasks['77']"),
        ("intents.json", lambda d: d.pop("binding"), "binding"),
    ],
)
def test_bad_data_file_stops_the_start_with_one_line(tmp_path: Path, name, change, message):
    shutil.copytree(knowledge_dir(), tmp_path / "knowledge")
    path = tmp_path / "knowledge" / name
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    env = {**os.environ, "CPPCC_KNOWLEDGE": str(tmp_path / "knowledge")}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "ask", "你好"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert name in result.stderr and message in result.stderr and "Traceback" not in result.stderr


def test_plan_bound_data_is_not_used_with_another_plan():
    """examples.json, unit_phrases.json and the related task numbers name the plan they were
    written for; with another plan in force the engine still builds, without them."""
    from bot.plan.model import Plan

    data = json.loads((knowledge_dir() / "plan.json").read_text(encoding="utf-8"))
    data["document"]["doc_number"] = "某党办〔2025〕1号"
    other = Plan(data)
    assert load_examples(other) == {}
    assert UnitPhrases.load(other.catalogue, "某党办〔2025〕1号").aliases == {}
    topics = ScopeTopics.from_intents(ENGINE.cues, {t.number for t in other.tasks}, "某党办〔2025〕1号")
    assert all(topic.related in ((), "best") for topic in topics.topics)
    own = ScopeTopics.from_intents(ENGINE.cues, {t.number for t in PLAN.tasks}, "贺党办〔2023〕70号")
    assert own.find("误工费").related == (45,)


def test_no_plan_question_matches_an_out_of_scope_topic_or_a_personal_route():
    """The topic and route cues leave every in-scope question of the examples and the sets alone."""
    from bot.answers.evaluation import load_questions

    questions = [q for qs in EXAMPLES.values() for q in qs]
    for name in ("questions.jsonl", "questions_holdout.jsonl", "questions_holdout2.jsonl"):
        lines = load_questions(Path(__file__).parent / "data" / name)
        questions += [item["q"] for _, item in lines if item["intent"] not in ("out_of_scope", "personal")]
    assert len(questions) > 500
    for question in questions:
        norm = ENGINE.vocabulary.rewrite(normalize(question))
        assert ENGINE.scope.find(norm) is None, question
        assert ENGINE.personal_cues.route(norm) is None, question


def test_related_task_is_a_button_not_the_answer():
    from bot.answers.dialogue import Dialogue

    reply = Dialogue(ENGINE).ask("委员开会有没有误工费")
    assert "方案没有规定" in reply.text
    assert [[(b.text, b.data) for b in row] for row in reply.buttons] == [[("查看相关的第（45）项", "t:45")]]


def test_ask_and_chat_print_where_a_personal_question_goes():
    run = [sys.executable, "-m", "bot.cli"]
    ask = subprocess.run([*run, "ask", "我的提案办得怎么样了"], capture_output=True, text=True, timeout=60)
    assert ask.stdout.startswith("[转到：proposals]\n") and "/myproposals" in ask.stdout
    chat = subprocess.run([*run, "chat"], input="我的履职情况\n/quit\n", capture_output=True, text=True, timeout=60)
    assert "[转到：progress]\n这是关于您本人的问题" in chat.stdout
