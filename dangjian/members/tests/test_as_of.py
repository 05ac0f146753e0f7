"""As-of-date counts (党内统计 is taken at 31 December): periods are half-open, so a move counts once."""

import datetime as dt

import pytest

from dangjian.core.actors import SYSTEM
from dangjian.core.validators import parse_id_number
from dangjian.members.selectors import member_count_as_of
from dangjian.members.services import member_create, member_move
from dangjian.testing import MemberDataFactory, acting_as

D = dt.date
MOVE_DAY = D(2025, 7, 1)


def _register(org, *, joined, since=None, **kw):
    data = MemberDataFactory(joined_on=joined, confirmed_on=joined.replace(year=joined.year + 1), **kw)
    info = parse_id_number(data["id_number"])
    data.update(birth_date=info.birth_date, gender=info.gender, organization=org)
    return member_create(actor=SYSTEM, data=data, since=since)


@pytest.fixture
def moved(district):
    """邹八 joined in 支部A1 on 2020-01-01 and moved to 支部B1 on 2025-07-01. The fixture's three members joined
    before 2024."""
    m = _register(district.branch_a1, joined=D(2020, 1, 1), name="邹八")
    member_move(actor=SYSTEM, member=m, to=district.branch_b1, on=MOVE_DAY)
    return district, m


def _counts(d, on, user="district_admin"):
    with acting_as(d.users[user]):
        return {
            "root": member_count_as_of(org=d.root, on=on),
            "all": member_count_as_of(org=None, on=on),
            "A": member_count_as_of(org=d.committee_a, on=on),
            "A1": member_count_as_of(org=d.branch_a1, on=on),
            "B": member_count_as_of(org=d.committee_b, on=on),
            "B1": member_count_as_of(org=d.branch_b1, on=on),
        }


def test_the_day_before_the_move_counts_in_the_old_subtree(moved):
    d, _ = moved
    assert _counts(d, MOVE_DAY - dt.timedelta(days=1)) == {"root": 4, "all": 4, "A": 3, "A1": 2, "B": 1, "B1": 1}


def test_the_day_of_the_move_counts_in_the_new_subtree(moved):
    d, _ = moved
    assert _counts(d, MOVE_DAY) == {"root": 4, "all": 4, "A": 2, "A1": 1, "B": 2, "B1": 2}


@pytest.mark.parametrize("on", [D(2020, 1, 1), D(2024, 12, 31), D(2025, 6, 30), MOVE_DAY, D(2025, 7, 2), D(2025, 12, 31)])
def test_the_root_counts_a_mover_exactly_once(moved, on):
    d, m = moved
    with acting_as(d.users["district_admin"]):
        total = member_count_as_of(org=d.root, on=on)
        in_a, in_b = member_count_as_of(org=d.committee_a, on=on), member_count_as_of(org=d.committee_b, on=on)
    assert total == in_a + in_b  # never twice, never lost between the subtrees
    fixture_members = sum(x.joined_on <= on for x in (d.member_a1, d.member_a2, d.member_b1))
    assert total == fixture_members + 1


def test_year_end_snapshots(moved):
    d, _ = moved
    assert _counts(d, D(2024, 12, 31))["A"] == 3
    assert _counts(d, D(2025, 12, 31)) == {"root": 4, "all": 4, "A": 2, "A1": 1, "B": 2, "B1": 2}


def test_nobody_is_counted_before_they_joined(moved):
    d, m = moved
    zhang_in_a1 = int(d.member_a1.joined_on <= D(2019, 12, 31))  # the fixture's member of A1 joined at random
    assert _counts(d, D(2019, 12, 31))["A1"] == zhang_in_a1
    assert _counts(d, D(2020, 1, 1))["A1"] == int(d.member_a1.joined_on <= D(2020, 1, 1)) + 1


