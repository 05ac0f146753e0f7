"""Reads of the roster, always through the scoped manager, with explicit joins."""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Case,
    Count,
    ExpressionWrapper,
    F,
    Func,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Coalesce, Concat, Length
from django.utils import timezone

from dangjian.core import codes, crypto
from dangjian.core.errors import NotFound
from dangjian.core.permissions import load_one
from dangjian.core.scoping import collapse_paths, current_scope, subtree_q, within_subtree
from dangjian.core.validators import parse_id_number
from dangjian.orgs.models import ALPHABET, SEGMENT, Organization, Sector
from dangjian.orgs.rules import SIZE_RULE_COUNTS, SIZE_RULES
from dangjian.orgs.selectors import OrgRef

from .models import LEFT_PATH, Discipline, DisciplineKind, Member, MembershipPeriod, MemberStatus, MemberTally
from .tallies import DIMENSIONS, direct_counts

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
    qs = (within_subtree(Member, f.org.path) if f.org is not None else Member.objects.all()).select_related("organization")
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
        qs = qs.filter(education_level=f.education_level[:1])
    if f.sector:
        qs = qs.filter(sector=f.sector)  # the member's copy of its organisation's: no join
    return qs.order_by("org_path", "id")


def _age_band_q(label: str, today: dt.date) -> Q:
    bounds = _age_band_bounds(label, today)
    return Q(birth_date__gt=bounds[0], birth_date__lte=bounds[1]) if bounds else Q()


def _age_band_bounds(label: str, today: dt.date) -> tuple[dt.date, dt.date] | None:
    """(born after, born on or before) of an age band on `today`; None for a label that is none."""
    for band, lo, hi in codes.AGE_BANDS:
        if band == label:
            # age >= lo  <=>  born on or before today - lo years; age <= hi <=> born after today - (hi+1) years
            return _years_before(today, hi + 1), _years_before(today, lo)
    return None


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def access_member(*, actor, member_id: int, for_write: bool = False) -> Member:
    """Load one member through the scope; outside it the answer is 404, never the object."""
    return load_one(Member.objects.select_related("organization"), member_id, actor=actor,
                    capability="member.manage" if for_write else None)


def own_member(*, actor) -> Member:
    """The signed-in person's own record; 404 with a word of help for an account not linked to the roster.
    The record the request already loaded to build the scope (`scope_for_user`), not a second read: the
    scope always holds the member's own row (`Scope.member_id`), so reading it through the scope again could
    only give the same row."""
    member = getattr(actor, "member_or_none", None)
    if member is None:
        raise NotFound("您的账号尚未关联党员档案，请联系所在党支部。")
    return member


def member_history(*, member: Member):
    return MembershipPeriod.objects.filter(member=member).select_related("organization").order_by("start", "id")


# --- 党纪处分 ------------------------------------------------------------------------------------------------

SPONSOR_ARTICLE = "《中国共产党发展党员工作细则》第十四条"  # DOMAIN-RULES §1.1 step 9 (§14, §15)

# What a discipline in effect bars, with the article to cite (the recruitment workflow's sponsor check).
EXCLUSION: dict[str, tuple[str, str]] = {
    DisciplineKind.WARNING: ("受警告处分在影响期内，不宜作入党介绍人", SPONSOR_ARTICLE),
    DisciplineKind.SERIOUS_WARNING: ("受严重警告处分在影响期内，不宜作入党介绍人", SPONSOR_ARTICLE),
    DisciplineKind.REMOVAL_FROM_POST: ("受撤销党内职务处分在影响期内，不宜作入党介绍人", SPONSOR_ARTICLE),
    DisciplineKind.PROBATION: ("受留党察看处分、尚未恢复党员权利，不能作入党介绍人", SPONSOR_ARTICLE),
}
# DOMAIN-RULES §1.3: no vote at a branch meeting while under 留党察看.
NO_VOTE = ("受留党察看处分、尚未恢复党员权利，没有表决权", "《中国共产党基层组织选举工作条例》第五条")

# Most severe first: the one reported when a member is under several at once.
SEVERITY = [DisciplineKind.PROBATION, DisciplineKind.REMOVAL_FROM_POST, DisciplineKind.SERIOUS_WARNING,
            DisciplineKind.WARNING]


def discipline_in_effect_q(on: dt.date) -> Q:
    """In effect on `on`: decided on or before it, and
    - 警告 / 严重警告 / 撤销党内职务: `in_effect_until` empty or not before `on` (the last day still counts);
    - 留党察看: rights not restored, or restored only after `on` (from the day of restoring, not in effect)."""
    timed = ~Q(kind=DisciplineKind.PROBATION) & (Q(in_effect_until__isnull=True) | Q(in_effect_until__gte=on))
    probation = Q(kind=DisciplineKind.PROBATION) & (Q(rights_restored_on__isnull=True) | Q(rights_restored_on__gt=on))
    return Q(decided_on__lte=on) & (timed | probation)


