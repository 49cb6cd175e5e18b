"""The learned second opinions (bot/answers/learned.py): the model itself, its data file (validation,
and that it holds exactly the tuned sets' questions), and where the engine asks the route model
(only when the cue phrases find no route, for a question with a personal_anchor word that is not
about the rules, an out-of-scope topic or every member's duties) and the scope model (only before
naming a task on the ranking or a unit's tasks). Questions written here, not taken from any evaluation set."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import pytest

from bot.answers.engine import default_engine
from bot.answers.evaluation import load_questions
from bot.answers.learned import LABELS, OTHER, ROUTES, NaiveBayes, features, load_labelled
from bot.answers.normalize import normalize
from bot.config import ConfigError, knowledge_dir

ENGINE = default_engine()
DATA = Path(__file__).parent / "data"


def _norm(question: str) -> str:
    return ENGINE.vocabulary.rewrite(normalize(question))


def test_features_are_unigrams_and_bigrams_of_letters_and_digits():
    assert features("履职 够？。。") == ["履", "职", "够", "履职", "职够"]


def test_a_small_model_routes_what_resembles_its_labels_and_abstains_below_the_threshold():
    model = NaiveBayes.train(
        {
            "progress": ["我今年履职够不够", "我的履职情况"],
            "proposals": ["我的提案有回复吗", "我交的提案立案了吗"],
            "binding": ["怎么绑定账号", "账号认证"],
            OTHER: ["委员活动的钱谁出", "协商计划谁来定", "政协办负责什么"],
        }
    )
    assert model.route("我履职够了吗", 0.5) == "progress"
    assert model.route("提案回复了吗", 0.5) == "proposals"
    assert model.route("绑定账号", 0.5) == "binding"
    assert model.route("协商计划谁定", 0.5) is None  # 'other' wins
    posterior = model.posterior("我履职够了吗")
    assert abs(sum(posterior.values()) - 1) < 1e-9
    assert model.route("我履职够了吗", posterior["progress"] + 1e-6) is None  # below the threshold


def _complete(**changes) -> dict:
    data = {label: [f"{label} 问题"] for label in LABELS}
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ([], "应为对象"),
        ({label: ["a"] for label in LABELS if label != "out_of_scope"}, "out_of_scope: 应为非空字符串列表"),
        (_complete(progress=[]), "progress: 应为非空字符串列表"),
        (_complete(proposals=[1]), "proposals: 应为非空字符串列表"),
        (_complete(plan="协商"), "plan: 应为非空字符串列表"),
    ],
)
def test_a_malformed_data_file_names_the_file_and_the_entry(tmp_path, content, message):
    path = tmp_path / "labelled_questions.json"
    path.write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_labelled(str, path=path)
    assert str(path) in str(raised.value) and message in str(raised.value)


def test_no_data_file_no_model(tmp_path):
    assert load_labelled(str, path=tmp_path / "absent.json") == {}


@pytest.mark.parametrize(
    ("question", "route"),
    [
        ("替我妈看看她今年的履职够不够", "progress"),  # a relative asking: no cue phrase knows it
        ("帮老爷子问问，他今年的活动次数够了没", "progress"),
        ("我老伴是委员，她的提案有回音没", "proposals"),
    ],
)
def test_the_model_routes_what_the_cue_phrases_miss(question, route):
    assert ENGINE.personal_cues.route(_norm(question)) is None  # the cue phrases alone: nothing
    answer = ENGINE.answer(question)
    assert (answer.intent, answer.route) == ("personal", route)


@pytest.mark.parametrize(
    "question",
    [
        "红烧肉怎么做好吃",  # no personal_anchor word
        "帮我写个提案",  # an out-of-scope topic (writing for someone)
        "委员活动的钱谁出",
        "我今年要交几件提案",  # every member's duties
        "提案的立案标准是什么",  # the rules
    ],
)
def test_the_model_is_not_asked_outside_its_place(question):
    assert ENGINE.answer(question).intent != "personal"


def test_a_record_is_the_askers_when_they_say_so_or_ask_after_its_state():
    """The model, trained on the tuned sets, reads 提案 + 答复 as the asker's proposals; a question
    with no word for the asker (我, 俺, 替 …; 我们 speaks for a unit) that asks for a quantity is
    about the rules, one that asks after a state (了没) is about the asker's own."""
    rules, state = "提案提交后多久能收到答复", "交的提案立了没"
    for question in (rules, state):
        norm = _norm(question)
        assert ENGINE.personal_cues.route(norm) is None and not ENGINE.personal_cues.speaks_for_self(norm)
        assert ENGINE.route_model.route(norm, ENGINE.t.route_model) == "proposals"
    about_rules = ENGINE.answer(rules)
    assert about_rules.intent != "personal" and (about_rules.items or about_rules.related)[:1] == [18]
    assert (ENGINE.answer(state).intent, ENGINE.answer(state).route) == ("personal", "proposals")
    assert ENGINE.answer("我那个提案提交后多久能收到答复").route == "proposals"


