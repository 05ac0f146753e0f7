"""Test support shared by the every-operation scoping tests (issue 9): one real object of every kind inside
支部A1, the strings only A1's objects carry, and the outsiders who must see none of it. The API test
(api/tests/test_scoping_every_endpoint.py) and the page test (web/tests/test_scoping_every_page.py) both build
their world here; the page test adds the kinds only pages address (attachments, documents, seats, …) on top.

A test module takes the fixtures in by assignment (`outsiders = testing_world.outsiders`): pytest finds them
by the module's names, and the autouse one then applies to that module only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest
from django.apps import apps
from django.utils import timezone

from dangjian.audit.models import AuditEntry
from dangjian.bases.tests.conftest import book, make_site, make_slot
from dangjian.core.actors import SYSTEM
from dangjian.core.scoping import system_scope
from dangjian.dues import services as dues
from dangjian.meetings.tests.conftest import notified, record
from dangjian.recruitment.tests.factories import open_case
from dangjian.testing import make_member, make_user
from dangjian.transfers import services as transfers

# Strings only A1's objects carry: one of them anywhere in an outsider's answer is a leak.
NAMES = {
    "organization": ("甲社区党支部",),
    "member": ("张三", "甲一转出人"),
    "meeting": ("甲一支部党员大会",),
    "reduction": ("甲一重病住院",),
    "transfer": ("甲一工作调动", "甲一外省某党委"),
    "mobile": ("甲一外出地", "甲一活动证"),
    "site": ("甲一红色教育基地", "甲一和平路"),
    "slot": (),  # a slot has no text of its own; its site's name is checked
    "reservation": ("甲一主题党日", "甲一联系人"),
    "case": ("甲一申请人",),
}


@dataclass
class World:
    district: object
    ids: dict[str, int] = field(default_factory=dict)  # kind → the id of A1's object of that kind
    assessment: int = 0  # the reduction's assessment, named in POST /dues/reductions

    def markers(self) -> dict[str, tuple[int | None, tuple[str, ...]]]:
        return {kind: (self.ids.get(kind), names) for kind, names in NAMES.items()}


def world_before(district) -> World:
    """The district as conftest builds it: A1 and its member exist, none of the objects below yet."""
    return World(district, {"organization": district.branch_a1.pk, "member": district.member_a1.pk})


def build_a1(district) -> World:
    """One object of every kind in 支部A1, made by the apps' own services as the system would (fast: no
    seed_demo). The member transferred out is a second A1 member, so 张三 stays for the rest."""
    w = world_before(district)
    a1, today = district.branch_a1, timezone.localdate()
    with system_scope("test: A1's objects for the every-endpoint scoping test"):
        leaving = make_member(a1, name="甲一转出人", born=dt.date(1980, 2, 3))
        meeting = notified(a1, title="甲一支部党员大会")
        record(meeting, [district.member_a1, leaving])
        assessment = dues.assessment_set(actor=SYSTEM, member=district.member_a1, year=today.year,
                                         category="employed", dues_base_fen=450_000, today=today)
        reduction = dues.reduction_request(actor=SYSTEM, assessment=assessment, monthly_fen=0, reason="甲一重病住院")
        transfer = transfers.transfer_create(actor=SYSTEM, member=leaving, kind="out", to_external="甲一外省某党委",
                                             reason="甲一工作调动")
        transfer = transfers.transfer_submit(actor=SYSTEM, transfer=transfer)
        mobile = transfers.mobile_register(actor=SYSTEM, member=district.member_a1, left_on=today - dt.timedelta(days=200),
                                           destination="甲一外出地", contact="13900003333", card_number="甲一活动证")
        case = open_case(SYSTEM, a1, n=7, name="甲一申请人")
    site = make_site(a1, name="甲一红色教育基地", address="甲一和平路1号")
    slot = make_slot(site, today + dt.timedelta(days=3))
    reservation = book(None, slot, a1, SYSTEM, purpose="甲一主题党日", contact_name="甲一联系人")
    w.ids.update(meeting=meeting.pk, reduction=reduction.pk, transfer=transfer.pk, mobile=mobile.pk, site=site.pk,
                 slot=slot.pk, reservation=reservation.pk, case=case.pk)
    w.assessment = assessment.pk
    return w


def everything() -> dict[str, list]:
    """Every row of every table of the project's apps, and the number of audit entries. An API token's
    `last_used_at` is the one column a refused call legitimately touches."""
    state = {"audit entries": AuditEntry.objects.count()}
    for model in apps.get_models():
        if model._meta.app_label == "audit" or not model.__module__.startswith("dangjian."):
            continue
        rows = model._base_manager.order_by("pk").values()
        if model._meta.label == "accounts.ApiToken":
            rows = rows.values("pk", "user_id", "digest", "revoked_at")
        state[model._meta.label] = list(rows)
    return state


@pytest.fixture
def outsiders(district):
    """The district's users plus a branch worker of 第一中学党支部 (B1, under another committee)."""
    district.users["worker_b1"] = make_user("worker_b1", role="branch_worker", org=district.branch_b1)
    return district


@pytest.fixture(autouse=True)
def forget_public_choices():
    """The public bases' filter choices are cached; this test's published base must not outlive it."""
    from dangjian.bases import selectors

    yield
    selectors.forget_public_choices()
