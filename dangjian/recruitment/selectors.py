"""Reads of 发展党员全程纪实, always through the scoped managers, with explicit joins.

The statistics answer the yearly report's sentence "审批发展党员X人，其中女性X人，X岁以下X人，大专以上文化X人，
“两新”组织X人" for any scope and period, from the step records (a fact entered once)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Prefetch

from dangjian.core import codes
from dangjian.core.dates import add_years
from dangjian.core.errors import DomainError
from dangjian.core.permissions import load_one
from dangjian.core.scoping import within_subtree
from dangjian.orgs.models import Organization, Sector

from . import deadlines, rules, workflow
from .models import (
    CaseDocument,
    CaseStatus,
    Outcome,
    RecruitmentCase,
    RecruitmentPlan,
    RecruitmentStep,
)

JOINS = ("organization", "member")
COMMITTEE_STEPS = tuple(n for n, s in workflow.STEPS.items() if s.committee)


def case_list(*, org: Organization | None = None, status: str = CaseStatus.OPEN, stage: str = "", q: str = "",
              due_before: dt.date | None = None):
    """Visible cases, by organisation; `org` narrows to its subtree (one path range); `due_before` keeps those
    with a due date on or before it, earliest first."""
    qs = within_subtree(RecruitmentCase, org.path) if org is not None else RecruitmentCase.objects.all()
    if status:
        qs = qs.filter(status=status)
    if stage:
        qs = qs.filter(stage=stage)
    if q:
        qs = qs.filter(name__contains=q.strip())
    qs = qs.select_related(*JOINS)
    if due_before is not None:
        return qs.filter(next_due__isnull=False, next_due__lte=due_before).order_by("next_due", "id")
    return qs.order_by("org_path", "-applied_on", "id")


def access_case(*, actor, case_id: int) -> RecruitmentCase:
    """One case through the scope (a sibling branch's answer is 404, never 403)."""
    return load_one(RecruitmentCase.objects.select_related(*JOINS), case_id)


def case_steps(*, case: RecruitmentCase):
    """The timeline: every record, oldest first, with who acted, its meeting and its people (4 queries)."""
    return (case.steps.select_related("acting_org", "meeting", "entered_by")
            .prefetch_related("people", Prefetch("documents", queryset=CaseDocument.objects.order_by("id")))
            .order_by("on", "id"))


def case_history(*, case: RecruitmentCase) -> workflow.History:
    return workflow.History.of(case.steps.all())


def case_deadlines(*, case: RecruitmentCase, history: workflow.History | None = None) -> list[deadlines.Due]:
    from .services import case_due_items

    return case_due_items(case, history or case_history(case=case))


def due_list(*, org: Organization | None = None, within_days: int | None = None, today: dt.date):
    """Open cases by their next due date (the index `case_due`), overdue first; `within_days` keeps those due
    by today + N (None: all with a due date)."""
    if within_days is None:
        return case_list(org=org).filter(next_due__isnull=False).order_by("next_due", "id")
    return case_list(org=org, due_before=today + dt.timedelta(days=within_days))


def committee_queue(*, actor, org: Organization | None = None):
    """Cases waiting for a 党委's act (备案, 同意, 预审, 谈话, 审批, 审批转正) that this actor may do."""
    from dangjian.core.permissions import can

    from .services import APPROVE, acting_org

    out, committees = [], {}  # (organisation, kind of committee) → the committee: looked up once per call
    for case in case_list(org=org).filter(next_step__in=COMMITTEE_STEPS):
        step = workflow.STEPS[case.next_step]
        key = (case.organization_id, step.committee)
        if key not in committees:
            try:
                committees[key] = acting_org(case, step, case.applied_on)
            except DomainError:  # no committee with authority: the case page says so; nothing for the queue
                committees[key] = None
        committee = committees[key]
        if committee is not None and can(actor, APPROVE, committee):
            out.append((case, step, committee))
    return out


def own_cases(*, user) -> list[RecruitmentCase]:
    """The person's own cases (their progress). By the account linked to the case (an applicant is not on the
    roster yet), or the member's: unscoped for that reason only, filtered to this one person."""
    if not getattr(user, "is_authenticated", False):
        return []
    qs = RecruitmentCase.unscoped.filter(user=user) | RecruitmentCase.unscoped.filter(member__user=user)
    return list(qs.select_related(*JOINS).prefetch_related("steps").order_by("-applied_on"))


# --- plans and statistics -------------------------------------------------------------------------------

@dataclass
class Statistics:
    applicants: int = 0
    activists: int = 0
    development_targets: int = 0
    admitted: int = 0
    converted: int = 0
    women: int = 0
    minorities: int = 0
    young: int = 0
    college: int = 0
    two_new: int = 0
    front_line: int = 0
    by_occupation: dict = field(default_factory=dict)
    young_age: int = 35

    def sentence(self) -> str:
        """The yearly report's wording."""
        return (f"审批发展党员{self.admitted}人，其中女性{self.women}人，{self.young_age}岁及以下{self.young}人，"
                f"大专以上文化{self.college}人，“两新”组织{self.two_new}人")


def _steps_in(org: Organization | None, start: dt.date, end: dt.date, number: int):
    cases = within_subtree(RecruitmentCase, org.path) if org is not None else RecruitmentCase.objects.all()
    return RecruitmentStep.objects.filter(case__in=cases.values("pk"), number=number, on__gte=start, on__lte=end,
                                   outcome=Outcome.PASSED)


def recruitment_statistics(*, org: Organization | None, start: dt.date, end: dt.date) -> Statistics:
    """Counts for a scope and period (dates inclusive): five counts and the make-up of those admitted (by the
    党委's approval, step 17; ages at that day). Six queries whatever the size."""
    cfg = rules.config()
    young_age, front = cfg["young_age"], set(cfg["front_line_occupations"])
    stats = Statistics(young_age=young_age)
    cases = within_subtree(RecruitmentCase, org.path) if org is not None else RecruitmentCase.objects.all()
    stats.applicants = cases.filter(applied_on__gte=start, applied_on__lte=end).count()
    stats.activists = _steps_in(org, start, end, 3).count()
    stats.development_targets = _steps_in(org, start, end, 7).count()
    stats.converted = _steps_in(org, start, end, 24).count()
    admitted = _steps_in(org, start, end, 17).values_list(
        "on", "case__birth_date", "case__gender", "case__ethnicity", "case__education", "case__occupation",
        "case__organization__sector")
    occupations: Counter = Counter()
    for on, birth, gender, ethnicity, education, occupation, sector in admitted:
        stats.admitted += 1
        stats.women += gender == codes.Gender.FEMALE
        stats.minorities += ethnicity != codes.HAN
        stats.young += birth > add_years(on, -(young_age + 1))  # not yet young_age + 1 on the day
        stats.college += education <= codes.COLLEGE_AND_ABOVE_MAX
        stats.two_new += sector == Sector.NEW_ECONOMIC_SOCIAL
        stats.front_line += occupation in front
        occupations[occupation] += 1
    labels = dict(codes.Occupation.choices)
    stats.by_occupation = {labels[k]: v for k, v in occupations.most_common()}
    return stats


def plan_list(*, year: int, org: Organization | None = None):
    qs = within_subtree(RecruitmentPlan, org.path) if org is not None else RecruitmentPlan.objects.all()
    return qs.filter(year=year).select_related("organization").order_by("org_path")


def plans_against_actuals(*, year: int, org: Organization | None = None) -> list[tuple]:
    """Each visible 党委's plan for the year beside what its subtree admitted that year."""
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    return [(plan, recruitment_statistics(org=plan.organization, start=start, end=end))
            for plan in plan_list(year=year, org=org)]
