"""Due dates derived from the rules (issue 3 §3): what is due next on a case, and how urgent it is.

Each due item names its rule; `next_due` of a case is the earliest one, kept current by the services so the
due list of a whole district is one index range (models.RecruitmentCase `case_due`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dangjian.core.dates import add_months

from . import rules
from .models import Stage
from .workflow import History


@dataclass(frozen=True)
class Due:
    label: str
    on: dt.date
    step: int  # the step that settles it
    article: str

    def state(self, today: dt.date) -> str:
        """"red" overdue, "amber" due within the configured days, "green" otherwise."""
        if self.on < today:
            return "red"
        return "amber" if (self.on - today).days <= rules.config()["amber_days"] else "green"


def _due(label, code, on, since, step) -> Due | None:
    r = rules.rule(code, since)
    if r.value is None or on is None:
        return None  # the version in force has no such limit
    return Due(label, on, step, r.article)


def deadlines(case, history: History, *, thought_report_months: int | None = None,
              reports: tuple[dt.date, ...] = ()) -> list[Due]:
    """Everything now due on an open case, earliest first. `thought_report_months` is the local practice of
    §1.7 (思想汇报 every N months; None = off) and `reports` the days the case's 思想汇报 were uploaded."""
    if case.status != "open":
        return []
    out: list[Due | None] = []
    applied = case.applied_on
    if history.last(2) is None:
        out.append(_due("派人谈话", "talk_months", add_months(applied, 1), applied, 2))
    if case.stage == Stage.ACTIVIST and history.passed(7) is None:
        assessed = [s.on for s in history.by_number.get(6, [])]
        start = rules.activist_period_start(case.activist_on, getattr(history.passed(4), "on", None))
        if start:
            last = max(assessed + [start])
            months = rules.rule("assessment_months", last).value
            out.append(_due("培养教育考察（每半年）", "assessment_months",
                            _assessment_due(start, last, assessed, months), last, 6))
    consent = history.passed(8)
    if consent is not None and history.last(12) is None:
        ends = _date(consent.details.get("public_notice_to"))
        if ends:
            out.append(Due("公示期满", ends, 12, rules.rule("public_notice_working_days", consent.on).article))
    prereview = history.passed(13)
    if prereview is not None and history.passed(15) is None:
        out.append(_due("提交党支部党员大会讨论", "meeting_months", add_months(prereview.on, 1), prereview.on, 15))
    meeting = history.passed(15)
    if meeting is not None and history.last(17) is None:
        out.append(_due("上级党委审批", "approval_months", add_months(meeting.on, 3), meeting.on, 17))
    approval = history.passed(17)
    if approval is not None and case.stage == Stage.PROBATIONARY:
        if history.last(20) is None:
            out.append(_due("入党宣誓", "oath_months", add_months(approval.on, 1), approval.on, 20))
        out.extend(_conversion(case, history))
    if thought_report_months and case.stage in (Stage.ACTIVIST, Stage.DEVELOPMENT_TARGET, Stage.PROBATIONARY):
        since = max([*reports, case.activist_on or applied])
        out.append(Due("提交思想汇报", add_months(since, thought_report_months), 0, "本地做法（地方设置）"))
    return sorted((d for d in out if d is not None), key=lambda d: d.on)


def _assessment_due(start: dt.date, last: dt.date, assessed: list[dt.date], months: int) -> dt.date:
    """The last day the next assessment is in time: `months` after the last one, but never after the end of the
    first half-year (counted from `start`, as rules.missing_assessment counts them, the day `start` + 6 months
    already belonging to the next) that has none, for such a gap refuses step 7."""
    k = 0
    while True:
        lo, hi = add_months(start, months * k), add_months(start, months * (k + 1))
        if not any(lo <= d < hi for d in assessed):
            return min(add_months(last, months), hi - dt.timedelta(days=1))
        k += 1


def _conversion(case, history: History) -> list[Due]:
    vote, approval = history.last(23), history.last(24)
    in_round = vote is not None and (approval is None or vote.id > approval.id)
    if in_round:
        return [d for d in [_due("上级党委审批转正", "conversion_months", add_months(vote.on, 3), vote.on, 24)] if d]
    if case.probation_ends_on:
        return [Due("预备期满，讨论转正", case.probation_ends_on, 23, rules.rule("probation_years", case.probation_ends_on).article)]
    return []


def _date(value) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def next_due(case, history: History, **kw) -> Due | None:
    found = deadlines(case, history, **kw)
    return found[0] if found else None

