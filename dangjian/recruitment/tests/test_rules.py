"""The rules engine on its own (no database): votes at their exact edges, which rule set is in force on a day,
the derived dates of §1.6 at month ends and leap days, the half-year assessment windows, ages, 超期 marks."""

import datetime as dt

import pytest

from dangjian.core.errors import RuleViolation
from dangjian.recruitment import rules

D = dt.date
ON_2026 = D(2026, 6, 1)  # a day under the 2026 text
ON_2014 = D(2025, 6, 1)  # a day under the 2014 text
ART19 = "《中国共产党发展党员工作细则》第十九条"
ART20 = "《中国共产党发展党员工作细则》第二十条"


# --- votes (DOMAIN-RULES §1.3) ------------------------------------------------------------------------------

def vote(expected, present, yes, no=0, abstain=0, written=0, on=ON_2026):
    return rules.check_vote(on=on, expected=expected, present=present, written=written, yes=yes, no=no,
                            abstain=abstain)


@pytest.mark.parametrize("expected, present, written, yes, no, abstain", [
    pytest.param(10, 6, 0, 6, 0, 0, id="10-present6-yes6"),  # both just over half
    pytest.param(10, 10, 0, 6, 4, 0, id="10-all-present-yes6"),
    pytest.param(9, 5, 0, 5, 0, 0, id="9-present5-yes5"),  # odd: 5 > 4.5
    pytest.param(10, 6, 4, 6, 4, 0, id="written-opinions-count-as-votes"),  # 10 votes from 6 present + 4 written
    pytest.param(10, 6, 3, 6, 0, 0, id="written-opinions-yes-not-needed"),
    pytest.param(10, 6, 2, 8, 0, 0, id="written-yes-make-the-majority"),
    pytest.param(1, 1, 0, 1, 0, 0, id="one-member"),
    pytest.param(10, 8, 0, 6, 1, 0, id="not-everyone-present-votes"),
])
def test_vote_passes_at_the_edges(expected, present, written, yes, no, abstain):
    assert vote(expected, present, yes, no, abstain, written) is None


@pytest.mark.parametrize("expected, present, written, yes, no, abstain, code, article, field, words", [
    # quorum (第十九条): present MORE than half of those who should attend; written opinions do not make a quorum
    pytest.param(10, 5, 0, 5, 0, 0, "quorum", ART19, "voters_present", "未超过应到10人的半数", id="10-present5"),
    pytest.param(10, 5, 3, 8, 0, 0, "quorum", ART19, "voters_present", "未超过应到10人的半数",
                 id="10-present5-written-do-not-make-quorum"),
    pytest.param(9, 4, 0, 4, 0, 0, "quorum", ART19, "voters_present", "未超过应到9人的半数", id="9-present4"),
    pytest.param(10, 8, 3, 8, 0, 0, "quorum", ART19, "voters_present", "多于应到10人", id="present+written>expected"),
    pytest.param(0, 0, 0, 0, 0, 0, "quorum", ART19, "voters_expected", "应大于0", id="expected0"),
    # majority (第二十条): yes MORE than half of those who SHOULD attend, not of those present
    pytest.param(10, 10, 0, 5, 5, 0, "majority", ART20, "yes", "赞成5票，未超过应到会有表决权党员10人的半数",
                 id="10-yes5"),
    pytest.param(10, 6, 0, 5, 0, 1, "majority", ART20, "yes", "未超过", id="yes-majority-of-present-is-not-enough"),
    pytest.param(9, 9, 0, 4, 5, 0, "majority", ART20, "yes", "赞成4票", id="9-yes4"),
    # more ballots than voters
    pytest.param(10, 6, 0, 6, 1, 0, "majority", ART20, "yes", "合计7票，多于实到人数与书面意见之和6",
                 id="votes>present"),
    pytest.param(10, 6, 2, 6, 2, 1, "majority", ART20, "yes", "合计9票，多于实到人数与书面意见之和8",
                 id="votes>present+written"),
])
def test_vote_refusals_name_rule_article_and_field(expected, present, written, yes, no, abstain, code, article,
                                                     field, words):
    with pytest.raises(RuleViolation) as e:
        vote(expected, present, yes, no, abstain, written)
    err = e.value
    assert err.rule == f"recruitment.{code}"
    assert err.article == article
    assert list(err.fields) == [field]
    assert words in err.message and err.message.endswith(f"（{article}）")
    assert err.fields[field][0].startswith({"voters_present": "实到会有表决权党员：", "voters_expected":
                                            "应到会有表决权党员：", "yes": "赞成："}[field])


def test_vote_refusal_under_2014_rules_cites_the_2014_text():
    with pytest.raises(RuleViolation) as e:
        vote(10, 5, 5, on=ON_2014)
    assert e.value.rule == "recruitment.quorum"
    assert e.value.article == "《中国共产党发展党员工作细则》（2014年）"


# --- which text is in force --------------------------------------------------------------------------------