def members_under_discipline(member_ids, on: dt.date) -> dict[int, Discipline]:
    """{member_id: the most severe discipline in effect on `on`} for those of `member_ids` under one: one
    query, through the scope (a member outside it reads as not under discipline: load them scoped first)."""
    ids = list(member_ids)
    if not ids:
        return {}
    found: dict[int, Discipline] = {}
    rows = Discipline.objects.filter(discipline_in_effect_q(on), member_id__in=ids).order_by("-decided_on", "-id")
    for d in sorted(rows, key=lambda d: SEVERITY.index(d.kind)):  # stable: latest first within a kind
        found.setdefault(d.member_id, d)
    return found


def discipline_in_effect(member: Member, on: dt.date) -> Discipline | None:
    return members_under_discipline([member.pk], on).get(member.pk)


def discipline_list(*, member: Member, on: dt.date):
    """The member's discipline records, latest first, each with `in_effect` on `on` (for the member page
    only; never in lists or exports)."""
    in_effect = ExpressionWrapper(discipline_in_effect_q(on), output_field=BooleanField())
    return Discipline.objects.filter(member=member).annotate(in_effect=in_effect).order_by("-decided_on", "-id")


def access_discipline(*, actor, member: Member, discipline_id: int, for_write: bool = False) -> Discipline:
    """One record of this member through the scope: 404 outside it (or of another member)."""
    return load_one(Discipline.objects.filter(member=member), discipline_id, actor=actor,
                    capability="member.manage" if for_write else None, org_of=lambda d: member.organization)


def member_count_as_of(*, org: Organization | None, on: dt.date) -> int:
    """How many belonged to the subtree on `on` (党内统计 is taken at 31 December).

    A subtree counts its periods through the (org_path, start, end) index. A whole tree (a root, or no
    organisation under a district-wide scope) would count a million index entries that way (~100 ms), so
    it is answered from what changed since the day instead: belonged on `on` = members now (the tallies)
    + periods that ended after `on` − periods that started after `on` (each started-after period also ends
    after `on`, and the open ones are the members now). Both counts read only the recent end of the
    `period_start` / `period_end` indexes."""
    paths = _tally_paths(org)
    if paths is not None and _whole_trees(paths):
        now = sum(_tally_rows(paths, {"status"})["status"].values())
        periods = MembershipPeriod.unscoped  # the scope covers whole trees: nothing to restrict
        return now + periods.filter(end__gt=on).count() - periods.filter(start__gt=on).count()
    qs = within_subtree(MembershipPeriod, org.path) if org is not None else MembershipPeriod.objects.all()
    return qs.filter(Q(start__lte=on) & (Q(end__isnull=True) | Q(end__gt=on))).count()


def _whole_trees(paths: list[str]) -> bool:
    """True when the paths are all the roots there are (then "in these subtrees" means "everywhere")."""
    roots = set(Organization.unscoped.filter(parent__isnull=True).values_list("path", flat=True))
    return set(paths) == roots


def member_status_counts(*, org: Organization | None = None) -> dict[str, int]:
    """{status: n} of the subtree (or the scope), from the counters when the scope covers it."""
    paths = _tally_paths(org)
    if paths is not None:
        return dict(_tally_rows(paths, {"status"})["status"])
    qs = within_subtree(Member, org.path) if org is not None else Member.objects.all()
    rows = qs.values("status").annotate(n=Count("id")).order_by()
    return {r["status"]: r["n"] for r in rows}


def member_counts_by_org(*, orgs: list[Organization], under: Organization | None = None) -> dict[int, dict]:
    """{org_id: {"full", "total" (direct), "subtree"}} for the organisation warnings, limited to `under`'s
    subtree when given (an organisation page needs only its own).

    When the scope covers that subtree, the status counters (MemberTally, one row set per organisation
    holding its whole subtree) answer it: a path's own members are its subtree minus its children's
    subtrees. Otherwise one grouped query over (org_path, status) from the `member_facets` index,
    added up to every ancestor path."""
    if not orgs:
        return {}
    if _tally_paths(under) is not None:
        subtree_counts = _status_tallies(under)
        direct = {p: dict(c) for p, c in subtree_counts.items()}
        for p, c in subtree_counts.items():
            parent = direct.get(p[:-SEGMENT])
            if parent is not None:
                parent["full"] -= c["full"]
                parent["total"] -= c["total"]
        subtree = {p: c["total"] for p, c in subtree_counts.items()}
        for p, c in subtree_counts.items():  # ancestors outside what was read see the part that was read
            if p[:-SEGMENT] not in subtree_counts:
                for i in range(SEGMENT, len(p), SEGMENT):
                    subtree[p[:i]] = subtree.get(p[:i], 0) + c["total"]
    else:
        qs = within_subtree(Member, under.path) if under is not None else Member.objects.all()
        direct = {}
        for row in qs.values("org_path", "status").annotate(n=Count("id")).order_by():
            c = direct.setdefault(row["org_path"], {"full": 0, "total": 0})
            c["total"] += row["n"]
            if row["status"] == MemberStatus.FULL:
                c["full"] += row["n"]
        subtree = defaultdict(int)
        for p, c in direct.items():
            for i in range(SEGMENT, len(p) + 1, SEGMENT):
                subtree[p[:i]] += c["total"]
    empty = {"full": 0, "total": 0}
    return {org.pk: {**direct.get(org.path, empty), "subtree": subtree.get(org.path, 0)} for org in orgs}


