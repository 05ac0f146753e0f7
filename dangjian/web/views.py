import datetime as dt
import heapq

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone

from dangjian.accounts.privacy import notice_facts
from dangjian.members.selectors import member_count_as_of, member_status_counts, size_warning_rows
from dangjian.orgs.models import OrgKind
from dangjian.orgs.rules import (
    TERM_RULE_LEVELS,
    OrgWarning,
    size_warnings,
    term_reminders,
    term_warning,
    term_warning_horizon,
)
from dangjian.orgs.selectors import organization_kind_counts, scope_covers_every_root, term_warning_seats

WORKBENCH_WARNINGS_SHOWN = 200


def privacy(request):
    """《个人信息保护政策》 (个人信息保护法 第十七条), open to everyone: linked from the login page and every footer,
    readable before an account exists. The consent page shows the same text."""
    return render(request, "web/privacy.html", {"notice": notice_facts()})


@login_required
def home(request):
    """工作台: what the user's scope holds and what needs attention."""
    user = request.user
    if not user.capability_paths("member.view"):
        if user.has_capability("user.manage"):
            return redirect("accounts:users")
        if user.has_capability("grant.manage"):
            return redirect("accounts:grants")
        if user.has_capability("audit.view"):
            return redirect("audit:log")
        if hasattr(user, "member"):
            return redirect("web:centre")  # 线上党员中心
        return render(request, "web/home_empty.html")
    today = timezone.localdate()
    status = member_status_counts()
    everywhere = scope_covers_every_root()
    kinds = organization_kind_counts(everywhere=everywhere)
    warning_count, warnings = workbench_warnings(today=today, everywhere=everywhere)
    as_of = _as_of(request.GET.get("as_of", ""))
    context = {
        "as_of": as_of,
        "as_of_count": member_count_as_of(org=None, on=as_of) if as_of else None,
        "member_total": sum(status.values()),
        "member_full": status.get("full", 0),
        "member_probationary": status.get("probationary", 0),
        "org_kinds": [(OrgKind(k).label, n) for k, n in sorted(kinds.items(), key=lambda kv: OrgKind.values.index(kv[0]))],
        "org_total": sum(kinds.values()),
        "warnings": warnings,
        "warning_count": warning_count,
    }
    return render(request, "web/home.html", context)


def workbench_warnings(*, today: dt.date, everywhere: bool = False,
                       shown: int = WORKBENCH_WARNINGS_SHOWN) -> tuple[int, list[OrgWarning]]:
    """(how many warnings the scope has, the first `shown`): danger first, then by organisation path; on
    one organisation, its term before its size rules, in their order.

    The size rules are counted and picked in the database (members.selectors.size_warning_rows): only the
    first `shown` organisations with one come back. Term reminders are few (one per committee whose term
    ends within the window) and come back as plain rows, worded only when shown. The first `shown` of all
    are among the first `shown` of each, so sorting those (terms first: the sort is stable) gives the same
    page as sorting every warning."""

    def order(w):
        return w.level != "danger", w.org.path

    size_count, size_rows = size_warning_rows(limit=shown, everywhere=everywhere)
    size = size_warnings([org for org, _ in size_rows], {org.pk: counts for org, counts in size_rows})
    reminders = term_reminders(term_warning_seats(ending_by=term_warning_horizon(today), everywhere=everywhere), today)
    # Only the first `shown` reminders can make the page: worded only those (nsmallest is a stable sort's head).
    terms = [term_warning(rule, seat) for rule, seat in heapq.nsmallest(
        shown, reminders, key=lambda r: (TERM_RULE_LEVELS[r[0]] != "danger", r[1].organization.path))]
    first = sorted(terms + size, key=order)[:shown]
    return len(reminders) + size_count, first


def _as_of(raw: str) -> dt.date | None:
    """党内统计 is taken at 31 December: the workbench answers "how many on that day" for any date."""
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def csrf_failure(request, reason=""):
    """Django's CSRF refusal, in words a user understands (the form expired, refresh and resend)."""
    return render(request, "403_csrf.html", status=403)
