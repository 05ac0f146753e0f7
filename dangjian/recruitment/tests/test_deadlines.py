"""Due dates (deadlines.py): each one's date at month ends and leap days, under the 2014 and 2026 texts, how
urgent it is at the exact edges, and a case's `next_due` / `next_step` kept current by every step."""

import datetime as dt
from itertools import count
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from dangjian.core.dates import add_months, add_years
from dangjian.recruitment import deadlines, rules, services
from dangjian.recruitment.deadlines import Due
from dangjian.recruitment.models import CaseStatus, DocumentKind, Outcome, Stage
from dangjian.recruitment.services import document_add, practice_save, step_record
from dangjian.recruitment.tests.factories import START, full_members, open_case, schedule, valid_input, walk
from dangjian.recruitment.workflow import History

D = dt.date
REG = rules.REG_2026
_ids = count(1)


# --- pure: a case and its records as plain objects --------------------------------------------------------------

def step(number, on, outcome=Outcome.PASSED, **details):
    return SimpleNamespace(number=number, on=on, outcome=outcome, details=details, id=next(_ids))


def case_(applied, stage=Stage.APPLICANT, status="open", **kw):
    fields = {"activist_on": None, "probation_ends_on": None, **kw}
    return SimpleNamespace(applied_on=applied, stage=stage, status=status, **fields)


def dues(case, *steps, **kw):
    return deadlines.deadlines(case, History.of(steps), **kw)


def only(case, *steps, label, **kw):
    found = [d for d in dues(case, *steps, **kw) if d.label == label]
    assert len(found) <= 1
    return found[0] if found else None


@pytest.mark.parametrize("applied, due, article", [
    (D(2024, 1, 31), D(2024, 2, 29), rules.REG_2014),  # into a leap February
    (D(2025, 1, 31), D(2025, 2, 28), rules.REG_2014),
    (D(2026, 3, 31), D(2026, 4, 30), rules.REG_2014),  # before 2026-05-11: still the 2014 text
    (D(2026, 5, 31), D(2026, 6, 30), f"{REG}第七条"),
    (D(2026, 12, 31), D(2027, 1, 31), f"{REG}第七条"),  # across the year
    (D(2026, 6, 1), D(2026, 7, 1), f"{REG}第七条"),
])
def test_talk_due_a_month_after_the_application(applied, due, article):
    found = dues(case_(applied), step(1, applied))
    assert found == [Due("派人谈话", due, 2, article)]
    assert dues(case_(applied), step(1, applied), step(2, applied)) == []  # held: nothing due


ACTIVE = D(2024, 6, 6)


@pytest.mark.parametrize("start, assessed, due", [
    pytest.param(ACTIVE, [], D(2024, 12, 5), id="none-yet-the-last-day-of-the-first-half-year"),
    pytest.param(ACTIVE, [D(2024, 9, 6)], D(2025, 3, 6), id="six-months-after-the-last"),
    pytest.param(ACTIVE, [D(2024, 9, 6), D(2025, 3, 6)], D(2025, 9, 6), id="after-the-second"),
    pytest.param(ACTIVE, [D(2024, 12, 5)], D(2025, 6, 5), id="the-last-day-of-each"),
    pytest.param(ACTIVE, [D(2025, 1, 10)], D(2024, 12, 5), id="a-missed-half-year-stays-due"),
    pytest.param(D(2024, 8, 31), [], D(2025, 2, 27), id="month-end-start"),
    pytest.param(D(2024, 8, 31), [D(2024, 8, 31)], D(2025, 2, 28), id="month-end-same-day-assessed"),
    pytest.param(D(2023, 8, 31), [], D(2024, 2, 28), id="leap-february"),
    pytest.param(D(2024, 2, 29), [D(2024, 8, 28)], D(2025, 2, 27), id="leap-day-start-window-ends-first"),
])
def test_next_assessment_due(start, assessed, due):
    case = case_(start - dt.timedelta(days=40), Stage.ACTIVIST, activist_on=start)
    steps = [step(3, start)] + [step(6, d, assessment="良好") for d in assessed]
    found = only(case, *steps, step(2, start), label="培养教育考察（每半年）")
    assert found.on == due and found.step == 6
    # the due day is the last day that still covers the half-year: missing_assessment agrees
    in_time = sorted(assessed + [due])
    assert rules.missing_assessment(start, add_months(start, 6 * (len(in_time))), in_time) is None


