"""The writes of 发展党员: every step's success path and every refusal, each refusal in Chinese naming its field
and article and leaving nothing behind (no record, no change to the case, no member, no audit entry).

Three calendars of cases (see factories.schedule):
- START (2024-05-06): steps 2..7 under the 2014 text, from step 8 on mostly 2014, conversion under 2026;
- MID (2025-04-07): steps up to 7 under 2014, steps 8..21 under 2026, all before the real today;
- NEW (2026-06-01): entirely under the 2026 text; its later steps lie after the real today, so those tests set
  the services' today (`late_today`).
"""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from dangjian.audit.models import AuditEntry
from dangjian.core.dates import add_months, add_years
from dangjian.core.errors import Conflict, PermissionDenied, RuleViolation, ValidationFailed
from dangjian.core.models import CalendarDay, DayKind
from dangjian.core.scoping import system_scope
from dangjian.members.models import Member, MemberStatus
from dangjian.members.services import discipline_record
from dangjian.recruitment import rules, services
from dangjian.recruitment.models import (
    Body,
    CaseMove,
    CasePerson,
    CaseStatus,
    Outcome,
    RecruitmentCase,
    RecruitmentStep,
    Stage,
)
from dangjian.recruitment.services import case_create, case_end, case_move, practice_save, step_record
from dangjian.recruitment.tests.factories import (
    START,
    full_members,
    open_case,
    person,
    schedule,
    valid_input,
    walk,
)
from dangjian.testing import make_member, make_user

pytestmark = pytest.mark.django_db

D = dt.date
MID = D(2025, 4, 7)
NEW = D(2026, 6, 1)
REG = rules.REG_2026
REG_2014 = rules.REG_2014


# --- helpers ---------------------------------------------------------------------------------------------------

def reach(actor, org, pair, until, *, start=START, n=1, **kw):
    case = open_case(actor, org, n=n, applied_on=start, **kw)
    if until >= 2:
        walk(actor, case, until=until, start=start, mentors=pair, sponsors=pair)
    case.refresh_from_db()
    return case


def state(case):
    """Everything a refused step must leave as it was."""
    return {
        "steps": RecruitmentStep.objects.filter(case_id=case.pk).count(),
        "people": CasePerson.objects.filter(case_id=case.pk).count(),
        "case": RecruitmentCase.unscoped.filter(pk=case.pk).values().get(),
        "members": Member.unscoped.count(),
        "audit": AuditEntry.objects.filter(action__startswith="recruitment.").count(),
    }


def refused(case, exc, fn):
    before = state(case)
    with pytest.raises(exc) as e:
        fn()
    assert state(case) == before
    return e.value


def record(actor, case, number, on, *, people=None, **changes):
    data = valid_input(case, number, on, people=people)
    details = changes.pop("details", None)
    if details is not None:
        data.details.update(details)
    for k, v in changes.items():
        setattr(data, k, v)
    return step_record(actor=actor, case=case, data=data)


def assert_rule(err, code, article, field=None, words=""):
    assert isinstance(err, RuleViolation)
    assert err.rule == f"recruitment.{code}"
    assert err.article == article, err.article
    assert err.message.endswith(f"（{article}）")
    assert words in err.message, err.message
    if field:
        assert list(err.fields) == [field]
        assert words in err.fields[field][0]


def assert_field(err, field, words):
    assert isinstance(err, ValidationFailed) and not isinstance(err, RuleViolation)
    assert field in err.fields, err.fields
    assert words in err.fields[field][0], err.fields[field]


# --- step 1: opening a case -----------------------------------------------------------------------------------

def case_count():
    return (RecruitmentCase.unscoped.count(), RecruitmentStep.objects.count(),
            AuditEntry.objects.filter(action__startswith="recruitment.").count())


@pytest.mark.parametrize("born, applied_on, ok, article", [
    (D(2006, 5, 6), D(2024, 5, 5), False, "《中国共产党章程》第一条"),  # 2014 text: the charter only
    (D(2006, 5, 6), D(2024, 5, 6), True, ""),  # the 18th birthday itself
    (D(2008, 6, 1), D(2026, 5, 31), False, f"《中国共产党章程》第一条、{REG}第五条"),
    (D(2008, 6, 1), D(2026, 6, 1), True, ""),
    (D(2008, 2, 29), D(2026, 2, 28), False, "《中国共产党章程》第一条"),  # leap-day birthday: 18 on 1 March
    (D(2008, 2, 29), D(2026, 3, 1), True, ""),
])
def test_applicant_must_be_18_by_the_id_number(district, admin, born, applied_on, ok, article):
    before = case_count()
    if ok:
        case = open_case(admin, district.branch_b1, applied_on=applied_on, born=born)
        assert case.birth_date == born and case.stage == Stage.APPLICANT and case.status == CaseStatus.OPEN
        assert case_count() == (before[0] + 1, before[1] + 1, before[2] + 1)
        step1 = case.steps.get()
        assert step1.number == 1 and step1.on == applied_on and step1.body == Body.APPLICANT
        assert AuditEntry.objects.filter(action="recruitment.case.created", target_id=str(case.pk)).exists()
        return
    with pytest.raises(RuleViolation) as e:
        open_case(admin, district.branch_b1, applied_on=applied_on, born=born)
    assert_rule(e.value, "min_age", article, "id_number", "递交申请时未满18周岁（按身份证号计算）")
    assert e.value.fields["id_number"][0].startswith("身份证号：")
    assert case_count() == before


def test_one_open_case_per_person(district, admin):
    first = open_case(admin, district.branch_b1, n=7)
    before = case_count()
    with pytest.raises(ValidationFailed) as e:
        open_case(admin, district.branch_a1, n=7)  # another branch: still the same person
    assert_field(e.value, "id_number", "此人已有正在进行的发展党员档案")
    assert case_count() == before
    case_end(actor=admin, case=first, on=START, reason="本人撤回申请")
    again = open_case(admin, district.branch_a1, n=7)  # a closed case does not stand in the way
    assert again.pk != first.pk


def test_one_open_case_per_person_is_a_database_constraint(district, admin):
    case = open_case(admin, district.branch_b1, n=8)
    row = RecruitmentCase.unscoped.filter(pk=case.pk).values().get()
    del row["id"]
    with pytest.raises(IntegrityError), transaction.atomic():
        RecruitmentCase.unscoped.create(**row)
    row["status"] = CaseStatus.ENDED  # closed cases of the same person may be many
    RecruitmentCase.unscoped.create(**row)


def test_a_person_on_the_roster_cannot_apply(district, admin):
    data = person(9)
    make_member(district.branch_a2, id_number=data["id_number"], born=D(1998, 3, 14), sex="female")
    before = case_count()
    with pytest.raises(ValidationFailed) as e:
        open_case(admin, district.branch_b1, n=9)
    assert_field(e.value, "id_number", "此人已在党员名册中")
    assert case_count() == before


