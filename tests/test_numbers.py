"""The one parser for number arguments (bot/numbers.py) and the task-number forms built on it
(bot/plan/tasknumber.py), with the places that use them in the core and the command line."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import ledger, notices
from bot.answers.dialogue import Dialogue
from bot.answers.engine import default_engine
from bot.calendar.events import EventError, parse_time
from bot.config import ConfigError, parse_admin_ids
from bot.dates import parse_date
from bot.ledger import LedgerError
from bot.numbers import SQLITE_MAX, NumberError, has_foreign_digits, looks_numeric, parse_number, read_number
from bot.plan.model import Plan, default_plan
from bot.plan.tasknumber import looks_like_task_number, parse_task_number, split_task_number

USAGE = "用法：/demo 编号"
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
PLAN = default_plan()

# Characters that str.isdigit() (or re's \d) accepts but that are not ASCII or full-width digits.
FOREIGN_DIGITS = [
    ch for ch in map(chr, range(0x80, 0x30000)) if ch.isdigit() and not ("０" <= ch <= "９") and not ch.isascii()
]


def small_plan(count: int) -> Plan:
    """The real plan cut to its first ``count`` tasks: the valid range must follow it."""
    data = copy.deepcopy(PLAN.data)
    data["tasks"] = data["tasks"][:count]
    data["obligations"] = [o for o in data["obligations"] if o["task"] <= count]
    return Plan(data)


# ---- bot/numbers.py -------------------------------------------------------------------------------


@given(st.integers(1, SQLITE_MAX), st.booleans(), st.integers(0, 3), st.sampled_from(["", " ", "\u3000", "\t"]))
def test_ascii_and_full_width_digits_are_read(value, full_width, zeros, space):
    written = "0" * zeros + str(value)
    if full_width:
        written = written.translate(FULL_WIDTH)
    assert parse_number(f"{space}{written}{space}", usage=USAGE) == value
    assert read_number(written) == value


@given(st.text(min_size=1, max_size=12), st.text(alphabet="0123456789", max_size=4))
def test_anything_with_another_character_is_refused_with_the_usage(noise, digits):
    text = digits + noise
    if digits_only(text):
        return  # noise made only of digits and spaces is not noise
    with pytest.raises(NumberError) as refused:
        parse_number(text, usage=USAGE)
    assert refused.value.message.endswith(USAGE) and "不是有效的编号" in refused.value.message
    assert read_number(text) is None


def digits_only(text: str) -> bool:
    stripped = text.strip().translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    return bool(stripped) and all("0" <= ch <= "9" for ch in stripped)


@given(st.lists(st.sampled_from(FOREIGN_DIGITS), min_size=1, max_size=4), st.text(alphabet="0123456789", max_size=3))
def test_digits_of_other_kinds_are_refused_though_isdigit_accepts_them(foreign, ascii_digits):
    text = ascii_digits + "".join(foreign)
    assert text.isdigit()
    with pytest.raises(NumberError, match="只能用数字 0–9"):
        parse_number(text, usage=USAGE)
    assert read_number(text) is None
    assert has_foreign_digits(text) and looks_numeric(text)


@pytest.mark.parametrize("text", ["²", "¹²", "①", "٣٣", "१२", "-5", "+5", "1 2", "1,000", "12.0", "0x10", "1e3", ""])
def test_known_bad_forms(text):
    with pytest.raises(NumberError) as refused:
        parse_number(text, usage=USAGE)
    assert USAGE in refused.value.message


@given(st.integers(SQLITE_MAX + 1, 10**200))
def test_numbers_beyond_sqlite_are_out_of_range_not_an_overflow(value):
    with pytest.raises(NumberError) as refused:
        parse_number(str(value), usage=USAGE)
    assert "超出范围" in refused.value.message and str(SQLITE_MAX) in refused.value.message
    assert refused.value.message.endswith(USAGE)
    assert read_number(str(value)) is None


def test_a_huge_digit_string_is_refused_without_converting_it():
    # int() refuses strings above 4,300 digits; the parser must not even try.
    assert read_number("9" * 100_000) is None
    with pytest.raises(NumberError, match="超出范围"):
        parse_number("9" * 100_000, usage=USAGE)


@given(st.integers(-1000, 1000), st.integers(0, 50), st.integers(0, 50))
def test_the_range_is_inclusive_and_enforced(value, low, span):
    high = low + span
    expected = value if low <= value <= high else None
    assert read_number(str(value), low=low, high=high) == expected


@given(st.text(max_size=30))
def test_any_text_gives_a_number_or_a_number_error(text):
    try:
        value = parse_number(text, usage=USAGE)
    except NumberError as exc:
        assert exc.message.endswith(USAGE)
    else:
        assert 1 <= value <= SQLITE_MAX and digits_only(text)


def test_the_input_quoted_back_is_cut_short():
    with pytest.raises(NumberError) as refused:
        parse_number("x" * 500, usage=USAGE)
    assert len(refused.value.message) < 120 and "…" in refused.value.message


# ---- task numbers -----------------------------------------------------------------------------------


@given(st.integers(1, len(PLAN.tasks)), st.sampled_from(["{}", "第{}条", "第{}项", "（{}）", "({})", "#{}", " {} "]))
def test_task_numbers_in_every_written_form(number, form):
    for digits in (str(number), str(number).translate(FULL_WIDTH)):
        assert parse_task_number(form.format(digits), PLAN, USAGE) == number


@pytest.mark.parametrize(("text", "number"), [("第三十三条", 33), ("第十二條", 12), ("任务五", 5), ("第四十五项", 45)])
def test_chinese_numerals_after_di(text, number):
    assert parse_task_number(text, PLAN, USAGE) == number


@pytest.mark.parametrize("count", [10, 45])
def test_the_valid_range_is_the_plans(count):
    plan = small_plan(count)
    assert parse_task_number(str(count), plan, USAGE) == count
    for outside in (0, count + 1, 10**30):
        with pytest.raises(NumberError) as refused:
            parse_task_number(str(outside), plan, USAGE)
        assert f"方案共有 {count} 项任务" in refused.value.message and f"1 到 {count}" in refused.value.message
        assert refused.value.message.endswith(USAGE)


@pytest.mark.parametrize("text", ["²", "٣٣", "-3", "33.5", "abc", "3 3", "第33条谁负责"])
def test_not_task_numbers(text):
    with pytest.raises(NumberError) as refused:
        parse_task_number(text, PLAN, USAGE)
    assert refused.value.message.endswith(USAGE)


def test_split_a_leading_task_number_from_the_text():
    assert split_task_number("33本季度", PLAN, USAGE).rest == "本季度"
    assert split_task_number("（３３）：完成\n第二行", PLAN, USAGE) == split_task_number("33 完成\n第二行", PLAN, USAGE)
    assert split_task_number("本季度完成", PLAN, USAGE) is None
    assert split_task_number("三季度完成", PLAN, USAGE) is None  # Chinese numerals only after 第
    with pytest.raises(NumberError, match="不是有效的任务编号"):
        split_task_number("² 完成", PLAN, USAGE)


def test_what_looks_like_a_task_number():
    assert all(looks_like_task_number(t) for t in ("33", "²", "٣٣", "第99条", "9" * 30, "（7）"))
    assert not any(looks_like_task_number(t) for t in ("2027Q1", "-3", "q1", "统战部", ""))


# ---- the places that read numbers ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def dialogue() -> Dialogue:
    return Dialogue(default_engine())


@pytest.mark.parametrize("argument", ["²", "9" * 30, "٣٣", "-3", "46", "0", "统战部"])
def test_item_refuses_with_its_usage(dialogue, argument):
    text = dialogue.item(argument).text
    assert "/item 33" in text and "方案第" not in text


def test_item_reads_full_width_and_forms(dialogue):
    assert "方案第（33）项" in dialogue.item("３３").text
    assert "方案第（12）项" in dialogue.item("第十二條").text


@pytest.mark.parametrize("data", ["t:²", "t:" + "9" * 30, "q:²", "q:" + "9" * 30, "q:-1", "t:", "q:٣"])
def test_forged_button_data_gets_the_stale_button_note(dialogue, data):
    assert "按钮已失效" in dialogue.callback(data).text or "没有第" in dialogue.callback(data).text


@pytest.mark.parametrize("arguments", ["² 本季度", "9" * 30 + " 本季度", "٣٣ 本季度", "99 本季度"])
def test_report_command_refuses_bad_task_numbers(arguments):
    with pytest.raises(LedgerError) as refused:
        ledger.parse_report_command(arguments)
    assert "/report 33" in refused.value.message


def test_ledger_argument_is_a_task_number_or_not_one():
    assert ledger.ledger_task_argument("（33）") == 33
    assert ledger.ledger_task_argument("2027Q1") is None
    for bad in ("²", "9" * 30, "46"):
        with pytest.raises(LedgerError, match="/ledger 33"):
            ledger.ledger_task_argument(bad)


def test_quarters_and_dates_refuse_foreign_digits():
    with pytest.raises(LedgerError):
        ledger.parse_quarter("2027Q²")
    assert ledger.parse_quarter("２０２７Q1").code == "2027Q1"
    assert parse_date("2024-0²-01") is None and parse_date("٢٠٢٤-٠١-٠١") is None
    assert parse_date("２０２４-０２-０１").isoformat() == "2024-02-01"


def test_admin_ids_setting():
    assert parse_admin_ids("12, ３４") == frozenset({12, 34})
    for bad in ("²", "9" * 30, "-5"):
        with pytest.raises(ConfigError, match="CPPCC_ADMIN_IDS"):
            parse_admin_ids(bad)


@pytest.mark.parametrize(
    "argv",
    [
        ["admins", "add", "9" * 30],
        ["records", "correct", "²", "--title", "x"],
        ["notice", "report", "9" * 30],
        ["events", "cancel", "١٢"],
        ["ledger", "show", "-3"],
    ],
)
def test_command_line_ids_are_refused_in_one_line(tmp_path, argv):
    env = {**os.environ, "CPPCC_DB": str(tmp_path / "cppcc.db")}
    result = subprocess.run([sys.executable, "-m", "bot.cli", *argv], env=env, capture_output=True, text=True)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]  # argparse: the usage, then one line with the error
    assert "error: argument" in last and ("超出范围" in last or "只能用数字 0–9" in last)


def test_times_refuse_foreign_digits():
    now = datetime(2027, 3, 1, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert notices.parse_send_time("明天 ９:００", now).hour == 9
    for text in ("明天 ²:00", "明天 ٩:٠٠"):
        with pytest.raises(notices.NoticeError, match="数字 0–9"):
            notices.parse_send_time(text, now)
    assert parse_time("１４:３０").hour == 14
    with pytest.raises(EventError, match="14:30"):
        parse_time("¹⁴:30")
