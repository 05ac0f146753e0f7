"""Reads of the roster, always through the scoped manager, with explicit joins."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone

from dangjian.core import codes, crypto
from dangjian.core.errors import NotFound
from dangjian.core.permissions import require
from dangjian.core.validators import parse_id_number
from dangjian.orgs.models import SEGMENT, Organization

from .models import Member, MembershipPeriod, MemberStatus

ID_LIKE = re.compile(r"^\d{15}$|^\d{17}[\dXx]$")
PHONE_LIKE = re.compile(r"^1\d{10}$")


@dataclass
class MemberFilters:
    q: str = ""  # name prefix, or an exact ID number / phone
    org: Organization | None = None  # a subtree
    status: str = ""
    gender: str = ""
    age_band: str = ""  # a label of codes.AGE_BANDS
    education_level: str = ""  # first digit of the GB/T 4658 code
    sector: str = ""
    today: dt.date | None = None


def member_list(*, filters: MemberFilters | None = None):
    f = filters or MemberFilters()
    qs = Member.objects.select_related("organization")
    if f.org is not None:
        lo, hi = f.org.subtree_range()
        qs = qs.filter(org_path__gte=lo, org_path__lt=hi)
    q = " ".join(f.q.split())
    if q:
        if ID_LIKE.match(q):
            try:
                number = parse_id_number(q).number
            except Exception:
                number = q.upper()
            qs = qs.filter(id_number_digest=crypto.lookup_digest(number))
        elif PHONE_LIKE.match(q):
            qs = qs.filter(phone_digest=crypto.lookup_digest(q))
        else:  # a name prefix as an index range ("张" finds 张三 and 张三丰)
            qs = qs.filter(name__gte=q, name__lt=q + "\uffff")
    if f.status:
        qs = qs.filter(status=f.status)
    if f.gender:
        qs = qs.filter(gender=f.gender)
    if f.age_band:
        qs = qs.filter(_age_band_q(f.age_band, f.today or timezone.localdate()))
    if f.education_level:
        qs = qs.filter(education__startswith=f.education_level[:1])
    if f.sector:
        qs = qs.filter(organization__sector=f.sector)
    return qs.order_by("org_path", "id")


def _age_band_q(label: str, today: dt.date) -> Q:
    for band, lo, hi in codes.AGE_BANDS:
        if band == label:
            # age >= lo  <=>  born on or before today - lo years; age <= hi <=> born after today - (hi+1) years
            latest = _years_before(today, lo)
            earliest = _years_before(today, hi + 1)
            return Q(birth_date__lte=latest, birth_date__gt=earliest)
    return Q()


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def access_member(*, actor, member_id: int, for_write: bool = False) -> Member:
    """Load one member through the scope; outside it the answer is 404, never the object."""
    member = Member.objects.select_related("organization").filter(pk=member_id).first()
    if member is None:
        raise NotFound()
    if for_write:
        require(actor, "member.manage", member.organization)
    return member


def member_history(*, member: Member):
    return MembershipPeriod.objects.filter(member=member).select_related("organization").order_by("start", "id")


def member_count_as_of(*, org: Organization | None, on: dt.date) -> int:
    """How many belonged to the subtree on `on` (党内统计 is taken at 31 December)."""
    qs = MembershipPeriod.objects.filter(Q(start__lte=on) & (Q(end__isnull=True) | Q(end__gt=on)))
    if org is not None:
        lo, hi = org.subtree_range()
        qs = qs.filter(org_path__gte=lo, org_path__lt=hi)
    return qs.count()


def member_status_counts(*, org: Organization | None = None) -> dict[str, int]:
    qs = Member.objects.all()
    if org is not None:
        lo, hi = org.subtree_range()
        qs = qs.filter(org_path__gte=lo, org_path__lt=hi)
    rows = qs.values("status").annotate(n=Count("id")).order_by()
    return {r["status"]: r["n"] for r in rows}


def member_counts_by_org(*, orgs: list[Organization]) -> dict[int, dict]:
    """{org_id: {"full", "total" (direct), "subtree"}} for the organisation warnings: one grouped query,
    then each organisation's count is added to all its ancestors' paths (O(organisations × depth))."""
    if not orgs:
        return {}
    direct: dict[int, dict] = {}
    for row in Member.objects.values("organization_id", "org_path", "status").annotate(n=Count("id")).order_by():
        c = direct.setdefault(row["organization_id"], {"full": 0, "total": 0, "path": row["org_path"]})
        c["total"] += row["n"]
        if row["status"] == MemberStatus.FULL:
            c["full"] += row["n"]
    subtree: dict[str, int] = defaultdict(int)
    for c in direct.values():
        p = c["path"]
        for i in range(SEGMENT, len(p) + 1, SEGMENT):
            subtree[p[:i]] += c["total"]
    return {
        org.pk: {
            "full": direct.get(org.pk, {}).get("full", 0),
            "total": direct.get(org.pk, {}).get("total", 0),
            "subtree": subtree.get(org.path, 0),
        }
        for org in orgs
    }