def test_application_date_cannot_be_in_the_future(district, admin, monkeypatch):
    monkeypatch.setattr(services, "_today", lambda: D(2026, 6, 1))
    before = case_count()
    with pytest.raises(ValidationFailed) as e:
        open_case(admin, district.branch_b1, applied_on=D(2026, 6, 2))
    assert_field(e.value, "applied_on", "不能晚于今天")
    assert case_count() == before
    assert open_case(admin, district.branch_b1, applied_on=D(2026, 6, 1)).applied_on == D(2026, 6, 1)


# --- every step's success path -----------------------------------------------------------------------------

DATES = schedule(START)
COMMITTEE_STEPS = {4, 8, 13, 16, 17, 18, 24}
EFFECT = {  # step: (stage after, the case field it sets)
    3: (Stage.ACTIVIST, "activist_on"), 7: (Stage.DEVELOPMENT_TARGET, "development_target_on"),
    17: (Stage.PROBATIONARY, "approved_on"), 24: (Stage.FULL_MEMBER, "converted_on"), 25: (Stage.FULL_MEMBER, None),
}


@pytest.mark.parametrize("number", range(2, 26))
def test_each_step_records_with_valid_data(district, admin, pair, number):
    case = reach(admin, district.branch_b1, pair, number - 1)
    stage_before = case.stage
    steps_before = case.steps.count()
    on = DATES[number]
    rec = record(admin, case, number, on, people=pair)
    case.refresh_from_db()
    assert case.steps.count() == steps_before + 1
    assert (rec.number, rec.on, rec.outcome) == (number, on, Outcome.PASSED)
    assert rec.rule_version == rules.version_on(on)
    assert rec.acting_org == (district.committee_b if number in COMMITTEE_STEPS else district.branch_b1)
    assert rec.entered_by == admin and rec.entered_by_label
    entry = AuditEntry.objects.filter(action="recruitment.step.recorded").order_by("-id").first()
    assert entry.target_id == str(case.pk) and entry.actor == admin
    assert entry.changes["step"] == number and entry.changes["on"] == on.isoformat()
    assert entry.changes["rule_version"] == rec.rule_version and "late" not in entry.changes
    stage, key = EFFECT.get(number, (stage_before, None))
    assert case.stage == stage
    if key:
        assert getattr(case, key) == ({"converted_on": add_years(DATES[15], 1)}.get(key, on))
    assert case.status == (CaseStatus.COMPLETED if number == 25 else CaseStatus.OPEN)
    if number in (5, 9):
        assert sorted(rec.people.values_list("member_id", flat=True)) == sorted(m.pk for m in pair)


# --- order, dates, bodies ---------------------------------------------------------------------------------------

def test_a_step_out_of_order_is_refused(district, admin, pair):
    case = reach(admin, district.branch_b1, pair, 3)
    err = refused(case, Conflict, lambda: record(admin, case, 7, DATES[7]))
    assert err.message == "请先完成第4步“上级党委备案”、第6步“培养教育考察”，再记录第7步“确定发展对象”。"
    err = refused(case, Conflict, lambda: record(admin, case, 3, DATES[3]))
    assert err.message == "第3步“推荐和确定入党积极分子”已记录，不能重复记录。"
    err = refused(case, Conflict, lambda: record(admin, case, 1, DATES[3]))
    assert "建立档案时记录" in err.message
    err = refused(case, Conflict, lambda: record(admin, case, 26, DATES[3]))
    assert err.message == "没有这个步骤。"


@pytest.mark.parametrize("reached, number, words", [
    (1, 3, "请先完成第2步“党组织派人谈话”，再记录第3步"),
    (2, 4, "请先完成第3步“推荐和确定入党积极分子”"),
    (2, 5, "请先完成第3步"),
    (4, 6, "请先完成第5步“指定培养联系人”"),
    (7, 9, "请先完成第8步“报上级党委同意并公示”"),
    (8, 12, "请先完成第9步“确定入党介绍人”、第10步“进行政治审查”、第11步“开展集中培训”"),
    (9, 12, "请先完成第10步“进行政治审查”、第11步“开展集中培训”"),
    (11, 13, "请先完成第12步“支部委员会审查”"),
    (12, 14, "请先完成第13步“上级党委预审”"),
    (13, 15, "请先完成第14步“填写入党志愿书”"),
    (14, 16, "请先完成第15步“支部党员大会讨论”"),
    (15, 17, "请先完成第16步“上级党委派人谈话”"),
    (16, 18, "请先完成第17步“上级党委审批”"),
    (16, 19, "请先完成第17步"),
    (16, 20, "请先完成第17步"),
    (16, 21, "请先完成第17步"),
    (16, 22, "请先完成第17步"),
    (21, 23, "请先完成第22步“提出转正申请”"),
    (22, 24, "请先完成第23步“支部党员大会讨论转正”"),
    (23, 25, "请先完成第24步“上级党委审批转正”"),
    (4, 4, "第4步“上级党委备案”已记录，不能重复记录。"),
    (8, 8, "已记录"),
    (17, 17, "已记录"),
    (22, 22, "第22步“提出转正申请”已记录"),
    (24, 24, "已记录"),
    (24, 22, "已记录"),  # a new round only after an extension
    (7, 6, "第7步“确定发展对象”已完成，不再记录第6步"),  # assessments end with candidacy
    (7, 5, "第7步“确定发展对象”已完成"),
    (24, 21, "第24步“上级党委审批转正”已完成，不再记录第21步"),
])
def test_every_step_refused_out_of_order(district, admin, pair, reached, number, words):
    case = reach(admin, district.branch_b1, pair, reached)
    err = refused(case, Conflict, lambda: record(admin, case, number, DATES[max(number, reached)], people=pair))
    assert words in err.message, err.message


def test_a_step_cannot_come_before_the_step_it_follows(district, admin, pair):
    case = reach(admin, district.branch_b1, pair, 2)
    err = refused(case, ValidationFailed, lambda: record(admin, case, 3, DATES[2] - dt.timedelta(days=1)))
    assert_field(err, "on", f"不能早于第2步“党组织派人谈话”的日期{DATES[2].isoformat()}")
    assert record(admin, case, 3, DATES[2]).on == DATES[2]  # the same day is fine


@pytest.mark.parametrize("number, previous, previous_on", [
    (4, 3, DATES[3]),
    (7, 6, add_months(START, 10)),  # the later of the two assessments
    (12, 9, DATES[9]),  # 9, 10 and 11 on the same day: the first named
    (15, 14, DATES[14]),
    (17, 16, DATES[16]),
    (20, 17, DATES[17]),
    (23, 22, DATES[22]),
    (25, 24, DATES[24]),
])
def test_each_step_is_dated_after_the_one_before(district, admin, pair, number, previous, previous_on):
    case = reach(admin, district.branch_b1, pair, number - 1)
    err = refused(case, ValidationFailed, lambda: record(admin, case, number, previous_on - dt.timedelta(days=1)))
    assert_field(err, "on", f"日期：不能早于第{previous}步")
    assert previous_on.isoformat() in err.fields["on"][0]


