"""Organisation warnings as data (DOMAIN-RULES §6). Warnings warn; they never block.

Each rule names its article. Thresholds come from settings.DANGJIAN_RULES because the regulations say
"一般" and allow approved exceptions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
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
    """One size rule: a count of members that must not fall below the setting `least` nor rise above the
    setting `most` (either may be absent). From that one statement come both `check`, which words the
    warning for one organisation's counts, and `sql_condition`, the same condition over the columns `n_full`,
    `n_total` (direct members) and `n_subtree`, so the workbench counts and picks the district's warnings in
    the database instead of building counts for every organisation (members.selectors.size_warning_rows).
    orgs/tests/test_rules.py checks both on either side of every threshold."""

    code: str
    kinds: tuple[str, ...]
    article: str
    count: str  # "full" / "total" (direct members) or "subtree" (every member below)
    least: str | None  # the setting (DANGJIAN_RULES) naming the fewest allowed
    most: str | None  # ... and the most
    message: str  # worded with {n} (the count), {least} and {most} (the thresholds)

    @property
    def counts(self) -> tuple[str, ...]:
        return (self.count,)

    def _limits(self, params: dict) -> tuple[int | None, int | None]:
        # Integers from settings: formatted into the SQL as integers, never as text.
        return tuple(None if name is None else int(params[name]) for name in (self.least, self.most))

    def check(self, counts: dict, params: dict) -> str | None:
        n, (least, most) = counts[self.count], self._limits(params)
        if (least is not None and n < least) or (most is not None and n > most):
            return self.message.format(n=n, least=least, most=most)
        return None

    def sql_condition(self, params: dict) -> str:
        least, most = self._limits(params)
        column = f"n_{self.count}"
        bounds = [f"{column} < {least}"] * (least is not None) + [f"{column} > {most}"] * (most is not None)
        return "(" + " OR ".join(bounds) + ")"


def _param(name: str) -> int:
    return settings.DANGJIAN_RULES[name]


SIZE_RULES = (
    SizeRule("branch_min_full", BRANCH_KINDS, "《中国共产党支部工作条例（试行）》第四条",
             "full", "branch_min_full_members", None, "正式党员仅 {n} 名，少于 {least} 名，宜成立联合党支部"),
    SizeRule("branch_max", BRANCH_KINDS, "《中国共产党支部工作条例（试行）》第四条",
             "total", None, "branch_max_members", "党员 {n} 名，超过 {most} 名，宜分设支部或成立党总支"),
    SizeRule("general_branch_size", (OrgKind.GENERAL_BRANCH,), "《党和国家机关基层组织工作条例》第六条",
             "subtree", "general_branch_min_members", "general_branch_max_members",
             "党员 {n} 名，党总支一般为 {least}—{most} 名（少于须经批准，超过宜成立党委）"),
    SizeRule("primary_committee_size", (OrgKind.PRIMARY_COMMITTEE,), "《党和国家机关基层组织工作条例》第五条",
             "subtree", "primary_committee_min_members", None,
             "党员 {n} 名，基层党委一般在 {least} 名以上（少于须经批准）"),
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
