"""`manage.py seed_demo`: the demo district is realistic, valid, deterministic, and written only once."""

from __future__ import annotations

import datetime as dt
import io
import stat
from collections import Counter

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError

from dangjian.accounts.models import RoleGrant, User
from dangjian.audit.models import AuditEntry
from dangjian.audit.selectors import audit_chain_verify
from dangjian.core import codes, crypto
from dangjian.core.validators import normalize_phone, parse_id_number
from dangjian.members import demo
from dangjian.members.models import Member, MembershipPeriod
from dangjian.orgs.models import (
    BRANCH_KINDS,
    CommitteeMember,
    Organization,
    OrgKind,
    Position,
    Sector,
    UnitCategory,
    name_key,
)
from dangjian.orgs.rules import term_warnings

TODAY = dt.date(2026, 11, 29)
SEED = ("--members", "2000", "--seed", "7", "--today", TODAY.isoformat())


def _age(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


@pytest.fixture
def var_dir(settings, tmp_path, monkeypatch):
    settings.VAR_DIR = tmp_path
    monkeypatch.delenv("DANGJIAN_DEMO_PASSWORD", raising=False)
    return tmp_path


@pytest.fixture
def seeded(db, var_dir):
    out = io.StringIO()
    call_command("seed_demo", *SEED, stdout=out)
    return out.getvalue()


def _snapshot():
    return (Organization.unscoped.count(), Member.unscoped.count(), MembershipPeriod.unscoped.count(),
            CommitteeMember.unscoped.count(), User.objects.count(), RoleGrant.objects.count(), AuditEntry.objects.count())


def test_the_district_has_every_kind_of_organisation(seeded):
    orgs = list(Organization.unscoped.all())
    kinds = Counter(o.kind for o in orgs)
    assert set(kinds) == {OrgKind.DISTRICT_COMMITTEE, OrgKind.WORKING_COMMITTEE, OrgKind.PRIMARY_COMMITTEE,
                          OrgKind.GENERAL_BRANCH, OrgKind.BRANCH, OrgKind.JOINT_BRANCH, OrgKind.PARTY_GROUP}
    root = next(o for o in orgs if o.parent_id is None)
    assert root.name == django_settings.DANGJIAN_DISTRICT_NAME + "委"
    assert kinds[OrgKind.DISTRICT_COMMITTEE] == 1
    streets = [o for o in orgs if o.kind == OrgKind.WORKING_COMMITTEE and o.name.endswith("街道党工委")]
    assert len(streets) >= 3 and all(o.sector == Sector.COMMUNITY and o.subdistrict for o in streets)
    assert any(o.kind == OrgKind.WORKING_COMMITTEE and o.sector == Sector.GOVERNMENT for o in orgs)  # 区直机关工委
    education = [o for o in orgs if o.name.endswith("教育局党委")]
    assert len(education) == 1 and education[0].kind == OrgKind.PRIMARY_COMMITTEE
    assert education[0].has_approval_authority
    branches = [o for o in orgs if o.kind in BRANCH_KINDS]
    assert {o.sector for o in branches} == {Sector.COMMUNITY, Sector.NEW_ECONOMIC_SOCIAL, Sector.GOVERNMENT, Sector.SCHOOL}
    assert {UnitCategory.PRIVATE_ENTERPRISE, UnitCategory.SOCIAL_ORGANIZATION, UnitCategory.COMMUNITY,
            UnitCategory.GOVERNMENT_AGENCY, UnitCategory.SCHOOL} <= {o.unit_category for o in branches}
    assert all(o.parent.kind in BRANCH_KINDS for o in orgs if o.kind == OrgKind.PARTY_GROUP)
    assert len({o.name for o in orgs}) == len(orgs)  # names are unique
    # About one branch per 30–40 members (the remainders of small sectors make small districts a bit denser).
    assert 2000 / 45 <= len(branches) <= 2000 / 25

    # Every member sits in a branch; the size warnings fire for a few branches only.
    per_branch = Counter(Member.unscoped.values_list("organization_id", flat=True))
    assert {o.kind for o in orgs if o.pk in per_branch} <= set(BRANCH_KINDS)
    assert sum(per_branch.values()) == 2000
    off_size = [o for o in branches if not 3 <= per_branch[o.pk] <= 50]
    assert len(off_size) <= len(branches) * 0.1


def test_committees_have_terms_with_a_few_warnings(seeded):
    seats = list(CommitteeMember.unscoped.select_related("organization", "member"))
    orgs = Organization.unscoped.exclude(kind__in=[OrgKind.DISTRICT_COMMITTEE, OrgKind.PARTY_GROUP])
    secretaries = Counter(s.organization_id for s in seats if s.position == Position.SECRETARY)
    assert all(secretaries[o.pk] == 1 for o in orgs)
    for seat in seats:
        years = (seat.term_end - seat.term_start).days / 365.25
        assert round(years) in (3, 5)
        assert seat.member is not None and seat.member.status == "full"
        assert seat.member.org_path.startswith(seat.organization.path)  # a member of that organisation
        assert seat.person_name == seat.member.name
    warnings = Counter(w.rule for w in term_warnings(seats, TODAY))
    assert warnings["term_overdue"] >= 1 and warnings["term_ending"] >= 1
    assert warnings["term_overdue"] + warnings["term_ending"] <= orgs.count() * 0.15


def test_members_are_valid_and_their_mix_follows_the_statistics(seeded):
    members = list(Member.unscoped.select_related("organization"))
    assert len(members) == 2000
    # the list's copies: the organisation's 领域 and the code's 学历层次 (written by the bulk seed too)
    assert all(m.sector == m.organization.sector and m.education_level == m.education[:1] for m in members)
    assert len({m.sector for m in members} - {""}) >= 3  # the seed spreads its branches over the sectors
    current = Counter(MembershipPeriod.unscoped.filter(end__isnull=True).values_list("member_id", flat=True))
    assert set(current) == {m.pk for m in members} and set(current.values()) == {1}
    assert MembershipPeriod.unscoped.count() == 2000

    id_numbers, phones = set(), set()
    for m in members:
        number = crypto.decrypt(m.id_number_encrypted)
        info = parse_id_number(number, today=TODAY)
        assert (info.birth_date, info.gender) == (m.birth_date, m.gender)
        assert number.startswith("32") and m.id_number_digest == crypto.lookup_digest(number)
        assert m.id_number_masked == number[:6] + "********" + number[-4:]
        id_numbers.add(number)
        phone = crypto.decrypt(m.phone_encrypted)
        assert normalize_phone(phone) == phone
        phones.add(phone)
        assert _age(m.birth_date, m.joined_on) >= 18
        assert m.joined_on <= TODAY
        assert m.joined_month_day == m.joined_on.month * 100 + m.joined_on.day
        if m.status == "full":
            assert m.confirmed_on == demo.add_years(m.joined_on, 1) and m.confirmed_on <= TODAY
        else:
            assert m.status == "probationary" and m.confirmed_on is None
            assert (TODAY - m.joined_on).days < 366
        assert m.occupation in codes.Occupation.values
        assert m.ethnicity in dict(codes.ETHNICITY_CHOICES)
    assert len(id_numbers) == len(phones) == 2000

    def share(pred) -> float:
        return sum(1 for m in members if pred(m)) / len(members)

    assert 0.25 <= share(lambda m: m.gender == "female") <= 0.37
    assert 0.50 <= share(lambda m: m.education <= codes.COLLEGE_AND_ABOVE_MAX) <= 0.65
    assert 0.005 <= share(lambda m: m.status == "probationary") <= 0.04
    assert 0.04 <= share(lambda m: m.ethnicity != codes.HAN) <= 0.12
    assert len({m.occupation for m in members}) == 8

    # The people fit their organisations.
    by_org = {o.pk: o for o in Organization.unscoped.all()}

    def occupations(pred) -> Counter:
        return Counter(m.occupation for m in members if pred(by_org[m.organization_id]))

    school = occupations(lambda o: o.sector == Sector.SCHOOL and "学生" not in o.name and "离退休" not in o.name)
    assert school.most_common(1)[0][0] == "professional"
    agency = occupations(lambda o: o.sector == Sector.GOVERNMENT and "离退休" not in o.name)
    assert agency.most_common(1)[0][0] == "official"
    community = occupations(lambda o: o.unit_category == UnitCategory.COMMUNITY)
    assert community["retired"] / sum(community.values()) > 0.4


def test_the_database_holds_exactly_the_generator_output(seeded):
    plan = demo.build_plan(members=2000, seed=7, district_name=django_settings.DANGJIAN_DISTRICT_NAME)
    expected = sorted((r.name, crypto.lookup_digest(r.id_number), r.branch.name) for r in
                      demo.iter_members(plan, seed=7, today=TODAY))
    stored = sorted(Member.unscoped.values_list("name", "id_number_digest", "organization__name"))
    assert stored == expected
    assert sorted(Organization.unscoped.values_list("name", flat=True)) == sorted(o.name for o in plan.walk())
    # inserted in bulk, without save(): the roster import finds organisations by this copy
    assert all(key == name_key(name) for name, key in Organization.unscoped.values_list("name", "name_key"))


def test_the_generator_is_deterministic():
    def run(seed):
        plan = demo.build_plan(members=1500, seed=seed)
        orgs = [(o.name, o.kind, o.size) for o in plan.walk()]
        rows = [(r.name, r.id_number, r.phone, r.birth_date, r.joined_on, r.branch.name)
                for r in demo.iter_members(plan, seed=seed, today=TODAY)]
        return orgs, rows

    first = run(7)
    assert run(7) == first
    assert run(8) != first
    assert len(first[1]) == 1500


def test_the_generated_mix_is_close_to_the_national_figures():
    """A bigger sample than the database test, without the database: the tuning of the tables holds."""
    plan = demo.build_plan(members=20000, seed=3)
    rows = list(demo.iter_members(plan, seed=3, today=TODAY))
    n = len(rows)
    targets = demo.TARGETS
    occupation = Counter(r.occupation for r in rows)
    for code, target in targets["occupation"].items():
        assert abs(occupation[code] / n - target) < 0.02, code
    bands = Counter(next(i for i, (_, hi) in enumerate(demo.AGE_BANDS) if _age(r.birth_date, TODAY) <= hi) for r in rows)
    for i, target in enumerate(targets["age_band"]):
        assert abs(bands[i] / n - target) < 0.02, demo.AGE_BANDS[i]
    periods = Counter(sum(r.joined_on >= b for b in demo.JOIN_PERIOD_BOUNDS) for r in rows)
    for i, target in enumerate(targets["joined_period"]):
        assert abs(periods[i] / n - target) < 0.03, i
    assert abs(sum(r.gender == "female" for r in rows) / n - targets["female"]) < 0.015
    assert abs(sum(r.ethnicity != codes.HAN for r in rows) / n - targets["minority"]) < 0.01
    assert abs(sum(r.education <= codes.COLLEGE_AND_ABOVE_MAX for r in rows) / n - targets["college"]) < 0.02
    assert abs(sum(r.status == "probationary" for r in rows) / n - targets["probationary"]) < 0.006


def test_demo_accounts_follow_the_separation_of_duties(seeded, var_dir):
    root = Organization.unscoped.get(parent=None)
    expected = {
        "quwei": ("district_admin", OrgKind.DISTRICT_COMMITTEE),
        "jiedao": ("committee_admin", OrgKind.WORKING_COMMITTEE),
        "zhibu": ("branch_worker", OrgKind.BRANCH),
        "xitong": ("system_admin", OrgKind.DISTRICT_COMMITTEE),
        "anquan": ("security_admin", OrgKind.DISTRICT_COMMITTEE),
        "shenji": ("audit_admin", OrgKind.DISTRICT_COMMITTEE),
    }
    for username, (role, kind) in expected.items():
        grants = list(RoleGrant.objects.filter(user__username=username, revoked_at__isnull=True).select_related("organization"))
        assert [(g.role, g.organization.kind) for g in grants] == [(role, kind)], username
    assert RoleGrant.objects.get(user__username="jiedao").organization.name.endswith("街道党工委")
    branch = RoleGrant.objects.get(user__username="zhibu").organization
    assert branch.unit_category == UnitCategory.COMMUNITY
    assert not RoleGrant.objects.filter(user__username="dangyuan").exists()
    member = Member.unscoped.get(user__username="dangyuan")
    assert member.organization == branch and member.status == "full"
    assert RoleGrant.objects.get(user__username="xitong").organization == root

    # One random password per run, printed and saved (owner-only) for `make run`; it works for every account.
    logins = (var_dir / "demo-logins.txt").read_text(encoding="utf-8")
    assert stat.S_IMODE((var_dir / "demo-logins.txt").stat().st_mode) == 0o600
    line = next(x for x in logins.splitlines() if x.startswith("quwei"))
    password = line.split()[-1]
    assert len(password) >= 12 and password in seeded
    for username in demo.DEMO_USERNAMES:
        assert username in logins and username in seeded
        assert User.objects.get(username=username).check_password(password)
    assert "系统管理员" in seeded and "审计管理员" in seeded and "党组织" in seeded and "用时" in seeded

    # One summary audit entry for the bulk rows, an intact chain, and no password anywhere in the log.
    entry = AuditEntry.objects.get(action="members.demo.seeded")
    assert entry.changes["members"] == 2000 and entry.changes["seed"] == 7
    # Organisations are bulk inserted too (members.demo._create_organizations): counted in the summary by kind.
    assert sum(entry.changes["organizations"].values()) == Organization.unscoped.count()
    assert not AuditEntry.objects.filter(action="orgs.organization.created").exists()
    assert AuditEntry.objects.filter(action="accounts.grant.created").count() == 6
    assert not AuditEntry.objects.filter(changes__icontains=password).exists()
    assert audit_chain_verify().ok


def test_a_second_run_changes_nothing(seeded, var_dir):
    before = _snapshot()
    logins = (var_dir / "demo-logins.txt").read_text(encoding="utf-8")
    out = io.StringIO()
    call_command("seed_demo", *SEED, "--if-empty", stdout=out)  # what `make run` does on every start
    assert "已有党组织" in out.getvalue()
    with pytest.raises(CommandError, match="已有党组织"):
        call_command("seed_demo", *SEED, stdout=io.StringIO())
    assert _snapshot() == before
    assert (var_dir / "demo-logins.txt").read_text(encoding="utf-8") == logins


def test_password_from_the_environment(db, var_dir, monkeypatch):
    monkeypatch.setenv("DANGJIAN_DEMO_PASSWORD", "Demo-Pass-2026!")
    call_command("seed_demo", "--members", "200", "--seed", "1", "--today", TODAY.isoformat(), stdout=io.StringIO())
    assert User.objects.get(username="shenji").check_password("Demo-Pass-2026!")
    assert Member.unscoped.count() == 200


def test_a_weak_password_or_taken_username_refuses_without_changes(db, var_dir, monkeypatch):
    monkeypatch.setenv("DANGJIAN_DEMO_PASSWORD", "12345678")
    with pytest.raises(CommandError, match="DANGJIAN_DEMO_PASSWORD"):
        call_command("seed_demo", "--members", "200", stdout=io.StringIO())
    assert _snapshot()[:5] == (0, 0, 0, 0, 0)

    monkeypatch.delenv("DANGJIAN_DEMO_PASSWORD")
    User.objects.create_user(username="quwei", password=None)
    with pytest.raises(CommandError, match="quwei"):
        call_command("seed_demo", "--members", "200", stdout=io.StringIO())
    out = io.StringIO()
    call_command("seed_demo", "--members", "200", "--if-empty", stdout=out)
    assert "quwei" in out.getvalue()
    assert _snapshot()[:5] == (0, 0, 0, 0, 1)
    assert not (var_dir / "demo-logins.txt").exists()