def test_assessment_due_counts_from_the_filing_when_so_set(settings):
    settings.DANGJIAN_RECRUITMENT = {**settings.DANGJIAN_RECRUITMENT, "activist_period_from": 4}
    case = case_(D(2024, 5, 6), Stage.ACTIVIST, activist_on=ACTIVE)
    found = only(case, step(2, ACTIVE), step(3, ACTIVE), step(4, D(2024, 6, 20)), label="培养教育考察（每半年）")
    assert found.on == D(2024, 12, 19)


def test_no_assessment_due_once_a_development_target():
    case = case_(D(2024, 5, 6), Stage.DEVELOPMENT_TARGET, activist_on=ACTIVE)
    assert only(case, step(2, ACTIVE), step(3, ACTIVE), step(7, D(2025, 6, 6)), label="培养教育考察（每半年）") is None


def test_public_notice_ends_is_due_until_the_branch_review():
    case = case_(D(2025, 4, 7), Stage.DEVELOPMENT_TARGET)
    consent = step(8, D(2026, 6, 1), public_notice_from="2026-06-01", public_notice_to="2026-06-05")
    found = only(case, step(2, D(2025, 4, 7)), consent, label="公示期满")
    assert found == Due("公示期满", D(2026, 6, 5), 12, f"{REG}第十三条")
    assert only(case, step(2, D(2025, 4, 7)), consent, step(12, D(2026, 6, 8)), label="公示期满") is None
    no_notice = step(8, D(2025, 6, 1))  # 2014: 备案 only, no notice, nothing to wait for
    assert only(case, step(2, D(2025, 4, 7)), no_notice, label="公示期满") is None


@pytest.mark.parametrize("prereview, due", [
    (D(2026, 7, 31), D(2026, 8, 31)),
    (D(2027, 1, 31), D(2027, 2, 28)),
    (D(2028, 1, 30), D(2028, 2, 29)),
    (D(2026, 5, 11), D(2026, 6, 11)),  # the first day of the 2026 text
])
def test_meeting_due_a_month_after_prereview(prereview, due):
    case = case_(D(2024, 5, 6), Stage.DEVELOPMENT_TARGET)
    found = only(case, step(2, prereview), step(13, prereview), label="提交党支部党员大会讨论")
    assert found == Due("提交党支部党员大会讨论", due, 15, f"{REG}第十九条")
    assert only(case, step(2, prereview), step(13, prereview), step(15, due), label="提交党支部党员大会讨论") is None


@pytest.mark.parametrize("prereview", [D(2026, 5, 10), D(2025, 8, 16)])
def test_no_meeting_due_under_2014(prereview):
    case = case_(D(2024, 5, 6), Stage.DEVELOPMENT_TARGET)
    assert only(case, step(2, prereview), step(13, prereview), label="提交党支部党员大会讨论") is None


def test_a_failed_prereview_sets_no_meeting_due():
    case = case_(D(2024, 5, 6), Stage.DEVELOPMENT_TARGET)
    prereview = step(13, D(2026, 7, 1), outcome=Outcome.FAILED)
    assert only(case, step(2, D(2026, 7, 1)), prereview, label="提交党支部党员大会讨论") is None


@pytest.mark.parametrize("meeting, due, article", [
    (D(2026, 11, 30), D(2027, 2, 28), f"{REG}第二十五条"),
    (D(2027, 11, 30), D(2028, 2, 29), f"{REG}第二十五条"),
    (D(2025, 9, 6), D(2025, 12, 6), rules.REG_2014),  # the same three months under 2014
])
def test_approval_due_three_months_after_the_meeting(meeting, due, article):
    case = case_(D(2024, 5, 6), Stage.DEVELOPMENT_TARGET)
    found = only(case, step(2, meeting), step(15, meeting), label="上级党委审批")
    assert found == Due("上级党委审批", due, 17, article)
    assert only(case, step(2, meeting), step(15, meeting), step(17, due, outcome=Outcome.FAILED),
                label="上级党委审批") is None