# ---- the scope model ---------------------------------------------------------

TUNED_SETS = ["questions.jsonl", "questions_holdout.jsonl", "questions_holdout2.jsonl"]
TUNED_SETS += [f"questions_holdout{n}.jsonl" for n in range(3, 20)]


def test_a_small_scope_model_tells_plan_questions_from_others():
    model = NaiveBayes.train(
        {
            "plan": ["协商计划谁来定", "委员培训谁负责", "提案立案标准谁定"],
            "out_of_scope": ["政协主席叫啥", "误工费多少钱"],
        }
    )
    assert model.out_of_scope("主席叫啥名字", 0.5)
    assert not model.out_of_scope("培训谁负责", 0.5)


def test_the_scope_model_turns_a_ranked_answer_into_the_honest_one_naming_the_task_as_related():
    question = "政协章程总共有几章"  # no out-of-scope topic knows 几章; (36) says 依照章程
    bare = copy.copy(ENGINE)
    bare.scope_model = None
    assert (bare.answer(question).intent, bare.answer(question).items) == ("topic", [36])
    answer = ENGINE.answer(question)
    assert (answer.intent, answer.items, answer.related) == ("out_of_scope", [], [36])
    assert "似乎没有作出规定" in answer.reply and "（36）" in answer.reply


def test_the_scope_model_is_asked_only_before_a_task_or_a_units_tasks_are_named():
    always = copy.copy(ENGINE)
    always.t = dataclasses.replace(ENGINE.t, scope_model=0.0)  # it turns away every answer it is asked about
    assert always.answer("谁负责委员培训").intent == "out_of_scope"
    assert always.answer("谁负责委员培训").related == [32]
    unit = always.answer("财政局管啥")
    assert (unit.intent, unit.items, unit.related) == ("out_of_scope", [], [45])  # 财政 is in scope on (45)
    assert always.answer("编办管啥").related == []  # no task is in scope on 编办管啥 alone
    assert ENGINE.answer("财政局管啥").unit == "finance_bureau"
    assert always.answer("第36项").items == [36]
    assert always.answer("我今年的履职情况").intent == "personal"
    assert always.answer("我今年要交几份提案").intent == "duties"


def test_the_labelled_file_holds_exactly_the_tuned_sets_questions():
    data = json.loads((knowledge_dir() / "labelled_questions.json").read_text(encoding="utf-8"))
    expected: dict[str, str] = {}
    for name in TUNED_SETS:
        for _, item in load_questions(DATA / name):
            label = item.get("route") if item["intent"] == "personal" else item["intent"]
            expected.setdefault(item["q"], label if label in ("out_of_scope", *ROUTES) else "plan")
    listed = {q: label for label in LABELS for q in data[label]}
    assert sum(len(data[label]) for label in LABELS) == len(listed)  # no question twice
    assert listed == expected


def test_the_route_model_overrules_the_duty_and_rule_cues_only_when_sure():
    """我今年算不算完成得差的，帮我查查: 算不算 reads as about the rules, but the asker asks for a
    look-up. It needs the surer posterior;
    a rules question without a look-up (这算不算履职) is never the model's."""
    lookup = "我今年算不算完成得差的，帮我查查"
    assert ENGINE.personal_cues.asks_rules(_norm(lookup))
    assert ENGINE._model_threshold(_norm(lookup)) == ENGINE.t.route_model_sure
    assert ENGINE.answer(lookup).route == "progress"
    never = copy.copy(ENGINE)
    never.t = dataclasses.replace(ENGINE.t, route_model_sure=1.01)
    assert never.answer(lookup).intent != "personal"
    assert ENGINE._model_threshold(_norm("我今年参加活动算不算履职")) is None
    assert ENGINE._model_threshold(_norm("年底前我今年还得完成啥")) is None  # a duty phrase: every member's duties