def test_a_talk_before_the_application_is_refused(district, admin):
    case = open_case(admin, district.branch_b1)
    err = refused(case, ValidationFailed, lambda: record(admin, case, 2, START - dt.timedelta(days=1)))
    assert_field(err, "on", "不能早于第1步“递交入党申请书”")


def test_a_future_date_is_refused(district, admin, monkeypatch):
    monkeypatch.setattr(services, "_today", lambda: D(2024, 5, 20))
    case = open_case(admin, district.branch_b1)
    err = refused(case, ValidationFailed, lambda: record(admin, case, 2, D(2024, 5, 21)))
    assert_field(err, "on", "不能晚于今天")
    assert record(admin, case, 2, D(2024, 5, 20)).on == D(2024, 5, 20)


@pytest.mark.parametrize("number, body, allowed", [
    (2, Body.COMMITTEE, "党支部"),
    (3, Body.COMMITTEE, "党支部委员会会议、党支部党员大会"),
    (3, Body.BRANCH, "党支部委员会会议、党支部党员大会"),
])
def test_the_wrong_body_is_refused(district, admin, pair, number, body, allowed):
    case = reach(admin, district.branch_b1, pair, number - 1)
    err = refused(case, ValidationFailed, lambda: record(admin, case, number, DATES[number], body=body))
    assert_field(err, "body", f"决定或办理主体：第{number}步应由{allowed}办理")


def test_an_outcome_the_step_does_not_have_is_refused(district, admin, pair):
    case = reach(admin, district.branch_b1, pair, 2)
    err = refused(case, ValidationFailed, lambda: record(admin, case, 3, DATES[3], outcome=Outcome.EXTEND))
    assert_field(err, "outcome", "该步骤没有这个结果")


def test_a_detail_the_step_needs_is_required(district, admin):
    case = open_case(admin, district.branch_b1)
    err = refused(case, ValidationFailed, lambda: record(admin, case, 2, DATES[2], details={"talker": " "}))
    assert_field(err, "talker", "谈话人：请填写")


def test_late_talk_is_kept_and_marked(district, admin):
    case = open_case(admin, district.branch_b1, applied_on=D(2024, 1, 31))
    on_time = add_months(D(2024, 1, 31), 1)
    assert on_time == D(2024, 2, 29)
    rec = record(admin, case, 2, D(2024, 3, 1))
    assert rec.details["late"] == f"超期1天：收到入党申请书后一个月内派人谈话（{REG_2014}）"
    other = open_case(admin, district.branch_b1, n=2, applied_on=D(2024, 1, 31))
    assert "late" not in record(admin, other, 2, on_time).details


# --- stage 2: activist ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("count", [0, 3])
def test_mentors_must_be_one_or_two(district, admin, count):
    mentors = full_members(district.branch_b1, 3)[:count]
    case = reach(admin, district.branch_b1, None, 4)
    err = refused(case, RuleViolation, lambda: record(admin, case, 5, DATES[5], people=mentors))
    assert_rule(err, "mentors", REG_2014, "people", f"培养联系人应为1至2名，现为{count}名")


def test_one_mentor_is_enough_and_a_mentor_is_a_full_member(district, admin):
    case = reach(admin, district.branch_b1, None, 4)
    prob = make_member(district.branch_b1, name="预备党员甲", status="probationary", confirmed_on=None)
    err = refused(case, RuleViolation, lambda: record(admin, case, 5, DATES[5], people=[prob]))
    assert_rule(err, "mentors", REG_2014, "people", "预备党员甲不是正式党员（预备党员")
    rec = record(admin, case, 5, DATES[5], people=full_members(district.branch_b1, 1))
    assert rec.people.count() == 1


@pytest.mark.parametrize("period_from, on, ok", [
    (3, add_years(DATES[3], 1) - dt.timedelta(days=1), False),
    (3, add_years(DATES[3], 1), True),  # exactly one year as activist
    (4, add_years(DATES[4], 1) - dt.timedelta(days=1), False),  # counted from the superior's filing
    (4, add_years(DATES[4], 1), True),
])
def test_a_year_as_activist_before_candidacy(district, admin, pair, settings, period_from, on, ok):
    settings.DANGJIAN_RECRUITMENT = {**settings.DANGJIAN_RECRUITMENT, "activist_period_from": period_from}
    case = reach(admin, district.branch_b1, pair, 6)
    if ok:
        assert record(admin, case, 7, on).on == on
        return
    err = refused(case, RuleViolation, lambda: record(admin, case, 7, on))
    start = DATES[period_from]
    assert_rule(err, "activist_years", f"{REG_2014}第十三条", "on",
                f"自{start.isoformat()}确定为入党积极分子起未满1年，{add_years(start, 1).isoformat()}起方可列为发展对象")


def test_a_missing_half_year_assessment_blocks_candidacy(district, admin, pair):
    case = reach(admin, district.branch_b1, pair, 5)
    record(admin, case, 6, DATES[6])  # the first half-year only
    err = refused(case, RuleViolation, lambda: record(admin, case, 7, DATES[7]))
    assert_rule(err, "assessment_months", REG_2014, "on", "2024-12-06至2025-06-05的半年没有考察记录")
    record(admin, case, 6, D(2025, 6, 5))  # the last day of the second half-year
    assert record(admin, case, 7, DATES[7]).number == 7


def test_local_wait_before_activist(district, admin):
    practice_save(actor=admin, organization=district.committee_b, values={"applicant_wait_months": 3})
    case = open_case(admin, district.branch_b1)
    record(admin, case, 2, DATES[2])
    err = refused(case, RuleViolation, lambda: record(admin, case, 3, D(2024, 8, 5)))
    assert err.rule == "recruitment.local" and err.article == "本地做法（区教育局党委设置）"
    assert list(err.fields) == ["on"]
    assert record(admin, case, 3, D(2024, 8, 6)).on == D(2024, 8, 6)


# --- stage 3: development target: consent and 公示 (2026) -----------------------------------------------------------------

CONSENT = D(2027, 7, 5)  # a Monday, in a NEW case (after its step 7 on 2027-07-02)


@pytest.fixture
def development_target_2026(district, admin, pair, late_today):
    return reach(admin, district.branch_b1, pair, 7, start=NEW)


def consent(admin, case, to, frm=CONSENT, on=CONSENT):
    return record(admin, case, 8, on, details={"public_notice_from": frm.isoformat(), "public_notice_to": to.isoformat()})


