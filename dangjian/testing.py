"""Test support: factories (factory_boy) over the real services, and a small district with every role."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import itertools
import os
import shutil
import zipfile
from dataclasses import dataclass

import factory
import pytest
from django.conf import settings

from dangjian.accounts.middleware import scope_for_user
from dangjian.accounts.models import User
from dangjian.accounts.services import role_grant
from dangjian.core.actors import SYSTEM
from dangjian.core.scoping import scope
from dangjian.core.validators import build_id_number
from dangjian.members.forms import MemberForm
from dangjian.members.models import Member
from dangjian.members.services import member_create
from dangjian.orgs.models import Organization, OrgKind, Sector, UnitCategory
from dangjian.orgs.services import organization_create

PASSWORD = "Test-pass-2026"  # noqa: S105  (test accounts only)  # nosec B105
_seq = itertools.count(1)


def zip_bytes(*names: str) -> bytes:
    """A ZIP archive holding the named members (a Word package has "[Content_Types].xml" and
    "word/document.xml"; anything else is a ZIP pretending to be one)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


def client_as(client, district, role: str):
    """`client` signed in as the district's user for `role` (left signed out for "anonymous")."""
    if role != "anonymous":
        assert client.login(username=district.users[role].username, password=PASSWORD)
    return client


def scoping_params(cases, roles, *, expected: int = -1):
    """The scoping tables' parameters: one (case, role, status) per role, from each case's tuple of statuses
    (at index `expected`); cases are (label, url, relation, …)."""
    for case in cases:
        for role, status in zip(roles, case[expected], strict=True):
            yield pytest.param(case, role, status, id=f"{case[0]}-{case[2] or '-'}-{role}")


@contextlib.contextmanager
def acting_as(user):
    """Run the body with the scope a request by `user` would get."""
    with scope(scope_for_user(user)):
        yield


class MemberDataFactory(factory.DictFactory):
    """Valid member form data; `id_number` agrees with gender and birth date."""

    class Params:
        born = factory.Faker("date_between_dates", date_start=dt.date(1950, 1, 1), date_end=dt.date(1998, 12, 31))
        sex = factory.Iterator(["male", "female"])

    name = factory.Sequence(lambda n: f"党员{n:05d}")
    id_number = factory.LazyAttributeSequence(lambda o, n: build_id_number("110105", o.born, n, o.sex))
    ethnicity = "01"
    phone = factory.Sequence(lambda n: f"139{n:08d}")
    education = "21"
    occupation = "professional"
    work_unit = "示范单位"
    post = ""
    address = ""
    status = "full"
    joined_on = factory.LazyAttribute(lambda o: o.born.replace(year=o.born.year + 25) if o.born.day < 29
                                      else dt.date(o.born.year + 25, o.born.month, 28))
    confirmed_on = factory.LazyAttribute(lambda o: o.joined_on.replace(year=o.joined_on.year + 1))
    standing = "normal"
    is_mobile = False
    is_lost_contact = False


def make_org(parent: Organization | None, name: str, kind: str, **kw) -> Organization:
    return organization_create(actor=SYSTEM, parent=parent, name=name, kind=kind, **kw)


def make_member(org: Organization, **overrides) -> Member:
    """A member registered the way a worker would: MemberForm validates, then the service saves."""
    data = MemberDataFactory(**{k: v for k, v in overrides.items() if k in ("born", "sex")})
    data.update({k: v for k, v in overrides.items() if k not in ("born", "sex")})
    data["organization"] = org.pk
    form = MemberForm(data=data, organizations=Organization.unscoped.all())
    if not form.is_valid():
        raise AssertionError(f"invalid test member: {form.errors.as_json()}")
    return member_create(actor=SYSTEM, data=form.cleaned_data)


def make_user(username: str, *, role: str | None = None, org: Organization | None = None, **kw) -> User:
    """An account that has agreed to the privacy notice in force (so tests land on the page they ask for);
    pass privacy_notice_version="" for one that has not."""
    kw.setdefault("privacy_notice_version", settings.DANGJIAN_PRIVACY_NOTICE_VERSION)
    user = User.objects.create_user(username=username, password=PASSWORD, display_name=kw.pop("display_name", username), **kw)
    if role:
        role_grant(actor=SYSTEM, user=user, role=role, organization=org)
    return user


@dataclass
class District:
    root: Organization
    committee_a: Organization
    branch_a1: Organization
    branch_a2: Organization
    committee_b: Organization
    branch_b1: Organization
    member_a1: Member
    member_a2: Member
    member_b1: Member
    users: dict[str, User]


def build_district() -> District:
    """区委 → 党委A (支部A1, 支部A2), 党委B (支部B1); one user per role; the member user sits in A1."""
    root = make_org(None, "示范区委", OrgKind.DISTRICT_COMMITTEE)
    a = make_org(root, "甲街道党工委", OrgKind.WORKING_COMMITTEE, sector=Sector.COMMUNITY, subdistrict="甲街道")
    a1 = make_org(a, "甲社区党支部", OrgKind.BRANCH, sector=Sector.COMMUNITY, unit_category=UnitCategory.COMMUNITY)
    a2 = make_org(a, "乙社区党支部", OrgKind.BRANCH, sector=Sector.COMMUNITY, unit_category=UnitCategory.COMMUNITY)
    b = make_org(root, "区教育局党委", OrgKind.PRIMARY_COMMITTEE, sector=Sector.SCHOOL, has_approval_authority=True)
    b1 = make_org(b, "第一中学党支部", OrgKind.BRANCH, sector=Sector.SCHOOL, unit_category=UnitCategory.SCHOOL)
    users = {
        "district_admin": make_user("district", role="district_admin", org=root),
        "committee_admin": make_user("committee_a", role="committee_admin", org=a),
        "branch_worker": make_user("worker_a1", role="branch_worker", org=a1),
        "system_admin": make_user("sysadmin", role="system_admin", org=root),
        "security_admin": make_user("secadmin", role="security_admin", org=root),
        "audit_admin": make_user("auditor", role="audit_admin", org=root),
        "member": make_user("member_a1"),
        "nobody": make_user("nobody"),
    }
    # Fixed birth dates (so fixed 入党 dates, 25 years on): a test about a day of the year must not meet a
    # fixture member who happened to be born on it.
    # Genders given: MemberDataFactory's cycle runs across the whole test process, so a left-out sex would
    # depend on how many members earlier tests made (a test that changes a gender once met its own value).
    m_a1 = make_member(a1, name="张三", born=dt.date(1985, 4, 12), sex="male")
    Member.unscoped.filter(pk=m_a1.pk).update(user=users["member"])
    m_a1.refresh_from_db()
    m_a2 = make_member(a2, name="李四", born=dt.date(1988, 6, 9), sex="female")
    m_b1 = make_member(b1, name="王五", born=dt.date(1990, 8, 16), sex="male")
    return District(root, a, a1, a2, b, b1, m_a1, m_a2, m_b1, users)


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@contextlib.contextmanager
def browser_page(width: int, height: int):
    """A page of Debian's Chromium driven by Playwright, at the given viewport. Without Chromium the test is
    skipped, except in CI, which must have it."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("CI must install Debian's chromium for the browser test")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()
