"""Demo cases for `make run` (and the dates tests walk by): a schedule of the 25 steps that satisfies every
rule, and the input of each step as a worker would enter it. Everything goes through the services."""

from __future__ import annotations

import datetime as dt

from dangjian.core.dates import add_months, add_years
from dangjian.core.validators import build_id_number

from .models import Body, ConsentMethod, Outcome
from .services import StepInput, case_create, step_record

BODIES = {1: Body.APPLICANT, 14: Body.APPLICANT, 22: Body.APPLICANT, 3: Body.BRANCH_COMMITTEE,
          7: Body.BRANCH_COMMITTEE, 12: Body.BRANCH_COMMITTEE, 15: Body.BRANCH_GENERAL, 23: Body.BRANCH_GENERAL,
          4: Body.COMMITTEE, 8: Body.COMMITTEE, 11: Body.COMMITTEE, 13: Body.COMMITTEE, 16: Body.COMMITTEE,
          17: Body.COMMITTEE, 18: Body.COMMITTEE, 24: Body.COMMITTEE}


def schedule(start: dt.date) -> dict[int, dt.date]:
    """A date for steps 2–25 of a case applied on `start` (a second assessment falls at 10 months)."""
    def m(months: int, days: int = 0) -> dt.date:
        return add_months(start, months) + dt.timedelta(days=days)

    admitted = m(16)
    return {2: m(0, 10), 3: m(1), 4: m(1, 5), 5: m(1, 5), 6: m(4), 7: m(13, 1), 8: m(13, 10), 9: m(14), 10: m(14),
            11: m(14), 12: m(15), 13: m(15, 10), 14: m(15, 15), 15: admitted, 16: m(16, 10), 17: m(17),
            18: m(17, 5), 19: m(17, 5), 20: m(17, 10), 21: m(20), 22: add_years(admitted, 1) - dt.timedelta(days=10),
            23: add_years(admitted, 1), 24: add_years(admitted, 1) + dt.timedelta(days=20),
            25: add_years(admitted, 1) + dt.timedelta(days=30)}


def valid_input(number: int, on: dt.date, *, people=None) -> StepInput:
    """What a worker enters for step `number` on `on` when all is in order."""
    data = StepInput(number=number, on=on, body=BODIES.get(number, Body.BRANCH), outcome=Outcome.PASSED)
    if number in (2, 16):
        data.details["talker"] = "支部书记"
    if number in (6, 21):
        data.details["assessment"] = "思想上进，表现良好"
    if number == 8:
        data.details.update(public_notice_from=on.isoformat(), public_notice_to=(on + dt.timedelta(days=9)).isoformat(),
                            public_notice_result="公示无异议")
    if number == 10:
        data.details["conclusion"] = "政治审查合格"
    if number == 11:
        data.details.update(training_days=3, training_hours=24)
    if number in (15, 23):
        data.voters_expected, data.voters_present, data.written_opinions = 10, 8, 1
        data.yes, data.no, data.abstain = 8, 1, 0
    if number in (5, 9):
        data.people = list(people or [])
    return data


def person(n: int, *, born: dt.date = dt.date(1998, 3, 14), sex: str = "female",
           consented_on: dt.date = dt.date(2024, 5, 6), **kw) -> dict:
    """An applicant's data as a worker enters it, with the consent signed on the printed 告知书 (PIPL 第二十九条:
    no case without it) on `consented_on`, usually the day the application was handed in."""
    return {"name": f"申请人{n:03d}", "id_number": build_id_number("110105", born, n, sex), "phone": "13900001111",
            "education": "21", "occupation": "professional", "work_unit": "示范单位",
            "consent_method": ConsentMethod.WRITTEN, "consent_on": consented_on, **kw}


def walk(actor, case, *, until: int, start: dt.date, mentors=(), sponsors=()):
    """Record steps 2..until of `schedule(start)`, as the branch and its 党委 would."""
    dates = schedule(start)
    for number in range(2, until + 1):
        people = mentors if number == 5 else sponsors if number == 9 else None
        step_record(actor=actor, case=case, data=valid_input(number, dates[number], people=people))
        if number == 6:
            step_record(actor=actor, case=case, data=valid_input(6, add_months(start, 10)))
        case.refresh_from_db()
    return case


# (name, months since application, last step): one case in each stage, some with a date due soon or overdue
DEMO_CASES = [("王晓明", 0, 1), ("李思源", 3, 6), ("陈雨桐", 14, 11), ("赵一鸣", 16, 15), ("周若曦", 24, 21),
              ("孙浩然", 30, 25)]


def seed_cases(actor, branch, members, today: dt.date) -> int:
    """Six cases in `branch` (whose 党委 has 审批权限), dated back from `today`; `members` are ≥ 4 full
    members of the branch (mentors and sponsors)."""
    mentors, sponsors = members[:2], members[2:4]
    for n, (name, months, last) in enumerate(DEMO_CASES, start=1):
        start = add_months(today, -months) - dt.timedelta(days=20)
        born = dt.date(1990 + n, n, 10 + n)
        case = case_create(actor=actor, organization=branch, applied_on=start,
                           data=person(900 + n, born=born, sex="male" if n % 2 else "female", name=name,
                                       consented_on=start))
        dates = schedule(start)
        until = max(n for n in range(1, last + 1) if n == 1 or dates[n] <= today)
        walk(actor, case, until=until, start=start, mentors=mentors, sponsors=sponsors)
    return len(DEMO_CASES)