@pytest.mark.parametrize("approval, due", [
    (D(2026, 9, 7), D(2026, 10, 7)),
    (D(2027, 1, 31), D(2027, 2, 28)),
    (D(2026, 5, 11), D(2026, 6, 11)),
    (D(2025, 10, 6), None),  # 2014: no limit for the oath
])
def test_oath_due_a_month_after_approval(approval, due):
    case = case_(D(2024, 5, 6), Stage.PROBATIONARY, probation_ends_on=add_years(approval, 1))
    steps = [step(2, approval), step(15, approval), step(17, approval)]
    found = only(case, *steps, label="入党宣誓")
    assert (found and found.on) == due
    if found:
        assert found.article == f"{REG}第二十九条" and found.step == 20
    assert only(case, *steps, step(20, approval), label="入党宣誓") is None


def test_probation_end_and_conversion_approval_due():
    ends = D(2027, 2, 28)
    case = case_(D(2024, 5, 6), Stage.PROBATIONARY, probation_ends_on=ends)
    steps = [step(2, D(2026, 1, 1)), step(15, D(2026, 2, 28)), step(17, D(2026, 3, 1)), step(20, D(2026, 3, 2))]
    assert dues(case, *steps) == [Due("预备期满，讨论转正", ends, 23, f"{REG}第三十一条、《中国共产党章程》第七条")]
    vote = step(23, D(2027, 2, 28))
    assert dues(case, *steps, step(22, D(2027, 2, 20)), vote) == [
        Due("上级党委审批转正", D(2027, 5, 28), 24, f"{REG}第三十三条")]
    # the 党委 extended: the next round waits for the new end
    extended = case_(D(2024, 5, 6), Stage.PROBATIONARY, probation_ends_on=D(2027, 8, 28))
    decided = step(24, D(2027, 3, 10), outcome=Outcome.EXTEND)
    assert dues(extended, *steps, step(22, D(2027, 2, 20)), vote, decided) == [
        Due("预备期满，讨论转正", D(2027, 8, 28), 23, f"{REG}第三十一条、《中国共产党章程》第七条")]


def test_conversion_approval_due_at_month_end():
    case = case_(D(2024, 5, 6), Stage.PROBATIONARY, probation_ends_on=D(2026, 11, 30))
    steps = [step(2, D(2025, 1, 1)), step(17, D(2025, 12, 20)), step(20, D(2025, 12, 21)),
             step(22, D(2026, 11, 20)), step(23, D(2026, 11, 30))]
    assert dues(case, *steps)[0].on == D(2027, 2, 28)


def test_dues_come_earliest_first_and_none_on_a_closed_case():
    case = case_(D(2026, 6, 1), Stage.PROBATIONARY, probation_ends_on=D(2027, 8, 1))
    steps = [step(1, D(2026, 6, 1)), step(15, D(2026, 8, 1)), step(17, D(2026, 9, 1))]
    found = dues(case, *steps)
    assert [d.label for d in found] == ["派人谈话", "入党宣誓", "预备期满，讨论转正"]
    assert [d.on for d in found] == sorted(d.on for d in found)
    case.status = "ended"
    assert dues(case, *steps) == []


def test_thought_report_due_is_a_local_practice():
    case = case_(D(2024, 5, 6), Stage.ACTIVIST, activist_on=ACTIVE)
    steps = [step(2, D(2024, 5, 16)), step(3, ACTIVE), step(6, D(2024, 9, 6))]
    assert only(case, *steps, label="提交思想汇报") is None
    assert only(case, *steps, label="提交思想汇报", thought_report_months=3).on == D(2024, 9, 6)
    found = only(case, *steps, label="提交思想汇报", thought_report_months=3, reports=(D(2024, 8, 31),))
    assert found.on == D(2024, 11, 30)


# --- how urgent -----------------------------------------------------------------------------------------------

TODAY = D(2026, 11, 29)


