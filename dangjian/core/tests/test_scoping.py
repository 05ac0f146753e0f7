"""Scoping that cannot be forgotten (ARCHITECTURE §5): no scope is an error, and each role sees exactly its rows."""

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection

from dangjian.accounts.models import User
from dangjian.accounts.services import role_grant, role_revoke
from dangjian.core.actors import SYSTEM
from dangjian.core.scoping import (
    Scope,
    ScopeError,
    collapse_paths,
    no_scope,
    scope,
    subtree_bounds,
    subtree_q,
    system_scope,
)
from dangjian.members.models import Member, MembershipPeriod
from dangjian.orgs.models import CommitteeMember, Organization, OrgKind
from dangjian.orgs.services import committee_member_add
from dangjian.testing import acting_as, make_member, make_org, make_user

SCOPED_MODELS = [Member, Organization, MembershipPeriod, CommitteeMember]


def _names(model) -> set[str]:
    """What the active scope shows of `model`, by a readable name."""
    if model is Member:
        return set(Member.objects.values_list("name", flat=True))
    if model is MembershipPeriod:
        return set(MembershipPeriod.objects.values_list("member__name", flat=True))
    if model is CommitteeMember:
        return set(CommitteeMember.objects.values_list("person_name", flat=True))
    return set(Organization.objects.values_list("name", flat=True))


@pytest.fixture
def seated(district):
    """The district plus one committee seat on 党委A, one on 支部A1 and one on 党委B."""
    d = district
    for org, who in ((d.committee_a, "甲书记"), (d.branch_a1, "甲一书记"), (d.committee_b, "乙书记")):
        committee_member_add(actor=SYSTEM, org=org, person_name=who, position="secretary",
                             term_start=dt.date(2024, 1, 1), term_end=dt.date(2029, 1, 1))
    return d


# --- no scope -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", SCOPED_MODELS, ids=lambda m: m.__name__)
def test_querying_without_a_scope_raises(district, model):
    with pytest.raises(ScopeError):
        list(model.objects.all())
    with pytest.raises(ScopeError):
        model.objects.filter(pk=1).exists()
    with pytest.raises(ScopeError):
        model.objects.count()


@pytest.mark.parametrize("model", SCOPED_MODELS, ids=lambda m: m.__name__)
def test_the_scope_ends_with_its_block(seated, model):
    with acting_as(seated.users["district_admin"]):
        assert model.objects.count() >= 1
    with pytest.raises(ScopeError):
        model.objects.count()


def test_no_scope_inside_a_scope_hides_everything_again(district):
    with acting_as(district.users["district_admin"]):
        with no_scope(), pytest.raises(ScopeError):
            Member.objects.count()
        assert Member.objects.count() == 3  # the outer scope is back


def test_system_scope_needs_a_reason_and_sees_everything(district):
    with pytest.raises(ValueError):
        system_scope("")
    with system_scope("test: count everything"):
        assert Member.objects.count() == 3
        assert Organization.objects.count() == 6


def test_empty_querysets_need_no_scope():
    """`objects.none()` runs at import time in form classes; an empty queryset can leak nothing."""
    assert list(Organization.objects.none()) == []
    assert list(Member.objects.none()) == []
    import dangjian.members.forms  # noqa: F401  (its class body calls Organization.objects.none())


# --- what each role sees --------------------------------------------------------------------------------

ALL_ORGS = {"示范区委", "甲街道党工委", "甲社区党支部", "乙社区党支部", "区教育局党委", "第一中学党支部"}
ALL_MEMBERS = {"张三", "李四", "王五"}
ALL_SEATS = {"甲书记", "甲一书记", "乙书记"}

EXPECTED = {
    # role: (organisations, members, periods (by member), committee seats)
    "district_admin": (ALL_ORGS, ALL_MEMBERS, ALL_MEMBERS, ALL_SEATS),
    "committee_admin": ({"甲街道党工委", "甲社区党支部", "乙社区党支部"}, {"张三", "李四"}, {"张三", "李四"},
                        {"甲书记", "甲一书记"}),
    "branch_worker": ({"甲社区党支部"}, {"张三"}, {"张三"}, {"甲一书记"}),
    "member": ({"甲社区党支部"}, {"张三"}, {"张三"}, set()),
    "security_admin": (ALL_ORGS, set(), set(), set()),
    "system_admin": (set(), set(), set(), set()),
    "audit_admin": (set(), set(), set(), set()),
    "nobody": (set(), set(), set(), set()),
}