# A branch's two direct counts come back from one index range as one number (they cost a subquery each,
# for ~30,000 branches): SUM(count × (2³² + 1 if full else 1)) = full × 2³² + total. Both are ≥ 0 and far
# below 2³² (the counters are kept in the same transaction as the members).
_PACK = 2**32


def size_warning_rows(*, limit: int, everywhere: bool = False) -> tuple[int, list[tuple[OrgRef, dict[str, int]]]]:
    """The organisation size rules (orgs.rules.SIZE_RULES) over the active scope's subtrees, evaluated in
    the database: (how many size warnings there are, the first `limit` organisations with one, in path
    order, each with its counts for `size_warnings` to word). One query whatever the number of
    organisations: the district's workbench built counts for all 33,000 of them in Python (0.7 s, bench/,
    issue 8) to show 200. `everywhere`: the scope covers every root (orgs.selectors.scope_covers_every_root).

    The counts come from the status counters as in `member_counts_by_org`: an organisation's subtree is its
    own row set; its direct members are that minus its children's row sets (one short index range: its own
    rows and its children's sort right after them). An organisation that never had a child path handed out
    (`child_seq` 0) has no rows below its own: those are its direct counts, read by equality. Each
    organisation's counts are computed once (several rules read them), and only those its kind's rules read;
    the rules' SQL conditions (SizeRule.sql_condition) count the warnings and pick the first organisations.

    Only organisations inside the data subtrees are looked at: an organisation visible through the
    directory alone (a worker's own branch elsewhere) has no counts in the scope to judge it by."""
    active = current_scope()
    if everywhere:  # unscoped only because the scope covers every tree: no organisation is outside it
        orgs = Organization.unscoped.all()
    else:
        paths = collapse_paths(active.subtrees)
        if not paths:
            return 0, []
        orgs = within_subtree(Organization, paths[0]) if len(paths) == 1 else Organization.objects.filter(
            subtree_q("path", paths))
    # The kinds are picked by the CASEs below, not in the WHERE: a `kind IN` there makes SQLite walk the
    # (kind, path) index and fetch every row and counter out of kind order (about twice as slow for the
    # district as reading the table through).
    orgs = orgs.filter(is_dissolved=False)
    # Unscoped counters: each organisation above is inside a visible subtree, so every counter row of its
    # subtree is visible too (the scope's own range beside this one would only slow the index search).
    status = MemberTally.unscoped.filter(dimension="status").order_by()
    own = status.filter(org_path=OuterRef("path"))
    own_and_children = (
        status.annotate(path_length=Length("org_path"))
        .filter(org_path__gte=OuterRef("path"),
                org_path__lte=Concat(OuterRef("path"), Value(ALPHABET[-1] * SEGMENT)),
                path_length__lte=Length(OuterRef("path")) + SEGMENT)
    )
    full_and_total = F("count") * Case(When(value=MemberStatus.FULL, then=Value(_PACK + 1)), default=Value(1))
    own_minus_children = Case(When(org_path=OuterRef("path"), then=full_and_total), default=-full_and_total)

    def summed(qs, term) -> Coalesce:
        return Coalesce(Subquery(qs.annotate(n=Cast(Func(term, function="SUM"), BigIntegerField())).values("n")), 0)

    def for_kinds(needs: set[str], expression):
        kinds = [k for k, counts in SIZE_RULE_COUNTS.items() if needs & set(counts)]
        return Case(When(kind__in=kinds, then=expression), default=None, output_field=BigIntegerField())

    orgs = orgs.annotate(
        n_direct=for_kinds({"full", "total"}, Case(
            When(child_seq=0, then=summed(own, full_and_total)),
            default=summed(own_and_children, own_minus_children),
        )),
        n_subtree=for_kinds({"subtree"}, summed(own, F("count"))),
    ).values_list("id", "name", "path", "kind", "n_direct", "n_subtree").order_by()
    inner, inner_params = orgs.query.sql_with_params()
    flags, params = [], []
    for rule in SIZE_RULES:
        flags.append(f"CASE WHEN kind IN ({', '.join(['%s'] * len(rule.kinds))}) "
                     f"AND {rule.sql_condition(settings.DANGJIAN_RULES)} THEN 1 ELSE 0 END")
        params += list(rule.kinds)
    params += list(inner_params)  # in the order of the placeholders: the rules' kinds come first
    # The fence keeps `c` a subquery of its own, its counts computed once per organisation: merged into the
    # query around it, each reference of a rule to a count would repeat that count's subquery. (A
    # MATERIALIZED CTE fences too, but writing out 37,000 rows first cost SQLite 30 ms more.)
    fence = "LIMIT -1" if connections[orgs.db].vendor == "sqlite" else "OFFSET 0"
    # Built from the ORM's compiled (scoped) query, placeholders and the rules' integer thresholds only.
    counted = (f"SELECT id, name, path, kind, n_direct / {_PACK} AS n_full, "  # noqa: S608  # nosec B608
               f"n_direct %% {_PACK} AS n_total, n_subtree FROM ({inner} {fence}) c")
    flagged = f"SELECT n.*, {' + '.join(flags)} AS n_warnings FROM ({counted}) n"  # noqa: S608  # nosec B608
    sql = ("SELECT id, name, path, kind, n_full, n_total, n_subtree, SUM(n_warnings) OVER () "  # noqa: S608  # nosec B608
           f"FROM ({flagged}) w WHERE n_warnings > 0 ORDER BY path LIMIT %s")
    params.append(max(limit, 1))  # at least one row whenever there is a warning: the total rides on every row
    with connections[orgs.db].cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    total = int(rows[0][-1]) if rows else 0
    first = [
        (OrgRef(pk, name, path, kind, False), {"full": full or 0, "total": n or 0, "subtree": subtree or 0})
        for pk, name, path, kind, full, n, subtree, _ in rows[:limit]
    ]
    return total, first


