"""Organisation warnings as data (DOMAIN-RULES §6). Warnings warn; they never block.

Each rule names its article. Thresholds come from settings.DANGJIAN_RULES because the regulations say
"一般" and allow approved exceptions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings

from dangjian.core.dates import add_months

from .models import BRANCH_KINDS, CommitteeMember, Organization, OrgKind, Position


@dataclass(frozen=True)
class OrgWarning:
    org: Organization
    rule: str
    article: str
    message: str
    level: str = "warning"  # warning | danger


@dataclass(frozen=True)
class SizeRule:
    """One size rule, twice: `check` words the warning for one organisation's counts; `sql` is the same
    condition over the columns `n_full`, `n_total` (direct members) and `n_subtree`, with the thresholds
    as `{name}` placeholders, so the workbench counts and picks the district's warnings in the database
    instead of building counts for every organisation (members.selectors.size_warning_rows). The two
    must agree (orgs/tests/test_rules.py checks them on both sides of every threshold)."""

    code: str
    kinds: tuple[str, ...]
    article: str
    check: Callable[[dict, dict], str | None]  # (counts, params) -> message or None
    sql: str
    counts: tuple[str, ...]  # what the rule reads: "full" / "total" (direct) and "subtree"

    def sql_condition(self, params: dict) -> str:
        # The thresholds are integers from settings: formatted in as integers, never as text.
        return "(" + self.sql.format(**{k: int(v) for k, v in params.items() if isinstance(v, int)}) + ")"


def _param(name: str) -> int:
    return settings.DANGJIAN_RULES[name]


SIZE_RULES = (
    SizeRule(
        "branch_min_full", BRANCH_KINDS, "《中国共产党支部工作条例（试行）》第四条",
        lambda c, p: (f"正式党员仅 {c['full']} 名，少于 {p['branch_min_full_members']} 名，宜成立联合党支部"
                      if c["full"] < p["branch_min_full_members"] else None),
        "n_full < {branch_min_full_members}", ("full",),
    ),
    SizeRule(
        "branch_max", BRANCH_KINDS, "《中国共产党支部工作条例（试行）》第四条",
        lambda c, p: (f"党员 {c['total']} 名，超过 {p['branch_max_members']} 名，宜分设支部或成立党总支"
                      if c["total"] > p["branch_max_members"] else None),
        "n_total > {branch_max_members}", ("total",),
    ),
    SizeRule(
        "general_branch_size", (OrgKind.GENERAL_BRANCH,), "《党和国家机关基层组织工作条例》第六条",
        lambda c, p: (f"党员 {c['subtree']} 名，党总支一般为 {p['general_branch_min_members']}—"
                      f"{p['general_branch_max_members']} 名（少于须经批准，超过宜成立党委）"
                      if not p["general_branch_min_members"] <= c["subtree"] <= p["general_branch_max_members"]
                      else None),
        "n_subtree < {general_branch_min_members} OR n_subtree > {general_branch_max_members}", ("subtree",),
    ),
    SizeRule(
        "primary_committee_size", (OrgKind.PRIMARY_COMMITTEE,), "《党和国家机关基层组织工作条例》第五条",
        lambda c, p: (f"党员 {c['subtree']} 名，基层党委一般在 {p['primary_committee_min_members']} 名以上（少于须经批准）"
                      if c["subtree"] < p["primary_committee_min_members"] else None),
        "n_subtree < {primary_committee_min_members}", ("subtree",),
    ),
)


SIZE_RULE_KINDS = tuple({kind for rule in SIZE_RULES for kind in rule.kinds})
# Which counts each kind's rules read (the database computes only those: the direct counts of a branch
# cost a range of counters, its subtree one row set).
SIZE_RULE_COUNTS = {kind: tuple(sorted({c for rule in SIZE_RULES if kind in rule.kinds for c in rule.counts}))
                    for kind in SIZE_RULE_KINDS}


def term_warning_horizon(today: dt.date) -> dt.date:
    """Terms ending on or before this day are reminded of (the superior reminds 6 months ahead)."""
    return add_months(today, _param("term_warning_months"))


def size_warnings(orgs: Iterable[Organization], counts: dict[int, dict]) -> list[OrgWarning]:
    """`counts[org_id]` = {"full", "total" (direct members), "subtree" (all members below)}."""
    params = settings.DANGJIAN_RULES
    out = []
    for org in orgs:
        if org.is_dissolved:
            continue
        c = counts.get(org.pk, {"full": 0, "total": 0, "subtree": 0})
        for rule in SIZE_RULES:
            if org.kind in rule.kinds and (msg := rule.check(c, params)):
                out.append(OrgWarning(org, rule.code, rule.article, msg))
    return out


TERM_ARTICLE = "中办《关于党的基层组织任期的意见》；选举工作条例 第三条"
TERM_RULE_LEVELS = {"term_overdue": "danger", "term_ending": "warning"}


def term_reminders(seats: Iterable[CommitteeMember], today: dt.date) -> list[tuple[str, CommitteeMember]]:
    """(rule code, seat) for each committee whose term ended, or ends within the warning window (DOMAIN-RULES
    §6, reminder 6 months before): its term is its first current secretary seat's. The rule without its
    wording: the district's workbench counts thousands of these and words the 200 it shows."""
    horizon = term_warning_horizon(today)
    out, seen = [], set()
    for seat in seats:
        if seat.left_on is not None or seat.position != Position.SECRETARY or seat.organization_id in seen:
            continue
        seen.add(seat.organization_id)
        if seat.term_end < today:
            out.append(("term_overdue", seat))
        elif seat.term_end <= horizon:
            out.append(("term_ending", seat))
    return out


def term_warning(rule: str, seat: CommitteeMember) -> OrgWarning:
    """The warning of one of `term_reminders`."""
    if rule == "term_overdue":
        message = f"班子任期已于 {seat.term_end:%Y-%m-%d} 届满，应按期换届"
    else:
        message = f"班子任期将于 {seat.term_end:%Y-%m-%d} 届满，请提前 {_param('term_warning_months')} 个月做好换届准备"
    return OrgWarning(seat.organization, rule, TERM_ARTICLE, message, TERM_RULE_LEVELS[rule])


def term_warnings(seats: Iterable[CommitteeMember], today: dt.date) -> list[OrgWarning]:
    """Terms ending within the warning window, or already overdue (DOMAIN-RULES §6, reminder 6 months before)."""
    return [term_warning(rule, seat) for rule, seat in term_reminders(seats, today)]
