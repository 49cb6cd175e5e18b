"""bot/phone.py: rosters and Telegram contacts read into E.164, masking, and the storage migration."""

from __future__ import annotations

import pytest
import sqlite_utils
from hypothesis import given
from hypothesis import strategies as st
from people_support import NOW, TZ, open_storage

from bot.csvfile import ImportProblems
from bot.people.identity import PeopleError, bind_by_contact
from bot.people.roles import CLI_CALLER
from bot.people.roster import import_members
from bot.phone import (
    LANDLINE,
    NOT_DIGITS,
    NOT_MOBILE,
    ROSTER,
    TELEGRAM,
    PhoneError,
    country_code,
    display_phone,
    mask_phone,
    to_e164,
)
from bot.storage import MIGRATIONS, Storage, migrate, stamp

# ---- rosters: no country code means China ----------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "13809510002",
        "138 0951 0002",
        "138-0951-0002",
        "(138)09510002",
        "１３８０９５１０００２",  # full-width
        "１３８－０９５１－０００２",
        "+86 138 0951 0002",
        "+86-13809510002",
        "0086 13809510002",
        "8613809510002",
        " 138\u30000951\u30000002 ",  # ideographic spaces
    ],
)
def test_roster_numbers_without_country_code_are_chinese(raw):
    assert to_e164(raw, ROSTER) == "+8613809510002"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("+1 380 951 0002", "+13809510002"), ("0044 7700 900123", "+447700900123"), ("+852 9123 4567", "+85291234567")],
)
def test_roster_numbers_with_a_country_code_keep_it(raw, expected):
    assert to_e164(raw, ROSTER) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("0951-1234567", LANDLINE),  # area code + local number
        ("010 8888 6666", LANDLINE),
        ("2345678", LANDLINE),  # local number alone
        ("+86 951 1234567", LANDLINE),
        ("12812345678", NOT_MOBILE),  # second digit 2
        ("1381234567", NOT_MOBILE),  # 10 digits
        ("1380000", NOT_MOBILE),
        ("86138123456", NOT_MOBILE),  # 86 is a prefix only of 13 digits
        ("+8612812345678", NOT_MOBILE),
        ("138abc45678", NOT_DIGITS),
        ("0951-1234567转8001", NOT_DIGITS),  # an extension
        ("", "没有号码"),
    ],
)
def test_roster_refusals_give_the_reason(raw, reason):
    with pytest.raises(PhoneError) as caught:
        to_e164(raw, ROSTER)
    assert caught.value.message == reason


# ---- Telegram: the digits always carry the country code ---------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("8613809510002", "+8613809510002"),  # Chinese mobile, the usual form
        ("+8613809510002", "+8613809510002"),
        ("86 138 0951 0002", "+8613809510002"),
        ("+86 138 0951 0002", "+8613809510002"),
        ("13809510002", "+13809510002"),  # North America: +1 380 951 0002, NOT a Chinese mobile
        ("+1 380 951 0002", "+13809510002"),
        ("447700900123", "+447700900123"),  # United Kingdom
        ("+44 7700 900123", "+447700900123"),
        ("85291234567", "+85291234567"),  # Hong Kong
        ("79161234567", "+79161234567"),  # Russia
    ],
)
def test_telegram_numbers_keep_their_country_code(raw, expected):
    assert to_e164(raw, TELEGRAM) == expected


@pytest.mark.parametrize("raw", ["", "not a phone", "0013809510002", "123456", "1" * 16])
def test_telegram_numbers_that_are_not_numbers(raw):
    with pytest.raises(PhoneError):
        to_e164(raw, TELEGRAM)


def test_an_11_digit_number_starting_with_1_depends_on_its_source():
    assert to_e164("13809510002", ROSTER) != to_e164("13809510002", TELEGRAM)