@pytest.mark.parametrize("holidays, workdays, to, working_days", [
    pytest.param([], [], D(2027, 7, 8), 4, id="mon-thu"),
    pytest.param([D(2027, 7, 7)], [], D(2027, 7, 9), 4, id="mon-fri-with-a-holiday"),
    pytest.param([D(2027, 7, 7)], [], D(2027, 7, 11), 4, id="the-weekend-does-not-count"),
])
def test_public_notice_of_4_working_days_is_refused(admin, development_target_2026, holidays, workdays, to, working_days):
    for day in holidays:
        CalendarDay.objects.create(date=day, kind=DayKind.HOLIDAY, name="节日")
    case = development_target_2026
    err = refused(case, RuleViolation, lambda: consent(admin, case, to))
    assert_rule(err, "public_notice_working_days", f"{REG}第十三条", "public_notice_to",
                f"公示{working_days}个工作日，少于5个工作日（法定节假日不计）")
    assert err.fields["public_notice_to"][0].startswith("公示结束日期：")


@pytest.mark.parametrize("holidays, workdays, to", [
    pytest.param([], [], D(2027, 7, 9), id="mon-fri"),
    pytest.param([D(2027, 7, 7)], [], D(2027, 7, 12), id="a-holiday-pushes-it-to-monday"),
    pytest.param([D(2027, 7, 7)], [D(2027, 7, 10)], D(2027, 7, 10), id="a-worked-saturday-counts"),
])
def test_public_notice_of_5_working_days_is_allowed(admin, development_target_2026, holidays, workdays, to):
    for day in holidays:
        CalendarDay.objects.create(date=day, kind=DayKind.HOLIDAY, name="节日")
    for day in workdays:
        CalendarDay.objects.create(date=day, kind=DayKind.WORKDAY, name="调休上班")
    rec = consent(admin, development_target_2026, to)
    assert rec.rule_version == "2026"
    assert rec.details["public_notice_from"] == CONSENT.isoformat() and rec.details["public_notice_to"] == to.isoformat()
    assert rec.details["public_notice_result"] == "公示无异议"


def test_the_worked_saturday_is_what_makes_five(admin, development_target_2026):
    CalendarDay.objects.create(date=D(2027, 7, 7), kind=DayKind.HOLIDAY, name="节日")
    case = development_target_2026
    refused(case, RuleViolation, lambda: consent(admin, case, D(2027, 7, 10)))  # Saturday not worked: 4
    CalendarDay.objects.create(date=D(2027, 7, 10), kind=DayKind.WORKDAY, name="调休上班")
    assert consent(admin, case, D(2027, 7, 10)).number == 8


def test_public_notice_dates_are_checked(admin, development_target_2026):
    case = development_target_2026
    err = refused(case, RuleViolation, lambda: consent(admin, case, D(2027, 7, 12), frm=D(2027, 7, 4)))
    assert_rule(err, "superior_consent", f"{REG}第十三条", "public_notice_from", "公示应在上级党委同意之后开始")
    err = refused(case, ValidationFailed, lambda: consent(admin, case, D(2027, 7, 5), frm=D(2027, 7, 6)))
    assert_field(err, "public_notice_to", "不能早于公示开始日期")
    err = refused(case, ValidationFailed, lambda: record(admin, case, 8, CONSENT, details={
        "public_notice_from": "", "public_notice_to": ""}))
    assert_field(err, "public_notice_from", "请填写正确的日期")
    err = refused(case, ValidationFailed, lambda: record(admin, case, 8, CONSENT, details={
        "public_notice_from": "2027-07-05", "public_notice_to": "2027-07-09", "public_notice_result": ""}))
    assert_field(err, "public_notice_result", "公示结果：请填写")


def test_the_branch_review_waits_for_the_end_of_the_publicity(admin, development_target_2026, pair):
    case = development_target_2026
    consent(admin, case, D(2027, 7, 9))
    for n in (9, 10, 11):
        record(admin, case, n, D(2027, 7, 6), people=pair)
    err = refused(case, RuleViolation, lambda: record(admin, case, 12, D(2027, 7, 9)))
    assert_rule(err, "public_notice_working_days", f"{REG}第十三条", "on", "公示至2027-07-09结束，公示期满后方可继续")
    assert record(admin, case, 12, D(2027, 7, 10)).number == 12


def test_under_2014_rules_no_public_notice_is_needed(district, admin, pair):
    case = reach(admin, district.branch_b1, pair, 7)
    assert rules.version_on(DATES[8]) == "2014"
    data = valid_input(case, 8, DATES[8])
    data.details = {}
    rec = step_record(actor=admin, case=case, data=data)
    assert rec.rule_version == "2014" and rec.details == {}
    for n in (9, 10, 11):
        record(admin, case, n, DATES[8], people=pair)
    assert record(admin, case, 12, DATES[8]).number == 12  # nothing to wait for


def test_a_case_begun_under_2014_needs_public_notice_once_2026_applies(district, admin, pair):
    case = reach(admin, district.branch_b1, pair, 7, start=MID)
    on = schedule(MID)[8]
    assert rules.version_on(on) == "2026" and rules.version_on(case.applied_on) == "2014"
    data = valid_input(case, 8, on)
    data.details = {}
    err = refused(case, ValidationFailed, lambda: step_record(actor=admin, case=case, data=data))
    assert_field(err, "public_notice_from", "请填写正确的日期")


# --- sponsors (第十四条) ---------------------------------------------------------------------------------------

SPONSOR_DAY = schedule(MID)[9]  # 2026-06-07, under the 2026 text


@pytest.fixture
def consented(district, admin, pair):
    return reach(admin, district.branch_b1, pair, 8, start=MID)


def test_one_sponsor_is_refused(admin, consented, pair):
    case = consented
    err = refused(case, RuleViolation, lambda: record(admin, case, 9, SPONSOR_DAY, people=pair[:1]))
    assert_rule(err, "sponsors", f"{REG}第十四条", "people", "入党介绍人应为2名，现为1名")
    err = refused(case, RuleViolation, lambda: record(admin, case, 9, SPONSOR_DAY, people=[pair[0], pair[0]]))
    assert_rule(err, "sponsors", f"{REG}第十四条", "people", "现为1名")  # the same member twice is one


def test_a_probationary_sponsor_is_refused(district, admin, consented, pair):
    case = consented
    prob = make_member(district.branch_b1, name="预备党员乙", status="probationary", confirmed_on=None)
    err = refused(case, RuleViolation, lambda: record(admin, case, 9, SPONSOR_DAY, people=[pair[0], prob]))
    assert_rule(err, "sponsors", f"{REG}第十四条", "people", "预备党员乙不是正式党员（预备党员，正常）")
    assert err.fields["people"][0].startswith("入党介绍人：")