def _status_tallies(under: Organization | None) -> dict[str, dict[str, int]]:
    """{path: {"full", "total"}} of every organisation's subtree, from the status counters (the
    `member_tally_dimension` index: only the status rows are read)."""
    qs = MemberTally.objects.filter(dimension="status")
    if under is not None:
        qs = within_subtree(MemberTally, under.path).filter(dimension="status")
    out: dict[str, dict[str, int]] = defaultdict(lambda: {"full": 0, "total": 0})
    for path, value, n in qs.values_list("org_path", "value", "count"):
        out[path]["total"] += n
        if value == MemberStatus.FULL:
            out[path]["full"] += n
    return out


# --- Statistics and lookups the scale benchmark (issue 8) measures ---------------------------------------


def _tally_paths(org: Organization | None) -> list[str] | None:
    """The organisation paths whose tally rows (members.MemberTally) answer for `org` (or, with None, for
    the whole active scope) exactly as the scoped member rows would; None when they cannot: the scope does
    not cover the whole subtree (the old computation then returns the scope's part of it, or nothing).
    A member's own-record scope is not a subtree either."""
    active = current_scope()
    if org is not None:
        return [org.path] if active.covers_path(org.path) else None
    if active.everything:
        return list(Organization.unscoped.filter(parent__isnull=True).values_list("path", flat=True))
    if active.member_id is not None:
        return None
    return collapse_paths(active.subtrees)


def _tally_rows(paths: list[str], dims: set[str] | None = None) -> dict[str, dict[str, int]]:
    """{dimension: {value: count}} (of these dimensions, or all) summed over the subtrees at exactly these
    (disjoint) paths. Read through the scoped managers as well (the caller checked the scope covers them)."""
    return _summed(_counters(paths, dims), paths)


def _counters(paths: list[str], dims: set[str] | None = None, *, unscoped: bool = False
              ) -> dict[str, dict[str, dict[str, int]]]:
    """{path: {dimension: {value: count}}} of the subtrees at these paths (in these dimensions, or all), through
    the scoped managers unless `unscoped`: the counters at the paths (one query) and, for a dimension the
    counters hold below an organisation only, its direct members (members.tallies.direct_counts: one more)."""
    out: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    paths = sorted(set(paths))
    rows = (MemberTally.unscoped if unscoped else MemberTally.objects).filter(org_path__in=paths)
    if dims is not None:
        rows = rows.filter(dimension__in=sorted(dims))
    for path, dim, value, n in rows.values_list("org_path", "dimension", "value", "count"):
        if n:
            out[path][dim][value] += n
    for path, values_of in direct_counts(paths, DIMENSIONS if dims is None else dims, unscoped=unscoped).items():
        for dim, values in values_of.items():
            for value, n in values.items():
                out[path][dim][value] += n
    return out