@pytest.mark.parametrize("role", list(EXPECTED))
def test_each_role_sees_exactly_its_rows(seated, role):
    orgs, members, periods, seats = EXPECTED[role]
    with acting_as(seated.users[role]):
        assert _names(Organization) == orgs
        assert _names(Member) == members
        assert _names(MembershipPeriod) == periods
        assert _names(CommitteeMember) == seats


def test_anonymous_user_sees_nothing_but_does_not_crash(seated):
    with acting_as(AnonymousUser()):
        for model in SCOPED_MODELS:
            assert model.objects.count() == 0


def test_a_member_sees_own_periods_also_in_other_organisations(district):
    from dangjian.members.services import member_move

    member_move(actor=SYSTEM, member=district.member_a1, to=district.branch_b1, on=dt.date(2025, 7, 1))
    with acting_as(User.objects.get(pk=district.users["member"].pk)):
        periods = list(MembershipPeriod.objects.order_by("start"))
        assert [p.organization_id for p in periods] == [district.branch_a1.pk, district.branch_b1.pk]
        assert {m.pk for m in Member.objects.all()} == {district.member_a1.pk}
        # the directory follows the member to the new branch
        assert _names(Organization) == {"第一中学党支部"}


def test_a_user_with_two_grants_sees_the_union(district):
    user = make_user("two_hats", role="branch_worker", org=district.branch_a1)
    role_grant(actor=SYSTEM, user=user, role="branch_worker", organization=district.branch_b1)
    with acting_as(User.objects.get(pk=user.pk)):
        assert _names(Member) == {"张三", "王五"}
        assert _names(Organization) == {"甲社区党支部", "第一中学党支部"}


def test_revoked_grants_give_nothing(district):
    user = make_user("revoked", role="branch_worker", org=district.branch_a1)
    grant_b1 = role_grant(actor=SYSTEM, user=user, role="branch_worker", organization=district.branch_b1)
    with acting_as(user):
        assert _names(Member) == {"张三", "王五"}
    role_revoke(actor=SYSTEM, grant=grant_b1)
    for who in (user, User.objects.get(pk=user.pk)):  # the same object and a fresh one from the database
        with acting_as(who):
            assert _names(Member) == {"张三"}
    role_revoke(actor=SYSTEM, grant=user.grants.get(revoked_at__isnull=True))
    with acting_as(User.objects.get(pk=user.pk)):
        for model in SCOPED_MODELS:
            assert model.objects.count() == 0


# --- subtree ranges --------------------------------------------------------------------------------------


@pytest.fixture
def wide(district):
    """Twelve more committees under the root, so paths run 00010003 … 0001000E, each with a branch and a member.

    Base-36 segments put letters after digits: 0001000A sorts after 00010009, and the grandchild
    0001000A0001 sorts between 0001000A and its sibling 0001000B.
    """
    orgs = {}
    for i in range(12):
        c = make_org(district.root, f"委{i:02d}", OrgKind.PRIMARY_COMMITTEE)
        b = make_org(c, f"委{i:02d}支部", OrgKind.BRANCH)
        make_member(b, name=f"委{i:02d}党员")
        orgs[c.path] = (c, b)
    return orgs


def test_paths_use_base36_segments(wide):
    assert {"0001000A", "0001000B", "0001000E"} <= set(wide)
    c, b = wide["0001000A"]
    assert b.path == "0001000A0001"
    assert (c.depth, b.depth) == (2, 3)


@pytest.mark.parametrize("path", ["00010009", "0001000A", "0001000B", "0001000E"])
def test_a_subtree_grant_does_not_reach_a_sibling(wide, path):
    committee, branch = wide[path]
    user = make_user(f"admin_{path}", role="committee_admin", org=committee)
    with acting_as(user):
        assert _names(Organization) == {committee.name, branch.name}
        assert _names(Member) == {f"{committee.name}党员"}


def test_subtree_q_selects_the_node_and_descendants_only(wide):
    with system_scope("test: compare the range filter with the tree"):
        for path, (committee, branch) in wide.items():
            got = set(Organization.objects.filter(subtree_q("path", [path])).values_list("path", flat=True))
            assert got == {committee.path, branch.path}


