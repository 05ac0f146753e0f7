"""Reads of 发展党员全程纪实, always through the scoped managers, with explicit joins.

The statistics answer the yearly report's sentence "审批发展党员X人，其中女性X人，X岁以下X人，大专以上文化X人，
“两新”组织X人" for any scope and period, from the step records (a fact entered once)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Count, Prefetch, Q, Value
from django.db.models.functions import Substr

from dangjian.core import codes
from dangjian.core.permissions import load_one
from dangjian.core.scoping import collapse_paths, current_scope, subtree_q, within_subtree
from dangjian.orgs.models import Organization, Sector

from . import deadlines, rules, workflow
from .models import (
    CaseDocument,
    CaseStatus,
    RecruitmentCase,
    RecruitmentPlan,
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
    return qs.order_by("-applied_on", "-id")  # newest applications first (index case_list_order)


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

    @classmethod
    def total(cls, parts, *, young_age: int) -> Statistics:
        """The sum of statistics of disjoint subtrees."""
        out, occupations = cls(young_age=young_age), Counter()
        for part in parts:
            for f in ("applicants", "activists", "development_targets", "admitted", "converted", "women",
                      "minorities", "young", "college", "two_new", "front_line"):
                setattr(out, f, getattr(out, f) + getattr(part, f))
            occupations.update(part.by_occupation)
        out.by_occupation = dict(occupations.most_common())
        return out

    def sentence(self) -> str:
        """The yearly report's wording."""
        return (f"审批发展党员{self.admitted}人，其中女性{self.women}人，{self.young_age}岁及以下{self.young}人，"
                f"大专以上文化{self.college}人，“两新”组织{self.two_new}人")


def recruitment_statistics(*, org: Organization | None, start: dt.date, end: dt.date) -> Statistics:
    """Counts for a subtree (or, without `org`, everything visible) and period, dates inclusive: applicants,
    activists, development targets, admitted (the 党委's approval, step 17; ages at that day) with their
    make-up, converted. Three queries whatever the size (statistics_for_paths)."""
    if org is not None:
        return statistics_for_paths([org.path], start=start, end=end)[org.path]
    active = current_scope()
    paths = [""] if active.everything else collapse_paths(active.subtrees)
    parts = statistics_for_paths(paths, start=start, end=end)
    return Statistics.total(parts.values(), young_age=rules.config()["young_age"])


def statistics_by_subtree(*, orgs, start: dt.date, end: dt.date) -> dict[int, Statistics]:
    """recruitment_statistics for many organisations at once (the plans table of a whole district): org pk →
    Statistics, in the same three queries."""
    orgs = list(orgs)
    by_path = statistics_for_paths([o.path for o in orgs], start=start, end=end)
    return {o.pk: by_path[o.path] for o in orgs}


def statistics_for_paths(paths: list[str], *, start: dt.date, end: dt.date) -> dict[str, Statistics]:
    """path → Statistics of the visible cases in that subtree ("" = all), counted in the database from the
    dates each case keeps of its steps (递交申请 applied_on, 确定积极分子 activist_on, 确定发展对象
    development_target_on, 党委审批 approved_on, 转正 converted_on — the 预备期's end, the date 党内统计
    counts) and the admitted person's particulars (age on the day of approval kept as admitted_age). Cases are
    grouped by the prefix of their path as long as the listed paths, so three queries per distinct depth
    answer any number of organisations (a plans table of every 党委), never a row per case."""
    cfg = rules.config()
    by_path = {p: Statistics(young_age=cfg["young_age"]) for p in paths}
    for length in sorted({len(p) for p in by_path}):
        wanted = [p for p in by_path if len(p) == length]
        cases = RecruitmentCase.objects.filter(subtree_q("org_path", wanted))
        cases = cases.annotate(prefix=Substr("org_path", 1, length) if length else Value(""))
        admitted = cases.filter(approved_on__gte=start, approved_on__lte=end)
        # the dates from the index case_stats_dates alone; the make-up from the admitted rows only
        for qs, aggregates in ((cases, _date_counts(start, end)), (admitted, _admitted_counts(cfg))):
            for row in qs.values("prefix").annotate(**aggregates).order_by():
                if row["prefix"] in by_path:
                    for name in aggregates:
                        setattr(by_path[row["prefix"]], name, row[name])
        occupations = admitted.values("prefix", "occupation").annotate(n=Count("pk")).order_by("-n", "occupation")
        labels = dict(codes.Occupation.choices)
        for row in occupations:
            if row["prefix"] in by_path:
                by_path[row["prefix"]].by_occupation[labels[row["occupation"]]] = row["n"]
    return by_path


def _date_counts(start: dt.date, end: dt.date) -> dict:
    def within(date_field: str) -> Count:
        return Count("pk", filter=Q(**{f"{date_field}__gte": start, f"{date_field}__lte": end}))

    return {"applicants": within("applied_on"), "activists": within("activist_on"),
            "development_targets": within("development_target_on"), "converted": within("converted_on")}


def _admitted_counts(cfg: dict) -> dict:
    two_new = Organization.unscoped.filter(sector=Sector.NEW_ECONOMIC_SOCIAL).values("pk")  # a set, not a join
    return {
        "admitted": Count("pk"),
        "women": Count("pk", filter=Q(gender=codes.Gender.FEMALE)),
        "minorities": Count("pk", filter=~Q(ethnicity=codes.HAN)),
        "young": Count("pk", filter=Q(admitted_age__lte=cfg["young_age"])),
        "college": Count("pk", filter=Q(education__lte=codes.COLLEGE_AND_ABOVE_MAX)),
        "two_new": Count("pk", filter=Q(organization__in=two_new)),
        "front_line": Count("pk", filter=Q(occupation__in=cfg["front_line_occupations"])),
    }


def plan_list(*, year: int, org: Organization | None = None):
    qs = within_subtree(RecruitmentPlan, org.path) if org is not None else RecruitmentPlan.objects.all()
    return qs.filter(year=year).select_related("organization").order_by("org_path")


def plans_against_actuals(*, year: int, org: Organization | None = None) -> list[tuple]:
    """Each visible 党委's plan for the year beside what its subtree admitted that year."""
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    plans = list(plan_list(year=year, org=org))
    stats = statistics_by_subtree(orgs=[p.organization for p in plans], start=start, end=end)
    return [(plan, stats[plan.organization_id]) for plan in plans]
