import datetime as dt

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone

from dangjian.accounts.privacy import notice_facts
from dangjian.members.selectors import member_count_as_of, member_counts_by_org, member_status_counts
from dangjian.orgs.models import OrgKind
from dangjian.orgs.rules import size_warnings, term_warning_horizon, term_warnings
from dangjian.orgs.selectors import (
    committee_seats_in_scope,
    organization_kind_counts,
    organizations_with_size_rules,
)


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
    orgs = list(organizations_with_size_rules())
    status = member_status_counts()
    kinds = organization_kind_counts()
    warnings = term_warnings(committee_seats_in_scope(ending_by=term_warning_horizon(today)), today)
    warnings += size_warnings(orgs, member_counts_by_org(orgs=orgs))
    as_of = _as_of(request.GET.get("as_of", ""))
    context = {
        "as_of": as_of,
        "as_of_count": member_count_as_of(org=None, on=as_of) if as_of else None,
        "member_total": sum(status.values()),
        "member_full": status.get("full", 0),
        "member_probationary": status.get("probationary", 0),
        "org_kinds": [(OrgKind(k).label, n) for k, n in sorted(kinds.items(), key=lambda kv: OrgKind.values.index(kv[0]))],
        "org_total": sum(kinds.values()),
        "warnings": sorted(warnings, key=lambda w: (w.level != "danger", w.org.path))[:200],
        "warning_count": len(warnings),
    }
    return render(request, "web/home.html", context)


def _as_of(raw: str) -> dt.date | None:
    """党内统计 is taken at 31 December: the workbench answers "how many on that day" for any date."""
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def csrf_failure(request, reason=""):
    """Django's CSRF refusal, in words a user understands (the form expired, refresh and resend)."""
    return render(request, "403_csrf.html", status=403)