@pytest.mark.parametrize("kind, decided, until, restored, ok, shown", [
    pytest.param("warning", D(2026, 1, 10), None, None, False, "警告", id="warning-open-ended"),
    pytest.param("warning", D(2026, 1, 10), SPONSOR_DAY, None, False, "警告", id="warning-last-day"),
    pytest.param("warning", D(2026, 1, 10), SPONSOR_DAY - dt.timedelta(days=1), None, True, "",
                 id="warning-ended-the-day-before"),
    pytest.param("serious_warning", D(2026, 1, 10), D(2027, 1, 9), None, False, "严重警告", id="serious-warning"),
    pytest.param("removal_from_post", D(2026, 1, 10), D(2027, 1, 9), None, False, "撤销党内职务", id="removal"),
    pytest.param("probation", D(2025, 6, 1), None, None, False, "留党察看", id="probation-not-restored"),
    pytest.param("probation", D(2025, 6, 1), None, SPONSOR_DAY + dt.timedelta(days=1), False, "留党察看",
                 id="probation-restored-after"),
    pytest.param("probation", D(2025, 6, 1), None, SPONSOR_DAY, True, "", id="probation-restored-that-day"),
    pytest.param("warning", SPONSOR_DAY + dt.timedelta(days=1), None, None, True, "", id="warning-decided-later"),
])
def test_a_sponsor_under_discipline(admin, consented, pair, kind, decided, until, restored, ok, shown):
    case = consented
    discipline_record(actor=admin, member=pair[1], data={
        "kind": kind, "decided_on": decided, "decided_by": "区教育局纪委", "in_effect_until": until,
        "rights_restored_on": restored, "document_number": "", "note": ""})
    if ok:
        rec = record(admin, case, 9, SPONSOR_DAY, people=pair)
        assert rec.people.filter(role="sponsor").count() == 2
        return
    err = refused(case, RuleViolation, lambda: record(admin, case, 9, SPONSOR_DAY, people=pair))
    words = "处分、尚未恢复党员权利，不能作入党介绍人" if kind == "probation" else "处分在影响期内，不宜作入党介绍人"
    assert_rule(err, "sponsor_fit", f"{REG}第十四条", "people", f"{pair[1].name}受{shown}{words}")


# --- review, training, 预审 -------------------------------------------------------------------------------------

def test_a_failed_political_review_can_be_recorded_and_blocks_the_branch_review(admin, consented, pair):
    case = consented
    day = SPONSOR_DAY
    record(admin, case, 9, day, people=pair)
    record(admin, case, 11, day)
    record(admin, case, 10, day, outcome=Outcome.FAILED, details={"conclusion": "政治审查不合格"})
    err = refused(case, Conflict, lambda: record(admin, case, 12, schedule(MID)[12]))
    assert "第10步“进行政治审查”" in err.message
    record(admin, case, 10, day + dt.timedelta(days=1))  # held again, passed
    assert record(admin, case, 12, schedule(MID)[12]).number == 12


@pytest.mark.parametrize("days, hours, practice, ok, words", [
    pytest.param(2, 16, {}, False, "集中培训2天、16学时，应不少于3天或24学时", id="2-days-16-hours"),
    pytest.param(2, 23, {}, False, "应不少于3天或24学时", id="2-days-23-hours"),
    pytest.param(None, None, {}, False, "集中培训0天、0学时", id="nothing"),
    pytest.param(3, None, {}, True, "", id="3-days"),
    pytest.param(None, 24, {}, True, "", id="24-hours"),
    pytest.param(1, 24, {}, True, "", id="1-day-24-hours"),
    pytest.param(3, None, {"training_min_days": 5}, False, "集中培训3天、0学时，应不少于5天或40学时",
                 id="local-5-days-refuses-3-days"),
    pytest.param(3, 24, {"training_min_days": 5}, False, "应不少于5天或40学时",
                 id="local-5-days-refuses-3-days-of-24-hours"),
    pytest.param(5, None, {"training_min_days": 5}, True, "", id="local-5-days"),
    pytest.param(None, 40, {"training_min_days": 5}, True, "", id="local-5-days-or-40-hours"),
    pytest.param(4, None, {"training_min_hours": 40}, False, "应不少于5天或40学时", id="local-40-hours-refuses-4-days"),
    pytest.param(5, None, {"training_min_hours": 40}, True, "", id="local-40-hours-5-days"),
    pytest.param(3, 32, {"training_min_days": 4, "training_min_hours": 36}, False, "应不少于4天或36学时",
                 id="local-both"),
    pytest.param(None, 36, {"training_min_days": 4, "training_min_hours": 36}, True, "", id="local-both-hours"),
])
def test_training_length(district, admin, consented, days, hours, practice, ok, words):
    if practice:
        practice_save(actor=admin, organization=district.committee_b, values=practice)
    case = consented
    details = {"training_days": days, "training_hours": hours}
    if ok:
        rec = record(admin, case, 11, SPONSOR_DAY, details=details)
        assert rec.details.get("training_days") == days and rec.details.get("training_hours") == hours
        return
    err = refused(case, RuleViolation, lambda: record(admin, case, 11, SPONSOR_DAY, details=details))
    assert_rule(err, "training_days", f"{REG}第十七条", "training_days", words)


@pytest.fixture
def reviewed(district, admin, pair):
    return reach(admin, district.branch_b1, pair, 12, start=MID)


def test_leaving_within_three_months_needs_a_note(admin, reviewed):
    case, on = reviewed, schedule(MID)[13]
    err = refused(case, RuleViolation, lambda: record(admin, case, 13, on, details={"leaving_soon": True}))
    assert_rule(err, "leaving_soon", f"{REG}第十八条", "note", "发展对象3个月内将离开工作、学习单位")
    assert err.fields["note"][0].startswith("备注：")
    rec = record(admin, case, 13, on, details={"leaving_soon": "on"}, note="赴外地挂职，经党委研究同意接收")
    assert rec.details["leaving_soon"] is True


def test_a_failed_prereview_is_held_again(admin, reviewed):
    case, on = reviewed, schedule(MID)[13]
    record(admin, case, 13, on, outcome=Outcome.FAILED)
    refused(case, Conflict, lambda: record(admin, case, 14, on))
    record(admin, case, 13, on + dt.timedelta(days=3))
    assert record(admin, case, 14, on + dt.timedelta(days=3)).number == 14


# --- who acts ---------------------------------------------------------------------------------------------------

