import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from dangjian.core.actors import SYSTEM
from dangjian.core.scoping import system_scope
from dangjian.testing import make_user

from .. import services
from ..models import Site, Slot

SITE_DATA = {
    "name": "甲街道红色教育基地", "kind": "activity_base", "category": "red", "address": "甲街道和平路1号",
    "street": "甲街道", "longitude": 116.40, "latitude": 39.91, "opens_at": dt.time(9), "closes_at": dt.time(17),
    "open_weekdays": "0123456", "hours_note": "", "contact_name": "赵管理", "contact_phone": "13900001111",
    "contact_public": False, "capacity": 30, "services": "主题党日\n党史学习", "description": "红色教育",
    "requires_approval": True, "is_published": True,
}


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=timezone.get_current_timezone())


@dataclass
class Bases:
    district: object
    site: Site
    slot: Slot  # 3 days ahead, 09:00–11:00, 10 places
    manager: object  # committee_admin of 甲街道党工委, which manages the base
    worker_a1: object
    worker_a2: object
    worker_b1: object

    def slot_on(self, days: int, start=(14, 0), end=(16, 0), capacity=10) -> Slot:
        return make_slot(self.site, timezone.localdate() + dt.timedelta(days=days), start, end, capacity)


def make_site(org, **overrides) -> Site:
    with system_scope("test"):
        return services.site_create(actor=SYSTEM, organization=org, data={**SITE_DATA, **overrides})


def make_slot(site, day, start=(9, 0), end=(11, 0), capacity=10) -> Slot:
    with system_scope("test"):
        services.slots_create(actor=SYSTEM, site=site, first=day, last=day,
                              times=[(dt.time(*start), dt.time(*end))], capacity=capacity)
        return Slot.unscoped.get(site=site, date=day, starts_at=dt.time(*start))


@pytest.fixture(autouse=True)
def _fresh_public_choices():
    """The public filter choices are cached (selectors.public_streets); a test's rolled-back sites must not
    leak into the next test through the cache."""
    from .. import selectors

    selectors.forget_public_choices()
    yield
    selectors.forget_public_choices()


@pytest.fixture
def bases(district):
    site = make_site(district.committee_a)
    slot = make_slot(site, timezone.localdate() + dt.timedelta(days=3))
    return Bases(district, site, slot, district.users["committee_admin"], district.users["branch_worker"],
                 make_user("worker_a2", role="branch_worker", org=district.branch_a2),
                 make_user("worker_b1", role="branch_worker", org=district.branch_b1))


def book(bases, slot, branch, actor, people=5, **kw):
    with system_scope("test"):
        args = {"purpose": "主题党日", "contact_name": "联系人", "contact_phone": "13800000000", **kw}
        return services.reservation_book(actor=actor, slot=slot, branch=branch, people=people, **args)