@pytest.mark.parametrize("day, version", [
    (D(2026, 5, 10), "2014"),
    (D(2026, 5, 11), "2026"),
    (D(2026, 5, 12), "2026"),
    (D(2014, 6, 10), "2014"),
    (D(2010, 1, 1), "2014"),  # before every text: the oldest
    (D(2030, 1, 1), "2026"),
])
def test_version_on_the_effective_dates(day, version):
    assert rules.version_on(day) == version


def test_version_dates_come_from_settings(settings):
    settings.DANGJIAN_RECRUITMENT = {**settings.DANGJIAN_RECRUITMENT, "effective": {"2026": D(2026, 7, 1)}}
    assert rules.version_on(D(2026, 6, 30)) == "2014"
    assert rules.version_on(D(2026, 7, 1)) == "2026"
    assert rules.config()["effective"]["2014"] == D(2014, 6, 10)  # the other date is kept
    assert rules.rule("meeting_months", D(2026, 6, 30)).value is None
    assert rules.rule("meeting_months", D(2026, 7, 1)).value == 1


# The 2026 article numbers (DOMAIN-RULES §1.2), not the 2014 ones that most pages still quote.
@pytest.mark.parametrize("code, article, value", [
    ("min_age", "第五条", 18),
    ("talk_months", "第七条", 1),
    ("mentors", "第九条", 2),
    ("assessment_months", "第十一条", 6),
    ("activist_years", "第十三条", 1),
    ("public_notice_working_days", "第十三条", 5),
    ("sponsors", "第十四条", 2),
    ("sponsor_fit", "第十四条", None),
    ("political_review", "第十六条", None),
    ("training_days", "第十七条", 3),
    ("training_hours", "第十七条", 24),
    ("leaving_soon", "第十八条", 3),
    ("meeting_months", "第十九条", 1),
    ("quorum", "第十九条", None),
    ("majority", "第二十条", None),
    ("approval_authority", "第二十二条", None),
    ("approval_months", "第二十五条", 3),
    ("approval_max_months", "第二十五条", 6),
    ("oath_months", "第二十九条", 1),
    ("probation_years", "第三十一条", 1),
    ("extension", "第三十一条", 12),
    ("conversion_months", "第三十三条", 3),
])
def test_2026_articles_and_values(code, article, value):
    r = rules.rule(code, ON_2026)
    assert f"{rules.REG_2026}{article}" in r.article
    assert r.value == value


@pytest.mark.parametrize("code", ["public_notice_working_days", "meeting_months", "oath_months", "superior_consent"])
def test_2014_has_no_such_limit(code):
    assert rules.rule(code, ON_2014).value is None
    assert rules.rule(code, ON_2026).value is not None


# --- derived dates (§1.6) ---------------------------------------------------------------------------------

@pytest.mark.parametrize("admitted, extension, ends, converts", [
    (D(2020, 6, 1), 0, D(2021, 6, 1), D(2021, 6, 1)),
    (D(2024, 2, 29), 0, D(2025, 2, 28), D(2025, 2, 28)),  # leap day: 28 Feb the next year
    (D(2023, 2, 28), 0, D(2024, 2, 28), D(2024, 2, 28)),  # not pushed to the leap day
    (D(2024, 2, 29), 6, D(2025, 8, 28), D(2025, 8, 28)),  # the extension runs from the end of the year
    (D(2025, 1, 31), 6, D(2026, 7, 31), D(2026, 7, 31)),
    (D(2025, 1, 31), 12, D(2027, 1, 31), D(2027, 1, 31)),
    (D(2025, 8, 31), 6, D(2027, 2, 28), D(2027, 2, 28)),  # into a short month: its last day
    (D(2026, 8, 31), 6, D(2028, 2, 29), D(2028, 2, 29)),  # … a leap February
    (D(2025, 12, 31), 0, D(2026, 12, 31), D(2026, 12, 31)),
])
def test_probation_dates_same_day(admitted, extension, ends, converts):
    assert rules.probation_dates(admitted, extension) == (ends, converts)


@pytest.mark.parametrize("admitted, extension, ends, converts", [
    (D(2020, 6, 1), 0, D(2021, 5, 31), D(2021, 6, 1)),
    (D(2024, 2, 29), 0, D(2025, 2, 27), D(2025, 2, 28)),
    (D(2025, 1, 31), 6, D(2026, 7, 30), D(2026, 7, 31)),
    (D(2025, 3, 1), 0, D(2026, 2, 28), D(2026, 3, 1)),
])
def test_probation_dates_day_before(settings, admitted, extension, ends, converts):
    settings.DANGJIAN_RECRUITMENT = {**settings.DANGJIAN_RECRUITMENT, "probation_end": "day_before"}
    assert rules.probation_dates(admitted, extension) == (ends, converts)


def test_activist_period_start_is_a_setting(settings):
    confirmed, filed = D(2025, 3, 1), D(2025, 3, 20)
    assert rules.activist_period_start(confirmed, filed) == confirmed
    settings.DANGJIAN_RECRUITMENT = {**settings.DANGJIAN_RECRUITMENT, "activist_period_from": 4}
    assert rules.activist_period_start(confirmed, filed) == filed
    assert rules.activist_period_start(confirmed, None) == confirmed  # not filed yet