def test_unknown_source_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown phone source"):
        to_e164("13809510002", "fax")


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), st.sampled_from(["", " ", "-"]), st.booleans())
def test_a_roster_mobile_equals_the_same_mobile_from_telegram(mobile, sep, plus):
    spaced = sep.join((mobile[:3], mobile[3:7], mobile[7:]))
    shared = ("+" if plus else "") + "86" + sep + spaced
    assert to_e164(spaced, ROSTER) == to_e164(shared, TELEGRAM) == "+86" + mobile
    assert to_e164(mobile, TELEGRAM) != "+86" + mobile


# ---- country codes, display, masking ---------------------------------------------------------


@pytest.mark.parametrize(
    ("e164", "code"),
    [
        ("+8613809510002", "86"),
        ("+13809510002", "1"),
        ("+79161234567", "7"),
        ("+447700900123", "44"),
        ("+85291234567", "852"),
        ("+886912345678", "886"),
        ("+3531234567", "353"),
    ],
)
def test_country_code(e164, code):
    assert country_code(e164) == code


@pytest.mark.parametrize(
    ("e164", "masked", "shown"),
    [
        ("+8613809510002", "+86 138****0002", "13809510002"),
        ("+13809510002", "+1 38****0002", "+1 3809510002"),
        ("+447700900123", "+44 77****0123", "+44 7700900123"),
        ("+85291234567", "+852 ****4567", "+852 91234567"),
    ],
)
def test_mask_and_display(e164, masked, shown):
    assert mask_phone(e164) == masked
    assert display_phone(e164) == shown


@given(st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True))
def test_masking_hides_at_least_four_digits(e164):
    masked = mask_phone(e164)
    assert masked.count("*") == 4
    visible = sum(ch.isdigit() for ch in masked) - len(country_code(e164))
    assert visible <= len(e164) - 1 - len(country_code(e164)) - 4


def test_masking_something_else_shows_nothing():
    assert mask_phone("13809510002") == mask_phone("") == "****"


# ---- the roster import and its messages ------------------------------------------------------------


def test_roster_import_stores_e164_and_explains_landlines(tmp_path):
    storage = open_storage(tmp_path)
    csv = "姓名,手机号\n张三,138 0951 0002\n李四,0951-1234567\n王五,+86 138-0951-0002\n"
    with pytest.raises(ImportProblems) as caught:
        import_members(storage, CLI_CALLER, csv.encode(), now=NOW)
    assert caught.value.problems == [
        f"第3行：手机号“0951-1234567”无效（{LANDLINE}）",
        "第4行：手机号 13809510002 与第2行重复",
    ]
    csv = "姓名,手机号\n张三,138 0951 0002\n侨界委员,+852 9123 4567\n"
    import_members(storage, CLI_CALLER, csv.encode(), now=NOW)
    assert [m.phone for m in storage.people("member")] == ["+8613809510002", "+85291234567"]


# ---- migration 3: stored 11-digit numbers become E.164 ------------------------------------------


def test_upgrade_converts_stored_numbers_and_contacts_still_match(tmp_path):
    path = tmp_path / "old.db"
    old = sqlite_utils.Database(path)
    migrate(old, MIGRATIONS[:2])
    at = stamp(NOW)
    for table, rows in {
        "members": [(1, "张三", "13809510002"), (2, "李四", "13900001111")],
        "unit_contacts": [(1, "赵六", "13600003333")],
    }.items():
        for row_id, name, phone in rows:
            extra = {"unit_id": "party_office"} if table == "unit_contacts" else {}
            old[table].insert({"id": row_id, "name": name, "phone": phone, "created_at": at, "updated_at": at, **extra})
    old.close()

    storage = Storage(path, TZ)
    assert [m.phone for m in storage.people("member")] == ["+8613809510002", "+8613900001111"]
    assert storage.people("unit_contact")[0].phone == "+8613600003333"
    assert bind_by_contact(storage, 77, 77, "8613809510002", now=NOW).name == "张三"
    with pytest.raises(PeopleError, match="名册中没有找到"):
        bind_by_contact(storage, 78, 78, "13900001111", now=NOW)  # +1 390…, not 李四
    storage.close()
    with Storage(path, TZ) as reopened:  # the migration runs once: no +86+86…
        assert reopened.people("member")[0].phone == "+8613809510002"
