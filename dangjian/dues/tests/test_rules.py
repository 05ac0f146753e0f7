"""The rules engine: every band edge of every category, in 分 (DOMAIN-RULES §3.1), rounding, settings."""

import pytest

from dangjian.core.errors import ValidationFailed
from dangjian.dues import rules
from dangjian.dues.rules import Category, monthly_amount

SALARIED = [Category.EMPLOYED, Category.ANNUAL_SALARY, Category.SELF_EMPLOYED]

# (base 分, rate basis points, monthly 分): the rate applies to the whole base; rounding half up to the 分.
SALARIED_EDGES = [
    (0, 50, 0),
    (1, 50, 0),  # 0.005 分
    (100, 50, 1),  # 1 元 → 0.5 分 → 1 (half up)
    (299_999, 50, 1500),  # 1499.995 → 1500
    (300_000, 50, 1500),  # 3000 元 exactly: still 0.5%
    (300_001, 100, 3000),  # 3000.01 元: 1% of the whole base (30.0001 元), not marginal
    (499_999, 100, 5000),
    (500_000, 100, 5000),
    (500_001, 150, 7500),
    (999_999, 150, 15000),
    (1_000_000, 150, 15000),
    (1_000_001, 200, 20000),
    (1_234_567, 200, 24691),  # 24691.34 → 24691
    (10_000_000, 200, 200_000),  # the default ceiling itself is accepted
]
RETIRED_EDGES = [
    (0, 50, 0),
    (300_000, 50, 1500),
    (499_999, 50, 2500),  # 2499.995 → 2500
    (500_000, 50, 2500),
    (500_001, 100, 5000),
    (800_000, 100, 8000),
]


@pytest.mark.parametrize("category", SALARIED)
@pytest.mark.parametrize("base, bp, fen", SALARIED_EDGES)
def test_salaried_band_edges(category, base, bp, fen):
    amount = monthly_amount(category, base)
    assert (amount.rate_bp, amount.monthly_fen) == (bp, fen)
    assert "中组发〔2008〕3号" in amount.article


@pytest.mark.parametrize("base, bp, fen", RETIRED_EDGES)
def test_retired_band_edges(base, bp, fen):
    amount = monthly_amount(Category.RETIRED, base)
    assert (amount.rate_bp, amount.monthly_fen) == (bp, fen)


@pytest.mark.parametrize("category", [Category.FARMER, Category.STUDENT, Category.UNEMPLOYED, Category.RELIEF,
                                      Category.SUBSISTENCE])
@pytest.mark.parametrize("base", [None, 0, 999_999])
def test_fixed_categories_ignore_the_base(category, base):
    amount = monthly_amount(category, base)
    assert amount.monthly_fen == 20 and amount.rate_bp is None and amount.rate_label == "定额"


@pytest.mark.parametrize("category", SALARIED + [Category.RETIRED])
def test_negative_missing_and_absurd_bases_are_refused(category):
    for base, text in ((-1, "不能为负数"), (None, "必须填写"), (10_000_001, "超过 100000.00 元")):
        with pytest.raises(ValidationFailed) as e:
            monthly_amount(category, base)
        assert "dues_base_fen" in e.value.fields and text in e.value.fields["dues_base_fen"][0]
        assert e.value.fields["dues_base_fen"][0].startswith("交纳基数：")


def test_unknown_category_is_refused():
    with pytest.raises(ValidationFailed) as e:
        monthly_amount("astronaut", 100)
    assert "category" in e.value.fields


@pytest.mark.parametrize("how, fen", [("half_up", 1500), ("down", 1499), ("up", 1500)])
def test_rounding_is_a_setting(settings, how, fen):
    settings.DANGJIAN_DUES = {"rounding": how}
    assert monthly_amount(Category.EMPLOYED, 299_999).monthly_fen == fen  # 1499.995 分


def test_settings_override_one_category_and_keep_the_rest(settings):
    settings.DANGJIAN_DUES = {"categories": {"farmer": {"fen": 100}}, "base_max_fen": 500_000}
    assert monthly_amount(Category.FARMER, None).monthly_fen == 100
    assert monthly_amount(Category.STUDENT, None).monthly_fen == 20
    assert monthly_amount(Category.EMPLOYED, 500_000).monthly_fen == 5000
    with pytest.raises(ValidationFailed):
        monthly_amount(Category.EMPLOYED, 500_001)


def test_arrears_levels_follow_the_settings(settings):
    assert [rules.arrears_level(n) for n in range(8)] == ["", "", "", "warning", "warning", "danger", "lapsed",
                                                          "lapsed"]
    assert "党章第九条" in rules.arrears_text(5)
    settings.DANGJIAN_DUES = {"arrears_warning_months": [2, 4]}
    assert rules.arrears_level(2) == "warning" and rules.arrears_level(4) == "danger"


@pytest.mark.parametrize("text, fen", [("3500", 350000), ("3500.5", 350050), ("3,500.05", 350005), ("0", 0),
                                       ("12元", 1200), ("１００", 10000)])
def test_parse_yuan(text, fen):
    assert rules.parse_yuan(text, field="base", label="交纳基数") == fen


@pytest.mark.parametrize("text", ["", "abc", "1.234", "1e5", "١٠٠"])
def test_parse_yuan_refuses(text):
    with pytest.raises(ValidationFailed) as e:
        rules.parse_yuan(text, field="base", label="交纳基数")
    assert e.value.fields["base"][0].startswith("交纳基数：")


def test_yuan_and_months():
    assert rules.yuan(0) == "0.00" and rules.yuan(123456) == "1234.56" and rules.yuan(5) == "0.05"
    import datetime as dt

    assert rules.add_months(dt.date(2026, 11, 1), 3) == dt.date(2027, 2, 1)
    assert rules.add_months(dt.date(2026, 1, 1), -1) == dt.date(2025, 12, 1)
    assert rules.months_between(dt.date(2025, 12, 1), dt.date(2026, 2, 1)) == 2