def test_a_branch_without_an_approving_committee_cannot_be_approved(district, admin, pair):
    members = full_members(district.branch_a1)
    case = reach(admin, district.branch_a1, members, 12, start=MID)
    assert case.steps.get(number=4).acting_org == district.committee_a  # the 党工委 files and consents
    err = refused(case, RuleViolation, lambda: record(admin, case, 13, schedule(MID)[13]))
    assert_rule(err, "approval_authority", f"{REG}第二十二条", words="甲社区党支部没有具备审批预备党员权限的上级党委")
    assert list(err.fields) == ["number"]  # the step as a whole is refused


def test_a_committee_admin_of_another_committee_cannot_act(district, admin, pair):
    other = district.users["committee_admin"]  # on 甲街道党工委, not on 区教育局党委
    case = reach(admin, district.branch_b1, pair, 12)
    err = refused(case, PermissionDenied, lambda: record(other, case, 13, DATES[13]))
    assert "区教育局党委" in err.message and "第13步" in err.message
    case = reach(admin, district.branch_b1, pair, 3, n=2)
    refused(case, PermissionDenied, lambda: record(other, case, 4, DATES[4]))


def test_a_committee_admin_acts_for_their_own_committee(district, admin):
    actor = district.users["committee_admin"]
    case = reach(admin, district.branch_a1, None, 3)
    rec = record(actor, case, 4, DATES[4])
    assert rec.acting_org == district.committee_a and rec.entered_by == actor


def test_a_branch_worker_records_branch_steps_but_not_committee_steps(district, admin):
    worker = district.users["branch_worker"]
    case = open_case(worker, district.branch_a1)
    record(worker, case, 2, DATES[2])
    record(worker, case, 3, DATES[3])
    err = refused(case, PermissionDenied, lambda: record(worker, case, 4, DATES[4]))
    assert "甲街道党工委" in err.message
    b1_case = open_case(admin, district.branch_b1, n=3)
    refused(b1_case, PermissionDenied, lambda: record(worker, b1_case, 2, DATES[2]))  # not their branch


# --- admission: meeting, approval, effect -----------------------------------------------------------------------

@pytest.mark.parametrize("start, on, late", [
    pytest.param(MID, add_months(schedule(MID)[13], 1), "", id="2026-one-month"),
    pytest.param(MID, add_months(schedule(MID)[13], 1) + dt.timedelta(days=1),
                 f"超期1天：预审通过后一个月内提交党支部党员大会讨论（{REG}第十九条）", id="2026-a-day-late"),
    pytest.param(START, add_months(DATES[13], 3), "", id="2014-no-limit"),
])
def test_the_branch_meeting_after_prereview(district, admin, pair, start, on, late):
    case = reach(admin, district.branch_b1, pair, 14, start=start)
    rec = record(admin, case, 15, on)
    assert rec.details.get("late", "") == late
    entry = AuditEntry.objects.filter(action="recruitment.step.recorded").order_by("-id").first()
    assert entry.changes.get("late", "") == late
    assert (rec.voters_expected, rec.voters_present, rec.written_opinions, rec.yes) == (10, 8, 1, 8)


def test_the_branch_meeting_vote_is_checked(district, admin, pair):
    case = reach(admin, district.branch_b1, pair, 14, start=MID)
    on = schedule(MID)[15]
    err = refused(case, RuleViolation, lambda: record(admin, case, 15, on, voters_present=5, yes=5, no=0,
                                                      written_opinions=0))
    assert_rule(err, "quorum", f"{REG}第十九条", "voters_present", "实到会有表决权党员5人，未超过应到10人的半数")
    err = refused(case, RuleViolation, lambda: record(admin, case, 15, on, yes=5, no=4))
    assert_rule(err, "majority", f"{REG}第二十条", "yes", "赞成5票")
    err = refused(case, ValidationFailed, lambda: record(admin, case, 15, on, yes=None))
    assert_field(err, "yes", "赞成：表决事项必须填写")
    err = refused(case, ValidationFailed, lambda: record(admin, case, 15, on, no=-1))
    assert_field(err, "no", "反对：不能为负数")
    assert record(admin, case, 15, on, voters_present=6, written_opinions=0, yes=6, no=0).yes == 6


@pytest.fixture
def talked(district, admin, pair, late_today):
    return reach(admin, district.branch_b1, pair, 16, start=MID)


MEETING = schedule(MID)[15]  # 2026-08-07


@pytest.mark.parametrize("on, reason, ok", [
    pytest.param(add_months(MEETING, 3), "", True, id="3-months"),
    pytest.param(add_months(MEETING, 3) + dt.timedelta(days=1), "", False, id="3-months-and-a-day"),
    pytest.param(add_months(MEETING, 3) + dt.timedelta(days=1), "党委换届，延期审批", True, id="with-a-reason"),
    pytest.param(add_months(MEETING, 6), "党委换届，延期审批", True, id="6-months-with-a-reason"),
    pytest.param(add_months(MEETING, 6) + dt.timedelta(days=1), "党委换届，延期审批", False, id="over-6-months"),
])
def test_approval_within_three_months_or_six_with_a_reason(admin, talked, on, reason, ok):
    case = talked
    details = {"special_reason": reason}
    if ok:
        rec = record(admin, case, 17, on, details=details)
        assert rec.details.get("special_reason", "") == reason
        return
    err = refused(case, RuleViolation, lambda: record(admin, case, 17, on, details=details))
    if reason:
        assert_rule(err, "approval_max_months", f"{REG}第二十五条", "on",
                    f"党支部党员大会{MEETING.isoformat()}通过，已超过6个月，不能再审批")
    else:
        assert_rule(err, "approval_months", f"{REG}第二十五条", "special_reason", "超过3个月审批，须写明特殊原因")
        assert err.fields["special_reason"][0].startswith("超过3个月审批的特殊原因：")


def test_admission_creates_the_probationary_member(district, admin, pair):
    data = person(11)
    user = make_user("applicant11", display_name=data["name"])
    case = case_create(actor=admin, organization=district.branch_b1, data=data, applied_on=START, user=user)
    walk(admin, case, until=16, mentors=pair, sponsors=pair)
    members_before = Member.unscoped.count()
    record(admin, case, 17, DATES[17])
    case.refresh_from_db()
    assert Member.unscoped.count() == members_before + 1
    with system_scope("test"):
        member = Member.objects.get(pk=case.member_id)
    assert member.status == MemberStatus.PROBATIONARY and member.confirmed_on is None
    assert member.joined_on == DATES[15]  # 入党日期: the branch meeting, not the approval
    assert member.organization == district.branch_b1 and member.name == case.name
    assert member.id_number_digest == case.id_number_digest and member.birth_date == case.birth_date
    assert member.user == user
    assert (case.admitted_on, case.approved_on) == (DATES[15], DATES[17])
    assert case.probation_ends_on == add_years(DATES[15], 1)
    assert AuditEntry.objects.filter(action="recruitment.case.admitted", target_id=str(case.pk)).exists()