@pytest.mark.parametrize("on, state", [
    (TODAY - dt.timedelta(days=1), "red"),
    (TODAY, "amber"),  # due today: still in time
    (TODAY + dt.timedelta(days=14), "amber"),
    (TODAY + dt.timedelta(days=15), "green"),
    (D(2000, 1, 1), "red"),
])
def test_state_at_the_edges(on, state):
    assert Due("派人谈话", on, 2, "").state(TODAY) == state


def test_amber_days_is_a_setting(settings):
    settings.DANGJIAN_RECRUITMENT = {**settings.DANGJIAN_RECRUITMENT, "amber_days": 0}
    assert Due("x", TODAY, 2, "").state(TODAY) == "amber"
    assert Due("x", TODAY + dt.timedelta(days=1), 2, "").state(TODAY) == "green"


# --- next_due and next_step kept current by the services ----------------------------------------------------------

DATES = schedule(START)
# After each step of a START case: (next step, next due, its label). Steps 2..7 and 13..17 are under 2014
# (no 公示 needed, no limits for the meeting or the oath), 22..24 under 2026.
EXPECTED = [
    (2, 3, None, ""),
    (3, 4, D(2024, 12, 5), "培养教育考察（每半年）"),
    (4, 5, D(2024, 12, 5), "培养教育考察（每半年）"),
    (5, 6, D(2024, 12, 5), "培养教育考察（每半年）"),
    (6, 7, D(2025, 3, 6), "培养教育考察（每半年）"),
    ("6b", 7, D(2025, 9, 6), "培养教育考察（每半年）"),
    (7, 8, None, ""),
    (8, 9, D(2025, 6, 25), "公示期满"),
    (9, 10, D(2025, 6, 25), "公示期满"),
    (10, 11, D(2025, 6, 25), "公示期满"),
    (11, 12, D(2025, 6, 25), "公示期满"),
    (12, 13, None, ""),
    (13, 14, None, ""),
    (14, 15, None, ""),
    (15, 16, D(2025, 12, 6), "上级党委审批"),
    (16, 17, D(2025, 12, 6), "上级党委审批"),
    (17, 18, D(2026, 9, 6), "预备期满，讨论转正"),
    (18, 19, D(2026, 9, 6), "预备期满，讨论转正"),
    (19, 20, D(2026, 9, 6), "预备期满，讨论转正"),
    (20, 21, D(2026, 9, 6), "预备期满，讨论转正"),
    (21, 22, D(2026, 9, 6), "预备期满，讨论转正"),
    (22, 23, D(2026, 9, 6), "预备期满，讨论转正"),
    (23, 24, D(2026, 12, 6), "上级党委审批转正"),
    (24, 25, None, ""),
    (25, None, None, ""),
]


@pytest.mark.django_db
def test_next_due_is_kept_current_after_each_step(district):
    admin = district.users["district_admin"]
    pair = full_members(district.branch_b1)
    case = open_case(admin, district.branch_b1)
    assert (case.next_step, case.next_due, case.next_due_label) == (2, D(2024, 6, 6), "派人谈话")
    seen = []
    for number, *_ in EXPECTED:
        n, on = (6, add_months(START, 10)) if number == "6b" else (number, DATES[number])
        people = pair if n in (5, 9) else None
        step_record(actor=admin, case=case, data=valid_input(case, n, on, people=people))
        case.refresh_from_db()
        seen.append((number, case.next_step, case.next_due, case.next_due_label))
    assert seen == EXPECTED
    assert case.status == CaseStatus.COMPLETED


@pytest.mark.django_db
def test_next_due_under_2026_meeting_and_oath(district, monkeypatch):
    monkeypatch.setattr(services, "_today", lambda: D(2028, 12, 31))
    admin = district.users["district_admin"]
    pair = full_members(district.branch_b1)
    start = D(2026, 6, 1)
    dates = schedule(start)
    case = open_case(admin, district.branch_b1, applied_on=start)
    walk(admin, case, until=13, start=start, mentors=pair, sponsors=pair)
    assert (case.next_due, case.next_due_label) == (add_months(dates[13], 1), "提交党支部党员大会讨论")
    walk_from(admin, case, dates, 14, 17)
    assert (case.next_due, case.next_due_label) == (add_months(dates[17], 1), "入党宣誓")
    walk_from(admin, case, dates, 18, 20)
    assert (case.next_due, case.next_due_label) == (add_years(dates[15], 1), "预备期满，讨论转正")
    assert case.next_step == 21