def test_members_registered_later_are_not_counted_earlier(district):
    d = district
    late = _register(d.branch_a2, joined=D(2025, 3, 1), name="新党员")
    assert _counts(d, D(2024, 12, 31))["root"] == 3
    assert _counts(d, D(2025, 2, 28))["root"] == 3
    assert _counts(d, D(2025, 3, 1))["root"] == 4
    assert _counts(d, D(2025, 12, 31))["A"] == 3
    # `since`: an old member who came to the district only in 2025-08 does not count before
    _register(d.branch_b1, joined=D(1999, 7, 1), since=D(2025, 8, 1), name="转入党员")
    assert _counts(d, D(2025, 7, 31))["B"] == 1
    assert _counts(d, D(2025, 8, 1))["B"] == 2
    assert late.pk


def test_a_move_on_new_years_eve_counts_in_the_new_organisation(district):
    d = district
    member_move(actor=SYSTEM, member=d.member_a2, to=d.branch_b1, on=D(2025, 12, 31))
    c = _counts(d, D(2025, 12, 31))
    assert (c["root"], c["A"], c["B"]) == (3, 1, 2)
    c = _counts(d, D(2025, 12, 30))
    assert (c["root"], c["A"], c["B"]) == (3, 2, 1)


def test_two_moves_on_one_day_count_once_in_the_last_organisation(district):
    d = district
    member_move(actor=SYSTEM, member=d.member_a1, to=d.branch_a2, on=D(2025, 5, 1))
    member_move(actor=SYSTEM, member=d.member_a1, to=d.branch_b1, on=D(2025, 5, 1))
    c = _counts(d, D(2025, 5, 1))
    assert (c["root"], c["A"], c["B"]) == (3, 1, 2)
    with acting_as(d.users["district_admin"]):
        assert member_count_as_of(org=d.branch_a2, on=D(2025, 5, 1)) == 1  # 李四 only, not the mover


def test_counts_stay_inside_the_scope_but_keep_history(moved):
    """A committee admin of 党委A sees the mover's past in A1, not their present in B1."""
    d, _ = moved
    before, after = _counts(d, D(2025, 6, 30), "committee_admin"), _counts(d, MOVE_DAY, "committee_admin")
    assert (before["A"], before["root"], before["B"]) == (3, 3, 0)
    assert (after["A"], after["root"], after["B"]) == (2, 2, 0)
    assert _counts(d, MOVE_DAY, "security_admin")["root"] == 0


def test_counting_needs_a_scope(district):
    from dangjian.core.scoping import ScopeError

    with pytest.raises(ScopeError):
        member_count_as_of(org=None, on=D(2025, 12, 31))


def test_whole_district_count_from_changes_equals_counting_periods(district):
    """The root's as-of count (tallies now + ended after − started after) equals counting the periods,
    for every day around a year of joins and moves."""
    import datetime as dt

    from django.db.models import Q

    from dangjian.core.actors import SYSTEM
    from dangjian.members.models import MembershipPeriod
    from dangjian.members.selectors import member_count_as_of
    from dangjian.members.services import member_move
    from dangjian.testing import acting_as, make_member

    late = make_member(district.branch_a2, born=dt.date(1995, 5, 5))
    MembershipPeriod.unscoped.filter(member=late).update(start=dt.date(2025, 3, 1))
    member_move(actor=SYSTEM, member=district.member_a1, to=district.branch_b1, on=dt.date(2025, 7, 1))
    member_move(actor=SYSTEM, member=district.member_a1, to=district.branch_a2, on=dt.date(2025, 9, 1))
    days = [dt.date(2024, 12, 31), dt.date(2025, 2, 28), dt.date(2025, 3, 1), dt.date(2025, 6, 30),
            dt.date(2025, 7, 1), dt.date(2025, 8, 31), dt.date(2025, 9, 1), dt.date(2025, 12, 31)]
    for day in days:
        expected = MembershipPeriod.unscoped.filter(Q(start__lte=day) & (Q(end__isnull=True) | Q(end__gt=day))).count()
        with acting_as(district.users["district_admin"]):
            assert member_count_as_of(org=None, on=day) == expected, day
            assert member_count_as_of(org=district.root, on=day) == expected, day
    assert expected == 4