def test_admission_leaves_a_user_already_linked_to_a_member_alone(district, admin, pair):
    user = make_user("applicant12", display_name=person(12)["name"])
    case = case_create(actor=admin, organization=district.branch_b1, data=person(12), applied_on=START, user=user)
    walk(admin, case, until=16, mentors=pair, sponsors=pair)
    Member.unscoped.filter(pk=district.member_a2.pk).update(user=user)  # linked elsewhere in the meantime
    record(admin, case, 17, DATES[17])
    case.refresh_from_db()
    assert Member.unscoped.get(pk=case.member_id).user is None
    assert Member.unscoped.get(pk=district.member_a2.pk).user == user


@pytest.mark.parametrize("account, words", [
    ("member", "已关联党员名册中的其他党员"),  # 张三's account: it would show him this person's case
    ("nobody", "登记的姓名与申请人姓名不一致"),
])
def test_a_case_is_not_linked_to_somebody_elses_account(district, admin, account, words):
    before = case_count()
    with pytest.raises(ValidationFailed) as e:
        case_create(actor=admin, organization=district.branch_b1, data=person(12), applied_on=START,
                    user=district.users[account])
    assert_field(e.value, "username", words)
    assert case_count() == before


def test_a_failed_approval_admits_no_one_and_may_be_held_again(district, admin, pair):
    case = reach(admin, district.branch_b1, pair, 16)
    members = Member.unscoped.count()
    record(admin, case, 17, DATES[17], outcome=Outcome.FAILED)
    case.refresh_from_db()
    assert case.member_id is None and case.stage == Stage.DEVELOPMENT_TARGET and Member.unscoped.count() == members
    refused(case, Conflict, lambda: record(admin, case, 18, DATES[18]))
    record(admin, case, 17, DATES[17] + dt.timedelta(days=1))
    case.refresh_from_db()
    assert case.stage == Stage.PROBATIONARY and case.member_id


def test_approval_of_someone_already_on_the_roster_is_refused(district, admin, pair):
    case = reach(admin, district.branch_b1, pair, 16, n=13)
    make_member(district.branch_a2, id_number=person(13)["id_number"], born=D(1998, 3, 14), sex="female")
    err = refused(case, ValidationFailed, lambda: record(admin, case, 17, DATES[17]))
    assert_field(err, "outcome", "此人已在党员名册中")


# --- probation ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("start, days_late, late", [
    pytest.param(MID, 0, "", id="2026-within-a-month"),
    pytest.param(MID, 1, f"超期1天：党委审批后一个月内组织入党宣誓（{REG}第二十九条）", id="2026-late"),
    pytest.param(START, 30, "", id="2014-no-limit"),
])
def test_the_oath(district, admin, pair, start, days_late, late):
    case = reach(admin, district.branch_b1, pair, 17, start=start)
    on = add_months(schedule(start)[17], 1) + dt.timedelta(days=days_late)
    rec = record(admin, case, 20, on)
    assert rec.details.get("late", "") == late


@pytest.fixture
def applied_for_conversion(district, admin, pair):
    return reach(admin, district.branch_b1, pair, 22)


ENDS = add_years(DATES[15], 1)  # 2026-09-06


def test_the_conversion_vote_waits_for_the_end_of_probation(admin, applied_for_conversion):
    case = applied_for_conversion
    err = refused(case, RuleViolation, lambda: record(admin, case, 23, ENDS - dt.timedelta(days=1)))
    assert_rule(err, "probation_years", f"{REG}第三十一条、《中国共产党章程》第七条", "on",
                f"预备期至{ENDS.isoformat()}届满，届满后方可讨论转正")
    assert record(admin, case, 23, ENDS).on == ENDS


def extend(months, reason="思想汇报不及时，需继续考察"):
    return {"extension_months": months, "reason": reason}


@pytest.mark.parametrize("months, ok", [(5, False), (6, True), (12, True), (13, False), ("", False)])
def test_extension_is_six_to_twelve_months(admin, applied_for_conversion, months, ok):
    case = applied_for_conversion
    kw = dict(outcome=Outcome.EXTEND, details=extend(months))
    if ok:
        assert record(admin, case, 23, ENDS, **kw).details["extension_months"] == months
        return
    err = refused(case, RuleViolation, lambda: record(admin, case, 23, ENDS, **kw))
    assert_rule(err, "extension", f"{REG}第三十一条", "extension_months", "延长时间应为6至12个月")


def test_an_extension_needs_a_reason(admin, applied_for_conversion):
    case = applied_for_conversion
    err = refused(case, ValidationFailed, lambda: record(admin, case, 23, ENDS, outcome=Outcome.EXTEND,
                                                         details=extend(6, reason="")))
    assert_field(err, "reason", "理由：请填写")


def test_an_extension_repeats_the_conversion_round_once(district, admin, applied_for_conversion, late_today):
    case = applied_for_conversion
    record(admin, case, 23, ENDS, outcome=Outcome.EXTEND, details=extend(6))
    refused(case, Conflict, lambda: record(admin, case, 22, ENDS))  # not before the 党委 decided
    record(admin, case, 24, ENDS + dt.timedelta(days=20), outcome=Outcome.EXTEND, details=extend(6))
    case.refresh_from_db()
    extended = add_months(ENDS, 6)  # 2027-03-06
    assert case.extension_months == 6 and case.probation_ends_on == extended
    assert case.stage == Stage.PROBATIONARY and case.converted_on is None
    assert AuditEntry.objects.filter(action="recruitment.case.extended", target_id=str(case.pk)).exists()
    refused(case, Conflict, lambda: record(admin, case, 23, extended))  # the round starts with 22 again
    record(admin, case, 22, extended - dt.timedelta(days=10))
    err = refused(case, RuleViolation, lambda: record(admin, case, 23, extended - dt.timedelta(days=1)))
    assert_rule(err, "probation_years", f"{REG}第三十一条、《中国共产党章程》第七条", "on", extended.isoformat())
    err = refused(case, RuleViolation, lambda: record(admin, case, 23, extended, outcome=Outcome.EXTEND,
                                                      details=extend(6)))
    assert_rule(err, "extension", f"{REG}第三十一条", "outcome", "预备期已延长过一次，不能再次延长")
    record(admin, case, 23, extended)
    refused(case, Conflict, lambda: record(admin, case, 22, extended))
    record(admin, case, 24, extended + dt.timedelta(days=15))
    case.refresh_from_db()
    member = Member.unscoped.get(pk=case.member_id)
    assert member.status == MemberStatus.FULL and member.confirmed_on == extended  # 党龄 from the extended end
    assert case.converted_on == extended and case.stage == Stage.FULL_MEMBER
    assert [n for n in case.steps.values_list("number", flat=True) if n >= 22] == [22, 23, 24, 22, 23, 24]
    record(admin, case, 25, extended + dt.timedelta(days=30))
    case.refresh_from_db()
    assert case.status == CaseStatus.COMPLETED


