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

    from .services import APPROVE, committees_of

    cases = list(case_list(org=org).filter(next_step__in=COMMITTEE_STEPS))
    # Every case's committees in one query (not one per branch); a case with no committee with authority is
    # not in the queue: its page says why.
    committees = committees_of({c.organization_id: c.organization for c in cases}.values())
    out = []
    for case in cases:
        step = workflow.STEPS[case.next_step]
        committee = committees[case.organization_id][step.committee]
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


ADMITTED_FIELDS = ("on", "case__birth_date", "case__gender", "case__ethnicity", "case__education",
                   "case__occupation", "case__organization__sector")


def _count_admitted(stats: Statistics, row, front: set, occupations: Counter) -> None:
    """Add one admission (a step-17 row of ADMITTED_FIELDS) to the make-up: ages on the day of approval."""
    on, birth, gender, ethnicity, education, occupation, sector = row
    stats.admitted += 1
    stats.women += gender == codes.Gender.FEMALE
    stats.minorities += ethnicity != codes.HAN
    stats.young += birth > add_years(on, -(stats.young_age + 1))  # not yet young_age + 1 on the day
    stats.college += education <= codes.COLLEGE_AND_ABOVE_MAX
    stats.two_new += sector == Sector.NEW_ECONOMIC_SOCIAL
    stats.front_line += occupation in front
    occupations[occupation] += 1


def _occupations(occupations: Counter) -> dict:
    labels = dict(codes.Occupation.choices)
    return {labels[k]: v for k, v in occupations.most_common()}


def recruitment_statistics(*, org: Organization | None, start: dt.date, end: dt.date) -> Statistics:
    """Counts for a scope and period (dates inclusive): five counts and the make-up of those admitted (by the
    党委's approval, step 17; ages at that day). Six queries whatever the size."""
    cfg = rules.config()
    front = set(cfg["front_line_occupations"])
    stats = Statistics(young_age=cfg["young_age"])
    cases = within_subtree(RecruitmentCase, org.path) if org is not None else RecruitmentCase.objects.all()
    stats.applicants = cases.filter(applied_on__gte=start, applied_on__lte=end).count()
    stats.activists = _steps_in(org, start, end, 3).count()
    stats.development_targets = _steps_in(org, start, end, 7).count()
    stats.converted = _steps_in(org, start, end, 24).count()
    occupations: Counter = Counter()
    for row in _steps_in(org, start, end, 17).values_list(*ADMITTED_FIELDS):
        _count_admitted(stats, row, front, occupations)
    stats.by_occupation = _occupations(occupations)
    return stats


def statistics_by_subtree(*, orgs, start: dt.date, end: dt.date) -> dict[int, Statistics]:
    """recruitment_statistics for many organisations at once (the plans table of a whole district): three
    queries whatever the number of organisations, each row counted for every listed organisation above it.
    org pk → Statistics."""
    from dangjian.core.scoping import subtree_q
    from dangjian.orgs.models import SEGMENT

    cfg = rules.config()
    front = set(cfg["front_line_occupations"])
    orgs = list(orgs)
    by_path = {o.path: Statistics(young_age=cfg["young_age"]) for o in orgs}
    occupations = {path: Counter() for path in by_path}
    if not orgs:
        return {}

    def above(path: str) -> list[str]:
        """The listed organisations whose subtree holds `path` (itself and its listed ancestors)."""
        return [path[:i] for i in range(SEGMENT, len(path) + 1, SEGMENT) if path[:i] in by_path]

    cases = RecruitmentCase.objects.filter(subtree_q("org_path", list(by_path)))
    for path in cases.filter(applied_on__gte=start, applied_on__lte=end).values_list("org_path", flat=True):
        for p in above(path):
            by_path[p].applicants += 1
    steps = RecruitmentStep.objects.filter(case__in=cases.values("pk"), on__gte=start, on__lte=end,
                                           outcome=Outcome.PASSED)
    counted = {3: "activists", 7: "development_targets", 24: "converted"}
    for number, path in steps.filter(number__in=counted).values_list("number", "case__org_path"):
        for p in above(path):
            setattr(by_path[p], counted[number], getattr(by_path[p], counted[number]) + 1)
    for path, *row in steps.filter(number=17).values_list("case__org_path", *ADMITTED_FIELDS):
        for p in above(path):
            _count_admitted(by_path[p], row, front, occupations[p])
    for path, stats in by_path.items():
        stats.by_occupation = _occupations(occupations[path])
    return {o.pk: by_path[o.path] for o in orgs}


def plan_list(*, year: int, org: Organization | None = None):
    qs = within_subtree(RecruitmentPlan, org.path) if org is not None else RecruitmentPlan.objects.all()
    return qs.filter(year=year).select_related("organization").order_by("org_path")


def plans_against_actuals(*, year: int, org: Organization | None = None) -> list[tuple]:
    """Each visible 党委's plan for the year beside what its subtree admitted that year."""
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    plans = list(plan_list(year=year, org=org))
    stats = statistics_by_subtree(orgs=[p.organization for p in plans], start=start, end=end)
    return [(plan, stats[plan.organization_id]) for plan in plans]