def test_subtree_bounds_are_the_next_path_not_a_sentinel():
    assert subtree_bounds("0001") == ("0001", "0002")
    assert subtree_bounds("00010009") == ("00010009", "0001000A")
    assert subtree_bounds("0001000Z") == ("0001000Z", "0001001")  # between 0001000Z… and 00010010
    assert subtree_bounds("0001ZZZZ") == ("0001ZZZZ", "0002")
    assert subtree_bounds("ZZZZ") == ("ZZZZ", "Z" * 260)  # nothing after it: longer than any stored path
    assert subtree_bounds("") == ("", "Z" * 256)  # everything
    lo, hi = subtree_bounds("0001000A")
    for inside in ("0001000A", "0001000A0001", "0001000AZZZZ"):
        assert lo <= inside < hi
    for outside in ("00010009", "0001000B", "0001000B0001", "0002"):
        assert not lo <= outside < hi
    lo, hi = subtree_bounds("0001000Z")
    assert lo <= "0001000ZZZZZ" < hi and not lo <= "00010010" < hi
    with pytest.raises(ValueError):
        subtree_bounds("0001~")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="linguistic collations exist only on PostgreSQL")
@pytest.mark.django_db
def test_subtree_bounds_hold_under_a_linguistic_collation():
    """A database created with an ICU or zh_CN locale sorts punctuation before digits: `path + "~"` would be
    below every child path there. The bound must be the next path, which sorts the same way in every collation."""
    with connection.cursor() as cur:
        cur.execute("SELECT collname FROM pg_collation WHERE collname IN ('und-x-icu', 'zh-Hans-CN-x-icu')")
        collations = [r[0] for r in cur.fetchall()]
        if not collations:
            pytest.skip("PostgreSQL built without ICU")
        for coll in collations:
            lo, hi = subtree_bounds("0001000A")
            for inside in ("0001000A", "0001000A0001", "0001000AZZZZ"):
                cur.execute(f'SELECT %s >= %s COLLATE "{coll}" AND %s < %s COLLATE "{coll}"', [inside, lo, inside, hi])
                assert cur.fetchone()[0] is True, (coll, inside)
            for outside in ("00010009", "0001000B", "0002"):
                cur.execute(f'SELECT %s >= %s COLLATE "{coll}" AND %s < %s COLLATE "{coll}"', [outside, lo, outside, hi])
                assert cur.fetchone()[0] is False, (coll, outside)


def test_organization_subtree_range_uses_the_same_bounds(district):
    assert district.committee_a.subtree_range() == subtree_bounds(district.committee_a.path)


@pytest.mark.parametrize(
    "paths, kept",
    [
        ([], []),
        (["0001"], ["0001"]),
        (["000100010001", "0001", "00010002"], ["0001"]),
        (["00010001", "000100010002", "00010002"], ["00010001", "00010002"]),
        (["0001000A", "0001000A0001", "0001000B"], ["0001000A", "0001000B"]),
        (["0001000A0001", "0001000A0001", "0001000A0002"], ["0001000A0001", "0001000A0002"]),
        (["00010009", "0001000A"], ["00010009", "0001000A"]),
    ],
)
def test_collapse_paths_drops_only_covered_descendants(paths, kept):
    assert collapse_paths(paths) == kept


def test_scope_covers_path():
    s = Scope(subtrees=("00010001",))
    assert s.covers_path("00010001") and s.covers_path("000100010002")
    assert not s.covers_path("00010002") and not s.covers_path("0001")
    assert Scope(everything=True).covers_path("0009")
    assert not Scope().covers_path("0001")


def test_a_directory_scope_does_not_open_member_data(district):
    with scope(Scope(subtrees=(), directory=(district.root.path,))):
        assert Organization.objects.count() == 6
        assert Member.objects.count() == 0
        assert MembershipPeriod.objects.count() == 0


def test_within_subtree_returns_exactly_the_scoped_rows(district):
    """The single-range shortcut never shows more than the scope: for every role and subtree it equals the
    scoped manager filtered by the same range."""
    from dangjian.core.scoping import subtree_bounds, within_subtree
    from dangjian.members.models import Member
    from dangjian.testing import acting_as

    for role in ("district_admin", "committee_admin", "branch_worker", "member", "security_admin"):
        for org in (district.root, district.committee_a, district.branch_a1, district.branch_a2, district.branch_b1):
            with acting_as(district.users[role]):
                lo, hi = subtree_bounds(org.path)
                expected = set(Member.objects.filter(org_path__gte=lo, org_path__lt=hi).values_list("pk", flat=True))
                assert set(within_subtree(Member, org.path).values_list("pk", flat=True)) == expected, (role, org)
