"""The learned second opinion on questions about the asker (bot/answers/routemodel.py): the model
itself, its data file's validation, and where the engine asks it (only when the cue phrases find
no route, for a question with a personal_anchor word that is not about the rules, an out-of-scope
topic or every member's duties). Questions written here, not taken from any evaluation set."""

from __future__ import annotations

import json

import pytest

from bot.answers.engine import default_engine
from bot.answers.normalize import normalize
from bot.answers.routemodel import OTHER, RouteModel, features, load_labelled
from bot.config import ConfigError

ENGINE = default_engine()


def _norm(question: str) -> str:
    return ENGINE.vocabulary.rewrite(normalize(question))


def test_features_are_unigrams_and_bigrams_of_letters_and_digits():
    assert features("履职 够？。。") == ["履", "职", "够", "履职", "职够"]


def test_a_small_model_routes_what_resembles_its_labels_and_abstains_below_the_threshold():
    model = RouteModel.train(
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


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ([], "应为对象"),
        ({"progress": ["a"], "proposals": ["b"], "binding": ["c"]}, "other: 应为非空字符串列表"),
        ({"progress": [], "proposals": ["b"], "binding": ["c"], OTHER: ["d"]}, "progress: 应为非空字符串列表"),
        ({"progress": ["a"], "proposals": [1], "binding": ["c"], OTHER: ["d"]}, "proposals: 应为非空字符串列表"),
    ],
)
def test_a_malformed_data_file_names_the_file_and_the_entry(tmp_path, content, message):
    path = tmp_path / "personal_questions.json"
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
    assert ENGINE.answer(rules).intent == "numbers"
    assert (ENGINE.answer(state).intent, ENGINE.answer(state).route) == ("personal", "proposals")
    assert ENGINE.answer("我那个提案提交后多久能收到答复").route == "proposals"
