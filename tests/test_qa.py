"""The question-answering engine: normalisation, intents, answer shapes, accuracy floors, bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.answers.engine import default_engine
from bot.answers.evaluation import evaluate, load_questions
from bot.answers.normalize import extract_task_number, normalize
from bot.plan.model import default_plan
from bot.textsplit import TELEGRAM_LIMIT, split_message, utf16_len

DATA = Path(__file__).parent / "data"
ENGINE = default_engine()
PLAN = default_plan()


# ---- normalisation -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("委員培訓多久輪訓一遍", "委员培训多久轮训一遍"),
        ("第３３条", "第33条"),
        ("（４５）谁负责", "(45)谁负责"),
        ("ＡＢＣ", "abc"),
        ("a\x00b\x07c", "abc"),
        ("  多个   空格\n换行 ", "多个 空格 换行"),
    ],
)
def test_normalize(text, expected):
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("第33条是什么", 33),
        ("第三十三项讲的啥", 33),
        ("（33）", 33),
        ("(7)", 7),
        ("33条谁负责", 33),
        ("任务45", 45),
        ("第十二条", 12),
        ("第 ２７", 27),
        ("33", 33),
        ("八项规定在政协谁负责落实", None),
        ("两会一联系是啥", None),
        ("反对四风是哪条", None),
        ("提交1份提案、反映1条社情民意信息", None),
        ("第十五次常委会会议", None),
        ("党组书记是第一责任人吗", None),
    ],
)
def test_task_numbers_only_in_explicit_forms(text, number):
    assert extract_task_number(normalize(text)) == number


# ---- intents and answer shapes -------------------------------------------


def test_task_lookup_shows_text_group_units_and_limit():
    answer = ENGINE.answer("第三十三條是什麼")
    assert answer.intent == "task" and answer.items == [33]
    assert PLAN.task(33).text in answer.reply
    assert "12.提高委员履职能力" in answer.reply
    assert "责任单位：政协办、政协提案和委员联络委" in answer.reply
    assert "完成时限：长期坚持" in answer.reply
    assert answer.units == ["政协办", "政协提案和委员联络委"]


def test_task_out_of_range_is_explained():
    answer = ENGINE.answer("第99条")
    assert answer.items == [] and "共有 45 项任务" in answer.reply


@pytest.mark.parametrize("unit_id", sorted(PLAN.catalogue.units))
def test_unit_answer_lists_every_task(unit_id):
    unit = PLAN.unit(unit_id)
    answer = ENGINE.answer(f"{unit.short}负责什么")
    expected = PLAN.tasks_of_unit(unit_id).all_numbers
    assert answer.intent == "unit" and answer.unit == unit_id
    assert answer.items == expected
    cited = [int(n) for n in re.findall(r"（(\d+)）", answer.reply)]
    assert sorted(set(cited)) == expected
    assert utf16_len(answer.reply) <= TELEGRAM_LIMIT


def test_unit_answer_explains_is_one_of_relation():
    answer = ENGINE.answer("提案委管哪些事")
    assert "政协提案和委员联络委是政协各专门委员会之一" in answer.reply
    assert 6 in answer.items and 33 in answer.items


def test_unit_name_with_one_typo():
    answer = ENGINE.answer("人设局有什么任务")
    assert answer.intent == "unit" and answer.unit == "hr_bureau"


def test_topic_answer_cites_task_and_units():
    answer = ENGINE.answer("委员活动的钱谁出")
    assert answer.intent == "topic" and answer.items == [45]
    assert "（45）" in answer.reply and "责任单位：财政局" in answer.reply
    assert answer.units == ["财政局"]


def test_member_duties_in_plain_words():
    answer = ENGINE.answer("我今年要提交什么")
    assert answer.intent == "duties" and answer.items[0] == 33
    for phrase in ("提案", "社情民意信息", "协商议政会议或视察考察调研活动", "（33）", "（32）"):
        assert phrase in answer.reply
    assert "验证身份" in answer.reply  # not bound: explains how to bind


@pytest.mark.parametrize("question", ["俺一年得干啥", "我一年要干啥", "俺今年得做些啥"])
def test_member_duties_in_dialect_show_the_askers_own_progress(question):
    """Issue 14: “俺一年得干啥” is a member asking what they must do; the answer carries their progress."""
    answer = ENGINE.answer(question, personal=lambda: "提案 1/1 ✅\n社情民意 0/1 ❗")
    assert answer.intent == "duties" and answer.items[0] == 33, answer.reply
    assert "社情民意 0/1 ❗" in answer.reply


def test_member_duties_include_personal_progress_when_known():
    answer = ENGINE.answer("我今年要提交什么", personal=lambda: "提案 1/1 ✅\n社情民意 0/1 ❗")
    assert "社情民意 0/1 ❗" in answer.reply and "验证身份" not in answer.reply


@pytest.mark.parametrize(
    ("question", "task", "phrase"),
    [
        ("每季度都要搞协商活动吗", 6, "每季度至少 1 次"),
        ("党外委员比例不少于多少", 30, "不少于60%"),
        ("常委里党外要不少于65%吗", 30, "不少于65%"),
        ("监督性议题占多少", 12, "五分之一"),
        ("组织生活会一年几次", 42, "每年至少 1 次"),
    ],
)
def test_numbers_come_from_structured_obligations(question, task, phrase):
    answer = ENGINE.answer(question)
    assert answer.intent == "numbers" and answer.items == [task]
    assert phrase in answer.reply


def test_weak_or_tied_match_offers_candidates():
    answer = ENGINE.answer("新委员有没有培训")
    assert answer.intent == "candidates" and len(answer.items) >= 2
    assert "您是想问" in answer.reply


@pytest.mark.parametrize("question", ["今天天气怎么样", "asdfgh", "。。。", "贺兰山门票多少钱", "what is the weather"])
def test_out_of_scope_never_cites_a_task(question):
    answer = ENGINE.answer(question)
    assert answer.intent in ("out_of_scope", "empty") and answer.items == [] and answer.related == []
    assert "例如" in answer.reply or "这样问" in answer.reply or "方案没有规定" in answer.reply


# ---- accuracy floors (deterministic, so a real test) -----------------------


def test_accuracy_floors_on_evaluation_set():
    questions = load_questions(DATA / "questions.jsonl")
    types = {q["type"] for _, q in questions}
    assert len(questions) >= 200
    assert sum(q["type"] == "paraphrase" for _, q in questions) >= 80
    assert sum(q["intent"] == "out_of_scope" for _, q in questions) >= 20
    assert {"typo", "traditional", "fullwidth", "unit", "duty"} <= types
    report = evaluate(ENGINE, questions)
    assert report.accuracy() >= 0.95, report.render()
    assert report.accuracy("paraphrase") >= 0.90, report.render()
    assert report.cited_out_of_scope == 0, report.render()


@pytest.mark.parametrize("name", ["questions_holdout.jsonl", "questions_holdout2.jsonl"])
def test_held_out_sets_stay_reasonable(name):
    """Questions written without seeing the engine: a lower floor, to catch regressions in generalisation."""
    report = evaluate(ENGINE, load_questions(DATA / name))
    assert report.accuracy() >= 0.85, report.render()
    assert report.accuracy("paraphrase") >= 0.80, report.render()
    assert report.cited_out_of_scope <= 1, report.render()


# The blind sets from the third on: each written by a helper given only the plan text and measured
# once after a round of issue 16's work (README, "Measured once"), then used to guide the next
# round, so tuned on (the newest set, measured once at the end, is added with its figures).
# Floors: overall, paraphrases, units, about the asker, most out-of-scope questions citing a task;
# they only stop the figures from getting worse.
BLIND_SET_FLOORS = [
    # file, measured once (overall, paraphrases, units, personal, citing) → floors now
    ("questions_holdout3.jsonl", 0.93, 0.88, 1.0, 1.0, 0),  # once: 87.9 / 91.6 / 83.3 / 86.7 / 7 of 28
    ("questions_holdout4.jsonl", 0.96, 0.92, 1.0, 1.0, 0),  # once: 80.0 / 88.0 / 53.3 / 85.0 / 3 of 30
    ("questions_holdout5.jsonl", 0.97, 0.95, 1.0, 1.0, 0),  # once: 94.2 / 95.6 / 100 / 90.0 / 5 of 34
    ("questions_holdout6.jsonl", 0.98, 0.97, 1.0, 1.0, 0),  # once: 93.3 / 98.6 / 94.9 / 86.7 / 9 of 46
    ("questions_holdout7.jsonl", 0.96, 0.95, 0.97, 1.0, 0),  # once: 90.7 / 95.2 / 86.8 / 83.3 / 6 of 44
    ("questions_holdout8.jsonl", 0.97, 0.95, 1.0, 1.0, 0),  # once: 91.2 / 94.0 / 92.1 / 88.2 / 7 of 44
    ("questions_holdout9.jsonl", 0.97, 0.95, 1.0, 1.0, 0),  # once: 94.3 / 95.6 / 100 / 86.7 / 4 of 42
    ("questions_holdout10.jsonl", 0.98, 0.96, 1.0, 0.96, 0),  # once: 93.5 / 95.9 / 97.2 / 76.7 / 2 of 44
    ("questions_holdout11.jsonl", 0.99, 0.99, 1.0, 1.0, 0),  # once: 95.3 / 97.5 / 88.9 / 100 / 4 of 44
    ("questions_holdout12.jsonl", 0.99, 0.99, 1.0, 1.0, 0),  # once: 96.2 / 96.3 / 95.9 / 100 / 3 of 45
    ("questions_holdout13.jsonl", 0.98, 0.97, 1.0, 1.0, 0),  # once: 95.8 / 97.2 / 97.4 / 87.9 / 2 of 46
    ("questions_holdout14.jsonl", 0.98, 0.97, 1.0, 0.96, 0),  # once: 94.6 / 94.4 / 94.7 / 96.9 / 3 of 44
    ("questions_holdout15.jsonl", 0.97, 0.96, 0.97, 1.0, 0),  # once: 92.1 / 91.5 / 89.5 / 93.3 / 2 of 44
    ("questions_holdout16.jsonl", 0.99, 0.99, 1.0, 1.0, 0),  # once: 95.5 / 96.1 / 97.4 / 90.3 / 2 of 46
    ("questions_holdout17.jsonl", 0.99, 0.98, 1.0, 1.0, 0),  # once: 96.6 / 97.4 / 97.2 / 93.5 / 2 of 44
    ("questions_holdout18.jsonl", 0.98, 0.97, 1.0, 1.0, 0),  # once: 95.9 / 94.6 / 100 / 96.9 / 2 of 44
    ("questions_holdout19.jsonl", 0.97, 0.96, 1.0, 1.0, 0),  # once: 95.2 / 92.9 / 97.5 / 96.7 / 0 of 45
    ("questions_holdout20.jsonl", 0.95, 0.93, 0.97, 1.0, 0),  # once, never tuned on: the floors are it
]


@pytest.mark.parametrize(("name", "overall", "paraphrase", "unit", "personal", "cited"), BLIND_SET_FLOORS)
def test_each_blind_set_keeps_its_figures(name, overall, paraphrase, unit, personal, cited):
    report = evaluate(ENGINE, load_questions(DATA / name))
    assert report.accuracy() >= overall, report.render()
    assert report.accuracy("paraphrase") >= paraphrase, report.render()
    assert report.accuracy("unit") >= unit and report.accuracy("personal") >= personal, report.render()
    assert report.cited_out_of_scope <= cited, report.render()


# ---- bad input -------------------------------------------------------------

BAD_INPUTS = [
    "",
    "   \n\t ",
    "委" * 10_000,
    "😀🎉👍" * 50,
    "<b>谁负责</b><script>alert(1)</script>",
    "**谁负责** _提案_ [link](http://x)",
    "\x00\x01\x02谁负责\x1b[31m经费",
    "who is 负责 for 提案 reply?",
    "\u202e\u200b\ufeff",
]


@pytest.mark.parametrize("text", BAD_INPUTS)
def test_bad_input_gets_short_helpful_reply(text):
    answer = ENGINE.answer(text)
    assert answer.reply.strip()
    assert utf16_len(answer.reply) <= TELEGRAM_LIMIT


def test_very_long_question_says_it_was_cut():
    answer = ENGINE.answer("委员活动的钱谁出" + "。" * 10_000)
    assert "太长" in answer.reply and answer.items == [45]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_unicode_gets_a_reply_within_the_limit(text):
    answer = ENGINE.answer(text)
    assert answer.reply.strip()
    assert utf16_len(answer.reply) <= TELEGRAM_LIMIT
    assert all(1 <= n <= 45 for n in answer.items)


# ---- every answer fits one message -----------------------------------------


def test_every_task_answer_fits():
    for task in PLAN.tasks:
        assert utf16_len(ENGINE.task_answer(task.number).reply) <= TELEGRAM_LIMIT


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=900), max_size=12), st.integers(min_value=50, max_value=4096))
def test_split_message_respects_limit_and_keeps_text(paragraphs, limit):
    text = "\n\n".join(paragraphs)
    parts = split_message(text, limit)
    assert all(utf16_len(p) <= limit for p in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "") or not text.strip()


def test_split_prefers_paragraph_boundaries():
    text = "\n\n".join(["甲" * 3000, "乙" * 3000])
    assert split_message(text) == ["甲" * 3000, "乙" * 3000]


# ---- command line ----------------------------------------------------------


def _cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], input=stdin, capture_output=True, text=True, timeout=60
    )


def test_ask_json_one_object_per_question():
    result = _cli("ask", "--json", "委员活动的钱谁出", "今天天气怎么样")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 0 and len(lines) == 2
    assert set(lines[0]) >= {"reply", "intent", "items", "units", "score"}
    assert lines[0]["items"][0] == 45 and lines[0]["units"] == ["财政局"]
    assert lines[1]["items"] == [] and lines[1]["intent"] == "out_of_scope"


def test_ask_reads_questions_from_stdin():
    result = _cli("ask", "--json", stdin="第33条\n统战部负责什么\n")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["intent"] for line in lines] == ["task", "unit"]


def test_chat_uses_the_dialogue_with_buttons():
    result = _cli("chat", stdin="新委员有没有培训\n!1\n/unit 财政局\n/quit\n")
    assert result.returncode == 0
    assert "您好，我是政协履职助手" in result.stdout
    assert "[!1] 第（32）项" in result.stdout
    assert "方案第（32）项" in result.stdout  # the button press
    assert "财政局（贺兰县财政局）是方案中 1 项任务的责任单位" in result.stdout


def test_eval_command_prints_accuracy():
    result = _cli("eval")
    assert result.returncode == 0 and "总计" in result.stdout and "paraphrase" in result.stdout


def test_a_reader_that_goes_away_gets_no_traceback():
    """cppcc-bot eval | head -1: the pipe closes while the report is printed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "eval", str(DATA / "questions_holdout3.jsonl")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    process.stdout.close()  # before anything is read: the first write meets a broken pipe
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 1
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr


def test_corrupt_plan_json_is_one_clear_line(tmp_path):
    import os
    import shutil

    from bot.config import knowledge_dir

    shutil.copytree(knowledge_dir(), tmp_path / "knowledge")
    (tmp_path / "knowledge" / "plan.json").write_text('{"schema": 1, "tasks": [', encoding="utf-8")
    env = {**os.environ, "CPPCC_KNOWLEDGE": str(tmp_path / "knowledge")}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "ask", "你好"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert result.stderr.startswith("错误：方案数据文件") and "已损坏" in result.stderr
    assert "Traceback" not in result.stderr
