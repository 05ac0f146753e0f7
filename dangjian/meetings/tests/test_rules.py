"""Quorum and majority at their exact edges (DOMAIN-RULES §2, §1.3), and the calendar helpers."""

import datetime as dt

import pytest

from dangjian.core.dates import add_months
from dangjian.meetings import rules


def vote(expected, present, yes, no=0, abstain=0, admission=False):
    return rules.check_vote(voters_expected=expected, voters_present=present, yes=yes, no=no, abstain=abstain,
                            admission=admission)


@pytest.mark.parametrize("expected, present, ok", [(10, 4, False), (10, 5, True), (10, 6, True), (9, 4, False),
                                                   (9, 5, True), (1, 1, True), (1, 0, False), (0, 0, False)])
def test_general_quorum_half_or_more(expected, present, ok):
    assert vote(expected, present, 0).quorum_ok is ok


@pytest.mark.parametrize("expected, present, ok", [(10, 5, False), (10, 6, True), (9, 4, False), (9, 5, True)])
def test_admission_quorum_more_than_half(expected, present, ok):
    check = vote(expected, present, 0, admission=True)
    assert check.quorum_ok is ok
    if not ok:
        assert "第十九条" in check.article and check.rule == "meetings.quorum"


def test_exactly_half_is_a_setting(settings):
    settings.DANGJIAN_MEETINGS = {"half_counts_as_quorum": False}
    assert vote(10, 5, 0).quorum_ok is False
    assert vote(10, 6, 0).quorum_ok is True


@pytest.mark.parametrize("expected, present, yes, passed", [
    (10, 10, 5, False),  # half of those who should attend is not more than half
    (10, 10, 6, True),
    (9, 9, 4, False),
    (9, 9, 5, True),
    (10, 6, 6, True),  # counted against those who should attend, not those present
    (10, 6, 5, False),  # 5 of 6 present is a majority of the present, not of the 10 who should attend
])
def test_majority_of_those_who_should_attend(expected, present, yes, passed):
    check = vote(expected, present, yes)
    assert check.message == "" and check.passed is passed


def test_more_ballots_than_voters_present_refused():
    check = vote(10, 6, 4, 2, 1)
    assert not check.passed and "多于实到" in check.message


def test_nth_weekday_first_tuesday_and_last():
    assert rules.nth_weekday(2026, 12, 1, 1) == dt.date(2026, 12, 1)
    assert rules.nth_weekday(2027, 1, 1, 1) == dt.date(2027, 1, 5)
    assert rules.nth_weekday(2027, 2, -1, 4) == dt.date(2027, 2, 26)
    assert rules.nth_weekday(2027, 3, 4, 0) == dt.date(2027, 3, 22)


def test_buckets():
    assert rules.buckets_between(dt.date(2026, 2, 10), dt.date(2026, 7, 1), "quarter") == [(2026, 1), (2026, 2),
                                                                                          (2026, 3)]
    assert rules.bucket_bounds((2026, 4), "quarter") == (dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    assert rules.bucket_bounds((2026, 2), "month") == (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    assert add_months(dt.date(2026, 8, 31), -6) == dt.date(2026, 2, 28)  # the inactive-members cut-off


def test_settings_merge_over_defaults(settings):
    settings.DANGJIAN_MEETINGS = {"confirm_days": 3, "frequencies": {"party_lecture": None}}
    p = rules.params()
    assert p["confirm_days"] == 3
    assert p["frequencies"]["party_lecture"] is None and p["frequencies"]["general_meeting"] == "quarter"