def test_a_second_extension_by_the_committee_is_refused(admin, applied_for_conversion, late_today):
    case = applied_for_conversion
    record(admin, case, 23, ENDS, outcome=Outcome.EXTEND, details=extend(12))
    record(admin, case, 24, ENDS + dt.timedelta(days=20), outcome=Outcome.EXTEND, details=extend(12))
    extended = add_months(ENDS, 12)
    record(admin, case, 22, extended)
    record(admin, case, 23, extended)  # the branch votes to convert
    err = refused(case, RuleViolation, lambda: record(admin, case, 24, extended + dt.timedelta(days=5),
                                                      outcome=Outcome.EXTEND, details=extend(6)))
    assert_rule(err, "extension", f"{REG}第三十一条", "outcome", "已延长过一次")


def test_conversion_approval_late_is_marked(admin, applied_for_conversion, late_today):
    case = applied_for_conversion
    record(admin, case, 23, ENDS)
    rec = record(admin, case, 24, add_months(ENDS, 3) + dt.timedelta(days=2))
    assert rec.details["late"] == f"超期2天：党委应在三个月内审批预备党员转正（{REG}第三十三条）"


def test_cancellation_ends_the_case(admin, applied_for_conversion):
    case = applied_for_conversion
    reason = {"reason": "不履行党员义务，不具备党员条件"}
    record(admin, case, 23, ENDS, outcome=Outcome.CANCEL, details=reason)
    record(admin, case, 24, ENDS + dt.timedelta(days=20), outcome=Outcome.CANCEL, details=reason)
    case.refresh_from_db()
    assert case.status == CaseStatus.ENDED and case.ended_on == ENDS + dt.timedelta(days=20)
    assert case.end_reason == "取消预备党员资格：不履行党员义务，不具备党员条件"
    assert case.next_due is None and case.next_step is None
    assert AuditEntry.objects.filter(action="recruitment.case.cancelled", target_id=str(case.pk)).exists()
    err = refused(case, Conflict, lambda: record(admin, case, 25, ENDS + dt.timedelta(days=30)))
    assert "已办结或终止" in err.message


# --- a case entirely under the 2026 text ---------------------------------------------------------------------

def test_a_case_entirely_under_2026(district, admin, pair, late_today):
    case = reach(admin, district.branch_b1, pair, 25, start=NEW)
    dates = schedule(NEW)
    assert set(case.steps.values_list("rule_version", flat=True)) == {"2026"}
    member = Member.unscoped.get(pk=case.member_id)
    assert member.joined_on == dates[15] and member.confirmed_on == add_years(dates[15], 1)
    assert case.status == CaseStatus.COMPLETED
    assert not [s for s in case.steps.all() if "late" in s.details]


# --- ending and moving a case ------------------------------------------------------------------------------------

def test_case_end(district, admin, pair):
    case = reach(admin, district.branch_b1, pair, 3)
    err = refused(case, ValidationFailed, lambda: case_end(actor=admin, case=case, on=DATES[3], reason=" "))
    assert_field(err, "reason", "终止原因：请填写")
    err = refused(case, ValidationFailed, lambda: case_end(actor=admin, case=case, on=START - dt.timedelta(days=1),
                                                           reason="本人撤回"))
    assert_field(err, "on", "应在2024-05-06至今天之间")
    worker = district.users["branch_worker"]
    refused(case, PermissionDenied, lambda: case_end(actor=worker, case=case, on=DATES[3], reason="本人撤回"))
    case_end(actor=admin, case=case, on=DATES[4], reason="本人撤回申请")
    case.refresh_from_db()
    assert (case.status, case.ended_on, case.end_reason) == (CaseStatus.ENDED, DATES[4], "本人撤回申请")
    assert case.next_due is None
    refused(case, Conflict, lambda: record(admin, case, 4, DATES[4]))
    refused(case, Conflict, lambda: case_end(actor=admin, case=case, on=DATES[4], reason="再次"))


def test_a_probationary_case_is_not_ended_but_decided_by_steps_23_24(district, admin, pair):
    case = reach(admin, district.branch_b1, pair, 17)
    err = refused(case, Conflict, lambda: case_end(actor=admin, case=case, on=DATES[18], reason="本人撤回"))
    assert "第23、24步" in err.message


def test_a_moved_activist_keeps_the_training_time(district, admin, pair):
    case = reach(admin, district.branch_b1, pair, 6)
    moved_on = D(2025, 4, 1)
    case_move(actor=admin, case=case, to=district.branch_a1, on=moved_on)
    case.refresh_from_db()
    assert case.organization == district.branch_a1 and case.org_path == district.branch_a1.path
    assert case.activist_on == DATES[3]
    move = CaseMove.objects.get(case=case)
    assert (move.from_org, move.to_org, move.on) == (district.branch_b1, district.branch_a1, moved_on)
    # a year since the confirmation at the old branch, not since the move
    err = refused(case, RuleViolation, lambda: record(admin, case, 7, add_years(DATES[3], 1) - dt.timedelta(days=1)))
    assert err.rule == "recruitment.activist_years"
    rec = record(admin, case, 7, add_years(DATES[3], 1))
    assert rec.acting_org == district.branch_a1
    assert record(admin, case, 8, DATES[8]).acting_org == district.committee_a  # the new superior
    assert AuditEntry.objects.filter(action="recruitment.case.moved", target_id=str(case.pk)).exists()


def test_case_move_refusals(district, admin, pair, monkeypatch):
    case = reach(admin, district.branch_b1, pair, 3)
    probationary = reach(admin, district.branch_b1, pair, 17, n=2)
    monkeypatch.setattr(services, "_today", lambda: D(2025, 1, 1))
    err = refused(case, ValidationFailed, lambda: case_move(actor=admin, case=case, to=district.branch_b1,
                                                            on=D(2024, 12, 1)))
    assert_field(err, "to", "与当前培养党组织相同")
    err = refused(case, ValidationFailed, lambda: case_move(actor=admin, case=case, to=district.branch_a1,
                                                            on=D(2025, 1, 2)))
    assert_field(err, "on", "不能晚于今天")
    err = refused(case, ValidationFailed, lambda: case_move(actor=admin, case=case, to=district.branch_a1,
                                                            on=START - dt.timedelta(days=1)))
    assert_field(err, "on", "不能早于递交申请日期")
    worker = district.users["branch_worker"]  # may manage the target, not the case's branch
    refused(case, PermissionDenied, lambda: case_move(actor=worker, case=case, to=district.branch_a1,
                                                      on=D(2024, 12, 1)))
    refused(probationary, Conflict, lambda: case_move(actor=admin, case=probationary, to=district.branch_a1,
                                                      on=D(2024, 12, 1)))