def walk_from(admin, case, dates, first, last):
    for n in range(first, last + 1):
        step_record(actor=admin, case=case, data=valid_input(case, n, dates[n]))
        case.refresh_from_db()


@pytest.mark.django_db
def test_next_due_after_an_extension_and_after_the_end(district, monkeypatch):
    monkeypatch.setattr(services, "_today", lambda: D(2028, 12, 31))
    admin = district.users["district_admin"]
    pair = full_members(district.branch_b1)
    case = open_case(admin, district.branch_b1)
    walk(admin, case, until=22, mentors=pair, sponsors=pair)
    ends = add_years(DATES[15], 1)
    extend = {"extension_months": 6, "reason": "需继续考察"}
    for n, on in ((23, ends), (24, ends + dt.timedelta(days=20))):
        data = valid_input(case, n, on)
        data.outcome, data.details = Outcome.EXTEND, dict(extend)
        step_record(actor=admin, case=case, data=data)
        case.refresh_from_db()
    assert (case.next_step, case.next_due, case.next_due_label) == (22, add_months(ends, 6), "预备期满，讨论转正")


@pytest.mark.django_db
def test_next_due_ends_with_the_case(district):
    admin = district.users["district_admin"]
    case = open_case(admin, district.branch_b1)
    services.case_end(actor=admin, case=case, on=START, reason="本人撤回申请")
    case.refresh_from_db()
    assert (case.next_step, case.next_due, case.next_due_label) == (None, None, "")


@pytest.mark.django_db
def test_a_thought_report_moves_the_due_date(district, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    admin = district.users["district_admin"]
    practice_save(actor=admin, organization=district.committee_b, values={"thought_report_months": 3})
    case = open_case(admin, district.branch_b1)
    walk(admin, case, until=3)
    assert (case.next_due, case.next_due_label) == (add_months(DATES[3], 3), "提交思想汇报")
    upload = SimpleUploadedFile("思想汇报.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    document_add(actor=admin, case=case, kind=DocumentKind.THOUGHT_REPORT, upload=upload)
    case.refresh_from_db()
    assert add_months(timezone.localdate(), 3) > D(2024, 12, 5)
    assert (case.next_due, case.next_due_label) == (D(2024, 12, 5), "培养教育考察（每半年）")


@pytest.mark.django_db
def test_each_case_keeps_the_step_of_its_next_due_item_as_the_migration_names_it(district, late_today):
    """The case stores which step settles its next due item (the reminders route a 党委's step to the 党委).
    Recruitment migration 0005 froze each due label's step to fill it in for existing cases: that table must
    agree with what deadlines.py gives, at every point a walk reaches, and its backfill must restore it."""
    import importlib

    from dangjian.recruitment.models import RecruitmentCase

    frozen = importlib.import_module("dangjian.recruitment.migrations.0005_next_due_step")
    admin = district.users["district_admin"]
    pair = full_members(district.branch_b1)
    seen = {}
    for n, until in enumerate((1, 3, 6, 8, 11, 13, 15, 17, 20, 22, 23), start=1):
        case = open_case(admin, district.branch_b1, n=n)
        if until > 1:
            walk(admin, case, until=until, mentors=pair, sponsors=pair)
        case.refresh_from_db()
        if case.next_due is not None:
            seen[case.next_due_label] = case.next_due_step
            assert frozen.STEP_OF_LABEL[case.next_due_label] == case.next_due_step, until
    assert {"派人谈话", "上级党委审批"} <= set(seen) and len(seen) >= 5
    RecruitmentCase.unscoped.update(next_due_step=None)
    frozen.backfill(django_apps, None)
    assert dict(RecruitmentCase.unscoped.exclude(next_due=None).values_list("next_due_label", "next_due_step")) == seen
