import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from dangjian.core.validators import build_id_number, id_check_char, normalize_phone, parse_id_number


@pytest.mark.parametrize(
    "raw, number, birth, gender",
    [
        ("11010519491231002X", "11010519491231002X", dt.date(1949, 12, 31), "female"),
        ("11010519491231002x", "11010519491231002X", dt.date(1949, 12, 31), "female"),  # lowercase x accepted
        (" 110105 19491231002X ", "11010519491231002X", dt.date(1949, 12, 31), "female"),
        ("440524199001010018", "440524199001010018", dt.date(1990, 1, 1), "male"),
    ],
)
def test_valid_id_numbers_are_normalised(raw, number, birth, gender):
    info = parse_id_number(raw, today=dt.date(2026, 11, 29))
    assert (info.number, info.birth_date, info.gender) == (number, birth, gender)


def test_check_character_matches_the_domain_rules_examples():
    assert id_check_char("11010519491231002") == "X"
    assert id_check_char("44052418800101001") == "4"


def test_fifteen_digit_number_is_converted_to_eighteen():
    info = parse_id_number("110105491231002")
    assert info.number == "11010519491231002X"
    assert info.birth_date == dt.date(1949, 12, 31)
    assert info.gender == "female"


@pytest.mark.parametrize(
    "raw, code",
    [
        ("110105194912310021", "id_check"),  # wrong check digit
        ("110105194902300028", "id_date"),  # 30 February does not exist
        ("110105203001010010", "id_date"),  # born in the future
        ("990105194912310023", "id_province"),  # no province 99
        ("11010519491231002", "id_length"),
        ("1101051949123100AX", "id_chars"),
        ("11010549123100A", "id_chars"),
        ("", "id_length"),
    ],
)
def test_invalid_id_numbers_are_refused_with_a_reason(raw, code):
    with pytest.raises(ValidationError) as e:
        parse_id_number(raw, today=dt.date(2026, 11, 29))
    assert e.value.code == code
    assert e.value.messages[0] and "身份证号" not in e.value.messages[0]  # the form adds the field label once


def test_built_numbers_are_valid_and_carry_the_gender():
    for gender in ("male", "female"):
        number = build_id_number("320102", dt.date(1990, 5, 17), 7, gender)
        assert parse_id_number(number).gender == gender


@pytest.mark.parametrize("raw, ok", [("13912345678", "13912345678"), ("+86 139-1234-5678", "13912345678"),
                                     ("12912345678", None), ("1391234567", None), ("1441234567890", None)])
def test_phone(raw, ok):
    if ok:
        assert normalize_phone(raw) == ok
    else:
        with pytest.raises(ValidationError):
            normalize_phone(raw)


def test_the_check_character_needs_exactly_17_characters():
    assert id_check_char("11010519491231002") == "X"  # GB 11643's example
    for wrong in ("1101051949123100", "110105194912310021", "1101051949123100A"):
        with pytest.raises(ValueError):
            id_check_char(wrong)


def test_the_check_character_of_full_width_digits_is_that_of_the_ascii_ones():
    """ASCII digits take a shortcut (their byte values); any other digits int() reads must agree with it."""
    wide = "".join(chr(ord(c) - ord("0") + ord("０")) for c in "11010519491231002")
    assert id_check_char(wide) == id_check_char("11010519491231002") == "X"
    assert [id_check_char(f"4405241880010100{d}") for d in "0123456789"] == list("642097531X")  # by the GB 11643 formula