# --- half-year assessments (§11) ----------------------------------------------------------------------------

START = D(2024, 6, 6)


@pytest.mark.parametrize("start, until, assessed, gap", [
    pytest.param(START, D(2024, 12, 5), [], None, id="first-half-year-not-complete"),
    pytest.param(START, D(2024, 12, 6), [], (D(2024, 6, 6), D(2024, 12, 5)), id="first-half-year-complete"),
    pytest.param(START, D(2024, 12, 6), [D(2024, 6, 6)], None, id="on-the-first-day"),
    pytest.param(START, D(2024, 12, 6), [D(2024, 12, 5)], None, id="on-the-last-day"),
    pytest.param(START, D(2024, 12, 6), [D(2024, 12, 6)], (D(2024, 6, 6), D(2024, 12, 5)),
                 id="a-day-late-belongs-to-the-next"),
    pytest.param(START, D(2024, 12, 6), [D(2024, 6, 5)], (D(2024, 6, 6), D(2024, 12, 5)),
                 id="before-the-start-does-not-count"),
    pytest.param(START, D(2025, 6, 6), [D(2024, 9, 1)], (D(2024, 12, 6), D(2025, 6, 5)), id="second-missing"),
    pytest.param(START, D(2025, 6, 6), [D(2024, 9, 1), D(2025, 6, 5)], None, id="both"),
    pytest.param(START, D(2025, 6, 5), [D(2024, 9, 1)], None, id="second-not-complete"),
    pytest.param(START, D(2025, 6, 6), [D(2024, 7, 1), D(2024, 11, 1)], (D(2024, 12, 6), D(2025, 6, 5)),
                 id="two-in-one-half-year-do-not-cover-the-next"),
    pytest.param(D(2024, 8, 31), D(2025, 2, 28), [D(2025, 2, 27)], None, id="month-end-last-day"),
    pytest.param(D(2024, 8, 31), D(2025, 2, 28), [D(2025, 2, 28)], (D(2024, 8, 31), D(2025, 2, 27)),
                 id="month-end-a-day-late"),
    pytest.param(D(2023, 8, 31), D(2024, 2, 29), [D(2024, 2, 28)], None, id="leap-february-last-day"),
    pytest.param(D(2023, 8, 31), D(2024, 8, 31), [D(2024, 2, 28), D(2024, 2, 29)], None, id="leap-day-starts-next"),
])
def test_missing_assessment(start, until, assessed, gap):
    assert rules.missing_assessment(start, until, assessed) == gap


# --- ages --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("birth, on, age", [
    (D(2008, 6, 1), D(2026, 5, 31), 17),
    (D(2008, 6, 1), D(2026, 6, 1), 18),  # the 18th birthday itself
    (D(2008, 2, 29), D(2026, 2, 28), 17),  # born on a leap day: a year older on 1 March of a common year
    (D(2008, 2, 29), D(2026, 3, 1), 18),
    (D(2008, 2, 29), D(2028, 2, 28), 19),
    (D(2008, 2, 29), D(2028, 2, 29), 20),
    (D(2007, 12, 31), D(2025, 12, 31), 18),
    (D(2008, 1, 1), D(2025, 12, 31), 17),
])
def test_age_on(birth, on, age):
    assert rules.age_on(birth, on) == age


# --- 超期 marks -------------------------------------------------------------------------------------------------

def test_late_in_time_is_unmarked():
    assert rules.late("talk_months", D(2026, 7, 1), D(2026, 7, 1)) == ""
    assert rules.late("talk_months", D(2026, 7, 1), D(2026, 6, 1)) == ""


def test_late_names_days_rule_and_article():
    assert rules.late("oath_months", D(2026, 7, 1), D(2026, 7, 2)) == \
        "超期1天：党委审批后一个月内组织入党宣誓（《中国共产党发展党员工作细则》第二十九条）"
    mark = rules.late("meeting_months", D(2026, 7, 31), D(2026, 8, 31))
    assert mark.startswith("超期31天：预审通过后一个月内提交党支部党员大会讨论") and "第十九条" in mark


def test_late_under_2014_cites_the_2014_text():
    mark = rules.late("talk_months", D(2025, 1, 1), D(2025, 1, 11))
    assert mark == "超期10天：收到入党申请书后一个月内派人谈话（《中国共产党发展党员工作细则》（2014年））"


def test_refuse_builds_the_violation():
    err = rules.refuse("sponsors", ON_2026, "入党介绍人应为2名，现为1名", "people", "入党介绍人")
    assert err.rule == "recruitment.sponsors" and err.article.endswith("第十四条")
    assert err.fields == {"people": ["入党介绍人：入党介绍人应为2名，现为1名"]}
    assert err.message == f"入党介绍人应为2名，现为1名（{err.article}）"
    # a rule the version in force does not have falls back to naming the regulation
    assert rules.refuse("public_notice_working_days", ON_2014, "x").article == "发展党员工作细则"
