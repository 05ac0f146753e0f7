"""The compliance table on a constructed year, the 党章 第九条 list, and the statistics: from the records only,
in a fixed number of queries."""

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dangjian.core.actors import SYSTEM
from dangjian.core.scoping import system_scope
from dangjian.meetings import selectors, services
from dangjian.orgs.models import OrgKind
from dangjian.testing import acting_as, make_member, make_org

TZ = timezone.get_fixed_timezone(8 * 60)


def held(org, day, kinds, *, absent=()):
    with system_scope("test"):
        m = services.meeting_plan(actor=SYSTEM, organization=org, title="会", kinds=kinds, place="室",
                                  starts_at=dt.datetime.combine(day, dt.time(9), tzinfo=TZ))
        m = services.meeting_notify(actor=SYSTEM, meeting=m)
        members = [a.member_id for a in m.attendances.all()]
        services.meeting_record(actor=SYSTEM, meeting=m, held_at=m.starts_at, minutes="纪要", chair="书记",
                                recorder="委员", attendance={pk: (pk not in absent, "病假") for pk in members})
    return m


def build_year(d):
    a1, a2 = d.branch_a1, d.branch_a2
    group = make_org(a1, "第一党小组", OrgKind.PARTY_GROUP)
    late = make_member(a1, name="吴缺席")
    for q in (2, 5, 8, 11):
        held(a1, dt.date(2025, q, 10), ["general_meeting"], absent={late.pk})
    for month in range(1, 7):
        held(a1, dt.date(2025, month, 20), ["committee_meeting"], absent={late.pk})
    for month in range(1, 13):
        kinds = ["theme_day", "party_lecture"] if month == 3 else ["theme_day"]
        held(a1, dt.date(2025, month, 5), kinds, absent={late.pk} if month > 1 else ())
    held(a1, dt.date(2025, 12, 15), ["life_meeting"], absent={late.pk})
    held(a2, dt.date(2024, 12, 15), ["general_meeting"])  # outside the period
    return group, late


def test_constructed_year(district):
    d = district
    group, late = build_year(d)
    with acting_as(d.users["committee_admin"]):
        table = selectors.compliance_table(org=d.committee_a, start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31),
                                           today=dt.date(2026, 11, 29))
    rows = {r.org.name: r.cells for r in table.rows}
    assert list(rows) == ["甲社区党支部", "乙社区党支部"]  # branches only; 第一中学 is outside the scope
    a1 = {k: (c.status, c.met, c.due) if c else None for k, c in rows["甲社区党支部"].items()}
    assert a1 == {
        "general_meeting": ("green", 4, 4),
        "committee_meeting": ("amber", 6, 12),
        "group_meeting": ("red", 0, 12),  # the branch has a 党小组
        "party_lecture": ("amber", 1, 4),
        "theme_day": ("green", 12, 12),
        "life_meeting": ("green", 1, 1),
        "member_appraisal": ("red", 0, 1),
    }
    a2 = rows["乙社区党支部"]
    assert a2["group_meeting"] is None  # no 党小组: the rule does not apply
    assert {c.status for c in a2.values() if c} == {"red"}


def test_buckets_not_yet_ended_are_not_due(district):
    d = district
    held(d.branch_a1, dt.date(2026, 11, 3), ["theme_day"])
    with acting_as(d.users["branch_worker"]):
        table = selectors.compliance_table(org=d.branch_a1, start=dt.date(2026, 10, 1), end=dt.date(2026, 11, 30),
                                           today=dt.date(2026, 11, 29))
    cells = table.rows[0].cells
    assert (cells["theme_day"].status, cells["theme_day"].due, cells["theme_day"].held) == ("red", 1, 1)
    assert cells["life_meeting"].status == "none"  # the year has not ended


def test_party_lecture_frequency_is_a_setting(district, settings):
    settings.DANGJIAN_MEETINGS = {"frequencies": {"party_lecture": "year"}}
    held(district.branch_a1, dt.date(2025, 3, 5), ["party_lecture"])
    with acting_as(district.users["branch_worker"]):
        table = selectors.compliance_table(org=district.branch_a1, start=dt.date(2025, 1, 1),
                                           end=dt.date(2025, 12, 31), today=dt.date(2026, 1, 1))
    assert table.rows[0].cells["party_lecture"].status == "green"


def _count(fn):
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def test_compliance_queries_do_not_grow(district):
    d = district
    admin = d.users["district_admin"]

    def run():
        with acting_as(admin):
            t = selectors.compliance_table(org=d.root, start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31),
                                           today=dt.date(2026, 1, 1))
            list(selectors.inactive_members(org=d.root, on=dt.date(2025, 12, 31)))
            selectors.meeting_statistics(org=d.root, start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31))
        return t

    held(d.branch_a1, dt.date(2025, 2, 1), ["general_meeting"])
    run()  # the first call loads the user's grants (cached on the user): not counted
    small = _count(run)
    for i in range(3):
        org = make_org(d.committee_b, f"新支部{i}", OrgKind.BRANCH)
        make_member(org)
        held(org, dt.date(2025, 4, 1), ["general_meeting", "party_lecture"])
        held(org, dt.date(2025, 5, 1), ["theme_day"])
    assert _count(run) == small
    assert small == 8  # compliance 3, inactive 1, statistics 4


def test_members_without_organisational_life_for_six_months(district):
    d = district
    group, late = build_year(d)
    newcomer = make_member(d.branch_a2, name="新来的", joined_on=dt.date(2025, 10, 1),
                           confirmed_on=None, status="probationary")
    with acting_as(d.users["committee_admin"]):
        rows = {m.name: m.last_attended for m in selectors.inactive_members(org=d.committee_a,
                                                                            on=dt.date(2025, 12, 31))}
    # 吴缺席 came only to January's 主题党日; 李四's branch recorded nothing in the year; 张三 came to everything
    assert rows == {"吴缺席": dt.date(2025, 1, 5), "李四": dt.date(2024, 12, 15)}
    assert "新来的" not in rows and newcomer.pk
    with acting_as(d.users["committee_admin"]):
        rows = {m.name for m in selectors.inactive_members(org=d.committee_a, on=dt.date(2025, 7, 4))}
    assert "吴缺席" not in rows  # 5 January to 4 July is less than six months


def test_statistics_by_kind_attendance_and_lectures(district):
    d = district
    group, late = build_year(d)
    with acting_as(d.users["committee_admin"]):
        s = selectors.meeting_statistics(org=d.committee_a, start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31))
    kinds = {k: n for k, _, n in s.by_kind}
    assert kinds["general_meeting"] == 4 and kinds["theme_day"] == 12 and kinds["party_lecture"] == 1
    assert s.meetings == 23  # the 主题党日 with a 党课 is one meeting counted under two kinds
    # a1 has 张三 and 吴缺席: 吴缺席 attended only the January 主题党日
    assert (s.should_attend, s.attended) == (46, 24)
    assert s.attendance_rate == 52.2
    assert (s.lectures, s.lecture_participants) == (1, 1)
