"""Walking a case through the 25 steps with valid data, for tests that need a case at some step.

The dates and inputs are those of `dangjian.recruitment.demo` (one schedule for the demo and the tests):
each satisfies every rule (a year as activist, half-yearly assessments, 5 working days of 公示 …).
"""

from __future__ import annotations

import datetime as dt

from dangjian.recruitment import demo
from dangjian.recruitment.demo import person, schedule
from dangjian.recruitment.services import case_create
from dangjian.testing import make_member

START = dt.date(2024, 5, 6)  # a Monday; the case spans the 2026 rule change and ends before 2026-11-29

__all__ = ["START", "full_members", "open_case", "person", "schedule", "valid_input", "walk"]


def open_case(actor, org, *, n: int = 1, applied_on: dt.date = START, **kw):
    """A case opened on `applied_on`, the applicant's consent signed that day (unless `consented_on` says)."""
    kw.setdefault("consented_on", applied_on)
    return case_create(actor=actor, organization=org, data=person(n, **kw), applied_on=applied_on)


def full_members(org, n: int = 2):
    return [make_member(org, name=f"正式党员{i}") for i in range(n)]


def valid_input(case, number: int, on: dt.date, *, people=None):
    """A StepInput that passes every rule for step `number` on `on` (`case` kept for the callers' symmetry)."""
    return demo.valid_input(number, on, people=people)


def walk(actor, case, *, until: int, start: dt.date = START, mentors=None, sponsors=None):
    """Record steps 2..until (6 twice: one assessment each half year)."""
    return demo.walk(actor, case, until=until, start=start, mentors=mentors or (), sponsors=sponsors or ())
