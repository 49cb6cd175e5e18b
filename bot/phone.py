"""Phone numbers as E.164 (``+8613809510002``): one parser for both sources, display and masking.

Where a number comes from decides how its digits are read:

* ``ROSTER``: typed by the office. A number without a country code is Chinese (+86), so
  138 0951 0002, 138-0951-0002 and full-width digits all mean +8613809510002; a +86, 0086 or
  86 prefix is accepted, and so is another country's number written with + or 00. Chinese
  numbers must be mobiles: a landline cannot share a Telegram contact.
* ``TELEGRAM``: ``Contact.phone_number``, which always carries the country code, usually
  without ``+``. 8613809510002 is Chinese, but 13809510002 is +1 380 951 0002 (North America)
  and 447700900123 is British. An 11-digit number starting with 1 is therefore read
  differently from the two sources, on purpose.

Two numbers belong to the same person only when their E.164 forms are equal.
"""

from __future__ import annotations

import re
import unicodedata

from bot.errors import UserError

ROSTER = "roster"
TELEGRAM = "telegram"
CHINA = "86"

_NOISE = re.compile(r"[\s\-‐‑–—－()（）.]")
_MOBILE = re.compile(r"1[3-9]\d{9}")
_E164 = re.compile(r"\+[1-9]\d{6,14}")
# ITU-T E.164 country codes are prefix-free: 1 and 7 are the one-digit codes, these are the
# two-digit ones (as inclusive ranges), and every other code has three digits.
_TWO_DIGIT_RANGES = ((20, 20), (27, 27), (30, 34), (36, 36), (39, 41), (43, 49), (51, 58), (60, 66), (81, 82), (84, 84))
_TWO_DIGIT_RANGES += ((86, 86), (90, 95), (98, 98))
_TWO_DIGIT_CODES = frozenset(str(code) for low, high in _TWO_DIGIT_RANGES for code in range(low, high + 1))

EMPTY = "没有号码"
NOT_MOBILE = "应为11位大陆手机号"
LANDLINE = "这是固定电话号码，请填写手机号"
NOT_DIGITS = "只能包含数字，可带 +、空格或短横线"
BAD_LENGTH = "位数不对：带国家代码的号码应为7到15位数字"


class PhoneError(UserError):
    """A number that is not a usable phone number; ``message`` is the reason in Chinese."""


def to_e164(raw: str, source: str) -> str:
    """``raw`` as E.164 (``+8613809510002``), read by the rules of ``source`` (ROSTER or TELEGRAM).

    Spaces, dashes, dots, parentheses and full-width characters are ignored. Raises
    PhoneError with the reason when the text is not a usable number.
    """
    if source not in (ROSTER, TELEGRAM):
        raise ValueError(f"unknown phone source {source!r}")
    text = _NOISE.sub("", unicodedata.normalize("NFKC", raw or ""))
    plus = text.startswith("+")
    digits = text[1:] if plus else text
    if not digits:
        raise PhoneError(EMPTY)
    if not (digits.isascii() and digits.isdigit()):
        raise PhoneError(NOT_DIGITS)
    if source == TELEGRAM or plus:
        number = digits
    elif digits.startswith("00"):  # international call prefix, as in 0086 …
        number = digits[2:]
    elif digits.startswith(CHINA) and len(digits) == len(CHINA) + 11:
        number = digits
    else:
        number = CHINA + _chinese_national(digits, trunk=True)
    if not _E164.fullmatch("+" + number):
        raise PhoneError(BAD_LENGTH)
    if source == ROSTER and number.startswith(CHINA):
        _chinese_national(number[len(CHINA) :], trunk=False)
    return "+" + number


def _chinese_national(digits: str, *, trunk: bool) -> str:
    """A Chinese number without country code, if it is a mobile; else PhoneError saying why.

    Landlines are written 0 + area code + 7–8 digits (``trunk``: as dialled inside China) or
    7–8 digits alone; after +86 the area code comes without its 0.
    """
    if _MOBILE.fullmatch(digits):
        return digits
    local = len(digits) in (7, 8) and digits[0] not in "01"
    with_area = 10 <= len(digits) <= 12 and digits[0] == "0" if trunk else 9 <= len(digits) <= 11 and digits[0] != "1"
    if local or with_area:
        raise PhoneError(LANDLINE)
    raise PhoneError(NOT_MOBILE)


def country_code(e164: str) -> str:
    """The country calling code of an E.164 number, without + ("86", "1", "44", "852")."""
    digits = e164.lstrip("+")
    if digits[:1] in ("1", "7"):
        return digits[:1]
    return digits[:2] if digits[:2] in _TWO_DIGIT_CODES else digits[:3]


def display_phone(e164: str) -> str:
    """How the office writes it: a Chinese number as its 11 digits, others as +44 7700900123."""
    code = country_code(e164)
    national = e164[len(code) + 1 :]
    return national if code == CHINA else f"+{code} {national}"


def mask_phone(e164: str) -> str:
    """+86 138****0002: enough to recognise, not enough to copy (at least 4 digits hidden)."""
    if not _E164.fullmatch(e164 or ""):
        return "****"
    code = country_code(e164)
    national = e164[len(code) + 1 :]
    shown = len(national) - 4
    tail = min(4, shown)
    head = min(3, shown - tail)
    return f"+{code} {national[:head]}****{national[len(national) - tail :]}"