def _summed(counters, paths: list[str]) -> dict[str, dict[str, int]]:
    """{dimension: {value: count}} of `_counters` added up over `paths`."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for p in paths:
        for dim, values in counters.get(p, {}).items():
            for value, n in values.items():
                out[dim][value] += n
    return out


def member_statistics(*, org: Organization | None = None, today: dt.date) -> dict[str, dict[str, int]]:
    """Counts of the subtree (or the whole scope) by gender, age band, education level, sector and occupation,
    from the pre-aggregated counters (members.MemberTally) at exactly the subtree's path: a few hundred rows
    whatever the subtree's size (the root of 1,000,000 members included) and one small index query for the
    age-band boundaries. Same result as `member_statistics_direct`, which still answers when the scope
    does not cover the whole subtree.

    Age bands from `birth_month` counts: each band boundary ("born after day b") falls inside one birth
    month; whole months after b's month are summed from the counters and b's own month is counted exactly
    (born in (b, end of b's month], from its shorter side) from the `member_birth_scope` (birth_date,
    org_path, …) index, all seven boundaries in one query.
    """
    paths = _tally_paths(org)
    if paths is None:
        return member_statistics_direct(org=org, today=today)
    rows = _tally_rows(paths)
    out: dict[str, dict[str, int]] = {}
    gender = rows["gender"]
    out["gender"] = {code: gender.get(code, 0) for code, _ in codes.Gender.choices}
    total = sum(gender.values())
    bounds = [_years_before(today, hi + 1) for _, _, hi in codes.AGE_BANDS[:-1]]
    months = sorted(rows["birth_month"].items())
    partial = _born_after_in_month(org, bounds, rows["birth_month"])
    cumulative = [
        sum(n for m, n in months if m > _month_key(b)) + partial[i] for i, b in enumerate(bounds)
    ] + [total]
    out["age_band"] = {
        label: cumulative[i] - (cumulative[i - 1] if i else 0) for i, (label, _, _) in enumerate(codes.AGE_BANDS)
    }
    levels = dict.fromkeys((level for level, _ in codes.EDUCATION_LEVELS), 0)
    for code, n in rows["education"].items():
        levels[code[:1]] = levels.get(code[:1], 0) + n
    out["education_level"] = levels
    sectors: dict[str, int] = dict.fromkeys((s for s, _ in Sector.choices), 0)
    for s, n in rows["sector"].items():
        sectors[s] = sectors.get(s, 0) + n
    out["sector"] = sectors
    occupation = rows["occupation"]
    out["occupation"] = {code: occupation.get(code, 0) for code, _ in codes.Occupation.choices}
    out["total"] = {"all": total}
    return out


def _month_key(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _born_after_in_month(org: Organization | None, bounds: list[dt.date], birth_months: dict[str, int]) -> list[int]:
    """For each bound b: members of the subtree born after b but still in b's month, in one query.

    Each month is counted from its shorter side: the days after b, or the days up to b, subtracted from the
    month's count in the counters (`birth_months`). Counting the days after b alone listed 7 × 30 days on
    the 1st of a month: about 9,500 members at the root of 1,000,000, 19–21 ms on PostgreSQL (bench/,
    2026-12-01); now 7 × 15 at most.

    The days are listed (`birth_date IN (…)`), not given as ranges: an equality on the first column of
    `member_birth_scope` (birth_date, org_path, …) is what makes SQLite seek that index instead of walking
    the subtree's `org_path` range, which at the root is all 1,000,000 members (ranges here took 430 ms at
    the root, bench/). PostgreSQL answers the list from the same index."""
    sides: list[tuple[dt.date, dt.date, bool]] = []  # (first day, last day, whether they are the days after b)
    for b in bounds:
        end = b.replace(day=calendar.monthrange(b.year, b.month)[1])
        after = (end - b).days <= b.day
        sides.append((b + dt.timedelta(days=1), end, True) if after else (b.replace(day=1), b, False))
    days = sorted({first + dt.timedelta(days=i) for first, last, _ in sides for i in range((last - first).days + 1)})
    counted = [0] * len(bounds)
    if days:
        qs = (within_subtree(Member, org.path) if org is not None else Member.objects.exclude(org_path=LEFT_PATH))
        got = qs.order_by().filter(birth_date__in=days).aggregate(**{
            f"b{i}": Count("pk", filter=Q(birth_date__gte=first, birth_date__lte=last))
            for i, (first, last, _) in enumerate(sides)
        })
        counted = [got[f"b{i}"] or 0 for i in range(len(bounds))]
    return [n if after else birth_months.get(_month_key(b), 0) - n
            for n, b, (_, _, after) in zip(counted, bounds, sides, strict=True)]


def member_statistics_direct(*, org: Organization | None = None, today: dt.date) -> dict[str, dict[str, int]]:
    """Counts of the subtree (or the whole scope) by gender, age band, education level, sector and occupation.

    The computation from the member rows (before the counters; the reference the tests compare with).
    Each dimension is one aggregate over the members' `org_path` range, answered from the covering index
    `member_facets` (org_path, status, gender, sector, education_level, birth_date, occupation) without touching
    the table rows; nothing is computed per row in Python:
    - age bands are `birth_date` ranges (codes.AGE_BANDS as of `today`), counted in one pass;
    - education levels: the stored level of each member's code;
    - sector belongs to the organisation: members are counted per `org_path` (the index order, no sort,
      no join over a million rows) and each path's count is added to its organisation's sector.
    Returns {"gender": {...}, "age_band": {...}, "education_level": {...}, "sector": {...},
    "occupation": {...}} with every known key present (0 when empty) and the total under "total".
    """
    qs = (within_subtree(Member, org.path) if org is not None else Member.objects.all()).order_by()
    orgs = within_subtree(Organization, org.path) if org is not None else Organization.objects.all()
    out: dict[str, dict[str, int]] = {}

    def grouped(field: str) -> dict[str, int]:
        return {r[field]: r["n"] for r in qs.values(field).annotate(n=Count("pk"))}

    gender = grouped("gender")
    out["gender"] = {code: gender.get(code, 0) for code, _ in codes.Gender.choices}
    # Age bands in one pass with one comparison per band: "born after the day this band's youngest age
    # starts" counts (cumulative, oldest band first), differences give each band.
    bounds = [_years_before(today, hi + 1) for _, _, hi in codes.AGE_BANDS[:-1]]  # born after: age <= hi
    younger = qs.aggregate(**{f"b{i}": Count("pk", filter=Q(birth_date__gt=b)) for i, b in enumerate(bounds)})
    total = sum(gender.values())
    cumulative = [younger[f"b{i}"] for i in range(len(bounds))] + [total]
    out["age_band"] = {
        label: cumulative[i] - (cumulative[i - 1] if i else 0) for i, (label, _, _) in enumerate(codes.AGE_BANDS)
    }
    levels = dict.fromkeys((level for level, _ in codes.EDUCATION_LEVELS), 0)
    out["education_level"] = levels | grouped("education_level")
    sector_of = dict(orgs.values_list("path", "sector"))
    sectors: dict[str, int] = dict.fromkeys((s for s, _ in Sector.choices), 0)
    for path, n in grouped("org_path").items():
        s = sector_of.get(path, "")
        sectors[s] = sectors.get(s, 0) + n
    out["sector"] = sectors
    occupation = grouped("occupation")
    out["occupation"] = {code: occupation.get(code, 0) for code, _ in codes.Occupation.choices}
    out["total"] = {"all": total}
    return out


def political_birthday_days(on: dt.date) -> list[int]:
    """The `joined_month_day` values (MMDD) whose anniversary falls on `on`: 29 February joins are
    remembered on 28 February in a non-leap year."""
    days = [on.month * 100 + on.day]
    if (on.month, on.day) == (2, 28) and not calendar.isleap(on.year):
        days.append(229)
    return days


def political_birthdays(*, on: dt.date):
    """Members whose 政治生日 (the anniversary of joining) is `on`: an equality lookup on the
    (joined_month_day, org_path) index, which also answers the scope's range and, for one day, the order
    (never `__month`/`__day`, which SQLite evaluates in Python per row)."""
    return (
        Member.objects.filter(joined_month_day__in=political_birthday_days(on))
        .select_related("organization")
        .order_by("org_path", "id")
    )


CAP = 10_000  # the list's total is counted up to this


def member_count_capped(qs, *, cap: int = CAP, index: str | None = None) -> tuple[int, bool]:
    """`(n, exact)`: the rows of `qs`, counted up to `cap` (COUNT over a LIMIT cap+1 subquery), through
    `index` when given (`_indexed_sql`).

    A list page shows "10,000+" past the cap instead of counting a million rows on every view (a whole-
    district COUNT(*) costs ~75 ms on SQLite at 1,000,000 members; the exact totals are the statistics').
    """
    limited = qs.order_by()[: cap + 1]
    sql = _indexed_sql(limited.values_list("pk"), index)
    if sql is None:
        n = limited.count()
    else:
        with connections[qs.db].cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM ({sql[0]}) AS capped", sql[1])  # noqa: S608  # nosec B608
            n = cursor.fetchone()[0]
    return min(n, cap), n <= cap


# --- The member list under its filters: which index walks it ----------------------------------------------
#
# The list pages in (org_path, id) order and counts up to a cap. Walking the subtree in that order and
# checking the filters on each entry reads about (page or cap) / (share of members that match) entries: fine
# for 正式党员、女, hopeless for 学校 + 女 at the root (the schools sit at the end of the path order: 0.4 s on
# PostgreSQL at 1,000,000 members, bench/, issue 8). So every filter that can be selective leads an index of
# its own that holds the other filters' columns (members.models), and the counters (MemberTally) tell how many
# members each filter value has in the subtree: the list walks the index that reads fewest entries.

PAGE_ROWS = 21  # a page and the row that says whether another follows
FACETS_INDEX = "member_facets"
# filter → the index it leads. 党员类别 only for 预备党员 (a few per cent; 正式党员 narrows nothing).
LEADING_INDEX = {"sector": "member_sector_facets", "education_level": "member_education_facets",
                 "status": "member_probationary", "age_band": "member_birth_scope", "q": "member_name"}
# Led by a range (birth_date, a name prefix): not in (org_path, id) order, and spanning every subtree.
RANGE_LED = {LEADING_INDEX["age_band"], LEADING_INDEX["q"]}
# The indexes that hold the name: on any other, a name prefix is checked on the table row (a page read).
HOLD_THE_NAME = {LEADING_INDEX["q"], LEADING_INDEX["status"]}
ROW_READ = 4  # a table row read, in index entries
# A name prefix's share of the members (no counter holds names): the commonest surnames hold 5–7 % each,
# two characters a fraction of a per cent, three almost one person.
NAME_SHARE = {1: 1 / 20, 2: 1 / 500}
NAME_SHARE_LONGER = 1 / 20_000

# The list filters the counters (members.tallies.DIMENSIONS) can answer alone: filter → (dimension, whether the
# filter is a prefix of the counted values: 学历 filters by level, the counters hold the full code).
TALLIED_FILTERS = {
    "status": ("status", False),
    "gender": ("gender", False),
    "education_level": ("education", True),
    "sector": ("sector", False),
}
_OTHER_FILTERS = ("q", "age_band")


@dataclass(frozen=True)
class ListPlan:
    """How the list under some filters is read: `total` when the counters hold it exactly, the index the
    page walks and the one the capped count walks (None: the database's own choice: no filter, an ID
    number, or a scope the counters do not match). SQLite is told the indexes (it keeps no statistics of
    values); PostgreSQL picks among the same indexes with its own statistics."""

    total: int | None = None
    index: str | None = None
    count_index: str | None = None


def list_plan(filters: MemberFilters | None = None) -> ListPlan:
    """The plan for `member_page` and `member_count` of these filters, from one read of the counters.

    Index entries read, estimated with the filters independent: of the subtree's T members, m = T · (product
    of each filter's share) match. An index in (org_path, id) order over c of them (the facets: c = T; one a
    filter leads: that value's members) reaches the page after min(c, PAGE · c / m) entries and the count's
    cap after min(c, CAP · c / m). A range-led index (an age band's birth dates, a name prefix) spans the
    whole tree (c = the range's members in it) in no useful order: the page reads all of it and sorts the
    m found; the count stops at the cap as above. A name prefix checked off an index that does not hold the
    name costs a table row per entry. The page and the count each take the cheapest."""
    f = filters or MemberFilters()
    used = _used_filters(f)
    q = _filter_value(f, "q")
    if q and (ID_LIKE.match(q) or PHONE_LIKE.match(q)):
        return ListPlan()  # one member by a unique digest: any database finds that index
    paths = _list_tally_paths(f.org)
    if paths is None:  # rows outside whole subtrees (a worker's own record elsewhere, everything): no estimate
        return ListPlan()
    dims = {"status"} | {TALLIED_FILTERS[n][0] for n in used if n in TALLIED_FILTERS}
    if "age_band" in used:
        dims.add("birth_month")
    roots = sorted({p[:SEGMENT] for p in paths})
    # Unscoped: the paths are the subtrees the scope covers (`_list_tally_paths`) and their roots, whose size
    # only prices the walks that span the whole tree (a committee's worker cannot see the district's counters,
    # and nothing of them is shown).
    counters = _counters([*paths, *roots], dims, unscoped=True)
    here = _summed(counters, paths)
    total = sum(here["status"].values())
    tree = sum(_summed(counters, roots)["status"].values())
    counts = {name: _matching(here, name, f) for name in used if name != "q"}
    if len(used) == 1 and used[0] in TALLIED_FILTERS:
        exact = counts[used[0]]
    else:
        exact = total if not used else None
    if not used or not total:
        return ListPlan(exact)
    shares = {name: c / total for name, c in counts.items()}
    if q:
        shares["q"] = NAME_SHARE.get(len(q), NAME_SHARE_LONGER)
    page, count = cheapest_walks(total=total, tree=tree, shares=shares,
                                 probationary=f.status == MemberStatus.PROBATIONARY)
    return ListPlan(exact, page, None if exact is not None else count)


def cheapest_walks(*, total: int, tree: int, shares: dict[str, float], probationary: bool) -> tuple[str, str]:
    """(the page's index, the count's index) for a subtree of `total` members in a tree of `tree`, under
    filters that keep these shares of it (filter name → share; "q": a name prefix). The cost model is
    `list_plan`'s."""
    matches = max(total * math.prod(shares.values()), 1.0)
    candidates = {FACETS_INDEX: total}  # index → the members its walk passes over
    for name, share in shares.items():
        if name in LEADING_INDEX and (name != "status" or probationary):
            candidates[LEADING_INDEX[name]] = share * (tree if LEADING_INDEX[name] in RANGE_LED else total)
    page, count = {}, {}
    for index, c in candidates.items():
        row = ROW_READ if "q" in shares and index not in HOLD_THE_NAME else 1
        page[index] = row * (c + matches if index in RANGE_LED else min(c, PAGE_ROWS * c / matches))
        count[index] = row * min(c, CAP * c / matches)

    def cheapest(cost: dict[str, float]) -> str:
        return min(cost, key=lambda index: (cost[index], index != FACETS_INDEX, index))

    return cheapest(page), cheapest(count)


def _matching(counts: dict[str, dict[str, int]], name: str, f: MemberFilters) -> int:
    """How many members of the counted subtree one filter keeps: exact for a tallied filter; an age band from
    the birth months its day bounds fall in (the boundary months whole: an estimate, for the plan only)."""
    if name == "age_band":
        after, until = _age_band_bounds(f.age_band, f.today or timezone.localdate())
        earliest, latest = _month_key(after), _month_key(until)
        return sum(n for month, n in counts["birth_month"].items() if earliest <= month <= latest)
    dimension, prefix = TALLIED_FILTERS[name]
    value = _filter_value(f, name)
    values = counts[dimension]
    return sum(n for v, n in values.items() if v.startswith(value)) if prefix else values.get(value, 0)


def member_count(*, filters: MemberFilters | None = None, plan: ListPlan | None = None,
                 cap: int = CAP) -> tuple[int, bool]:
    """`(n, exact)`: how many members `member_list(filters=filters)` holds, for the list page's total.

    Exact from the counters (MemberTally) when they hold the answer (`list_plan`: no filter or one tallied
    filter, over a subtree the scope covers), so a district's "正式党员" shows its real total. Any other
    combination is counted up to `cap` (`member_count_capped`) through the plan's index."""
    f = filters or MemberFilters()
    plan = plan or list_plan(f)
    if plan.total is not None:
        return plan.total, True
    return member_count_capped(member_list(filters=f), cap=cap, index=plan.count_index)


def _used_filters(f: MemberFilters) -> list[str]:
    """The names of the filters `member_list` applies."""
    return [name for name in (*_OTHER_FILTERS, *TALLIED_FILTERS) if _filter_value(f, name)]


def _filter_value(f: MemberFilters, name: str) -> str:
    """A filter as `member_list` applies it ("" when it applies none)."""
    value = getattr(f, name)
    if name == "q":
        return " ".join(value.split())
    if name == "age_band":
        return value if any(value == band for band, _, _ in codes.AGE_BANDS) else ""  # an unknown one filters nothing
    return value[:1] if name == "education_level" else value


def _list_tally_paths(org: Organization | None) -> list[str] | None:
    """`_tally_paths`, but None for the whole list under an everything-scope: that list is unscoped and holds
    the members who left the roster too (LEFT_PATH), whom no counter counts. (A page's scope never is one.)"""
    if org is None and current_scope().everything:
        return None
    return _tally_paths(org)


def member_page(*, filters: MemberFilters | None = None, after: tuple[str, int] | None = None,
                before: tuple[str, int] | None = None, size: int = 20,
                plan: ListPlan | None = None) -> tuple[list[Member], bool]:
    """Keyset pagination of `member_list` on its order (org_path, id): the `size` members after the last
    row shown (or before the first), whatever the depth: an index seek from the key (`_seek`) instead of
    OFFSET, which reads every row before the page (page 500 of the district: 614 ms with OFFSET, docs/performance.md),
    through the plan's index (`list_plan`, `_through`).
    Returns the rows and whether more lie further in the direction of travel."""
    plan = plan or list_plan(filters)
    qs = member_list(filters=filters)
    if before is not None:
        path, pk = before
        qs = _seek(Q(org_path__lte=path), qs).filter(Q(org_path__lt=path) | Q(org_path=path, pk__lt=pk))
        rows = list(_through(qs.order_by("-org_path", "-id")[: size + 1], plan.index))
        return list(reversed(rows[:size])), len(rows) > size
    if after is not None:
        path, pk = after
        qs = _seek(Q(org_path__gte=path), qs).filter(Q(org_path__gt=path) | Q(org_path=path, pk__gt=pk))
    rows = list(_through(qs[: size + 1], plan.index))
    return rows[:size], len(rows) > size


def member_slice(*, filters: MemberFilters | None = None, plan: ListPlan | None = None, start: int = 0,
                 stop: int = 20) -> list[Member]:
    """Rows [start, stop) of `member_list` (the API's offset pages), through the plan's index; with no filter,
    through (org_path, id), so a deep offset skips index entries, not table rows."""
    f = filters or MemberFilters()
    plan = plan or list_plan(f)
    unfiltered = not _used_filters(f)
    # Only when the scope is whole subtrees: a worker's own record elsewhere is found by its id, not this index.
    whole_subtrees = _list_tally_paths(f.org) is not None
    index = plan.index or ("member_scope_order" if unfiltered and whole_subtrees else None)
    return list(_through(member_list(filters=f)[start:stop], index))


def _seek(bound: Q, qs):
    """`qs` with `bound`, an org_path range that starts at the page's key, FIRST in its WHERE clause.

    The keyset condition itself, "(org_path, id) after the key", is an OR that no index search can start
    from; the plain bound beside it can. But the scope (and a chosen organisation) already bound org_path,
    and SQLite searches the index from the first lower (upper) bound of the column it meets and checks the
    others row by row, so behind the scope's range it read every row before the page; PostgreSQL did the same
    without the plain bound (page 500 of the district's "正式党员、女": 27 ms → 0.6 ms on PostgreSQL at
    1,000,000 members, 3 → 0.07 ms on SQLite at 100,000, bench/). `&` keeps the left-hand conditions first
    and the right-hand (scoped) ones in full; it keeps the left-hand `select_related`, hence set again."""
    return (Member.unscoped.filter(bound) & qs).select_related("organization")


def _through(page, index: str | None):
    """The sliced, ordered `page` of members read through `index` on SQLite: its ids are selected with
    `INDEXED BY` (`_indexed_sql`) and the rows loaded by id in the page's order, one query. Unchanged on
    PostgreSQL, or with no index to name."""
    sql = _indexed_sql(page.values_list("pk"), index)
    if sql is None:
        return page
    # The SQL is the scoped query Django compiled, parameters apart; only the index name was added.
    return (Member.unscoped.filter(pk__in=RawSQL(*sql)).select_related("organization")  # noqa: S611  # nosec B611
            .order_by(*(page.query.order_by or Member._meta.ordering)))


def _indexed_sql(qs, index: str | None) -> tuple[str, tuple] | None:
    """SQLite: `qs` (a query of the member table alone) as SQL that reads through `index`, or None (another
    database, or no index named). SQLite keeps no statistics of values, so left to itself it would walk
    whichever index has the most equality terms; `INDEXED BY` makes the plan's choice binding (an index
    that cannot serve the query is an error, not a slow scan). The partial index of 预备党员 also needs its
    condition written as a literal: SQLite does not match a bound parameter against it."""
    connection = connections[qs.db]
    if index is None or connection.vendor != "sqlite":
        return None
    try:
        sql, params = qs.query.sql_with_params()
    except EmptyResultSet:  # a scope with no subtree: Django answers it without a query
        return None
    qn = connection.ops.quote_name
    table = qn(Member._meta.db_table)
    head = f"FROM {table}"
    if sql.count(head) != 1 or "JOIN" in sql:
        raise ValueError(f"{index}: not a query of the member table alone")
    hint = f"{head} INDEXED BY {qn(index)}"
    if index == LEADING_INDEX["status"]:  # chosen only under that filter: the query has a WHERE
        hint += f" WHERE {table}.{qn('status')} = '{MemberStatus.PROBATIONARY}' AND"
        head += " WHERE"
    return sql.replace(head, hint), params
