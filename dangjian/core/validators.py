"""Identifier formats (DOMAIN-RULES §8): 公民身份号码 (GB 11643) and mainland mobile numbers."""

from __future__ import annotations

import datetime as dt
import operator
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
# Province-level prefixes (GB/T 2260). The full address code is not checked: districts are renamed but
# numbers never change (§8.1), so only the province is validated. 83 = 台湾居民居住证.
PROVINCE_CODES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 "
    "71 81 82 83".split()
)
PHONE_RE = re.compile(r"^1[3-9]\d{9}$")


@dataclass(frozen=True)
class IdNumber:
    number: str  # 18 characters, check character upper-case
    birth_date: dt.date
    gender: str  # "male" | "female"


def id_check_char(first17: str) -> str:
    if len(first17) != len(ID_WEIGHTS):
        raise ValueError("id_check_char takes the first 17 characters")
    # map() rather than a generator: half the time, and a roster import checks every row's number. ASCII digits
    # weighed by their byte values, less what the 48 of "0" adds (no int() per digit); other digits (全角) by
    # int(), which also refuses a character that is no digit
    if first17.isascii() and first17.isdigit():
        return ID_CHECK_CHARS[(sum(map(operator.mul, first17.encode(), ID_WEIGHTS)) - _ZERO_WEIGHT) % 11]
    return ID_CHECK_CHARS[sum(map(operator.mul, map(int, first17), ID_WEIGHTS)) % 11]


_ZERO_WEIGHT = ord("0") * sum(ID_WEIGHTS)


def parse_id_number(raw: str, *, today: dt.date | None = None) -> IdNumber:
    """Validate and normalise an ID number; a 15-digit legacy number is converted to 18 digits."""
    value = (raw or "").strip().replace(" ", "").upper()
    if len(value) == 15:
        if not value.isdigit():
            raise ValidationError("15位旧号码只能由数字组成", code="id_chars")
        first17 = value[:6] + "19" + value[6:]
        value = first17 + id_check_char(first17)
    if len(value) != 18:
        raise ValidationError("应为18位（或15位旧号码），当前为%(n)d位", code="id_length", params={"n": len(value)})
    if not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        raise ValidationError("前17位须为数字，最后一位为数字或X", code="id_chars")
    if value[:2] not in PROVINCE_CODES:
        raise ValidationError("前两位“%(p)s”不是有效的省级行政区代码", code="id_province", params={"p": value[:2]})
    try:
        birth = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise ValidationError("其中的出生日期“%(d)s”不存在", code="id_date", params={"d": value[6:14]}) from None
    today = today or timezone.localdate()
    if birth > today or birth.year < 1900:
        raise ValidationError("其中的出生日期“%(d)s”不合理", code="id_date", params={"d": value[6:14]})
    if id_check_char(value[:17]) != value[17]:
        raise ValidationError("校验位不正确，请核对号码", code="id_check")
    return IdNumber(value, birth, "male" if int(value[16]) % 2 else "female")


def normalize_phone(raw: str) -> str:
    value = re.sub(r"[\s-]", "", raw or "")
    if value.startswith("+86"):
        value = value[3:]
    if not PHONE_RE.match(value):
        raise ValidationError("应为以1开头的11位数字", code="phone")
    return value


def build_id_number(region: str, birth: dt.date, sequence: int, gender: str) -> str:
    """A well-formed 18-digit number (demo data and tests): the 17th digit is odd for men, even for women."""
    seq = sequence % 500 * 2 + (1 if gender == "male" else 0)  # 0..999 with the right parity
    first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
    return first17 + id_check_char(first17)
