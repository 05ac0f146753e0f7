"""Sites, slots, booking, the reservation workflow and the waiting list, through the real services."""

import datetime as dt

import pytest
from django.utils import timezone

from dangjian.audit.models import AuditEntry
from dangjian.core.errors import Conflict, PermissionDenied, ValidationFailed
from dangjian.core.scoping import system_scope
from dangjian.notifications.models import Notification

from .. import jobs, services
from ..models import Reservation, ReservationEvent, Site, Slot
from ..models import ReservationStatus as S
from .conftest import SITE_DATA, book, local, make_site, make_slot


def counts():
    return (Site.unscoped.count(), Slot.unscoped.count(), Reservation.unscoped.count(), AuditEntry.objects.count(),
            Notification.unscoped.count())


def refresh(r):
    r.refresh_from_db()
    return r


# --- sites ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("overrides", "field", "text"), [
    ({"longitude": 12.5}, "longitude", "经度"),
    ({"latitude": 60}, "latitude", "纬度"),
    ({"longitude": None}, "longitude", "经度和纬度须同时填写"),
    ({"category": ""}, "category", "基地类别"),
    ({"closes_at": dt.time(8)}, "closes_at", "应晚于"),
    ({"open_weekdays": ""}, "open_weekdays", "开放日"),
    ({"name": "  "}, "name", "名称：不能为空"),
    ({"capacity": 0}, "capacity", "可容纳人数"),
    ({"contact_phone": "电话号码"}, "contact_phone", "联系电话"),
])
def test_bad_site_input_names_the_field_and_saves_nothing(district, overrides, field, text):
    before = counts()
    with pytest.raises(ValidationFailed) as e:
        make_site(district.committee_a, **overrides)
    assert text in e.value.fields[field][0]
    assert counts() == before


def test_a_site_is_created_by_an_org_manager_and_audited(district):
    admin = district.users["committee_admin"]
    with system_scope("test"):
        site = services.site_create(actor=admin, organization=district.committee_a, data=dict(SITE_DATA))
        with pytest.raises(PermissionDenied):
            services.site_create(actor=district.users["branch_worker"], organization=district.branch_a1,
                                 data=dict(SITE_DATA))
    assert site.org_path == district.committee_a.path
    assert AuditEntry.objects.filter(action="bases.site.created", target_id=str(site.pk)).exists()


def test_a_non_base_site_has_no_category_and_takes_no_slots(district):
    centre = make_site(district.committee_a, kind="service_centre", category="red")
    assert centre.category == ""
    with pytest.raises(ValidationFailed) as e:
        make_slot(centre, timezone.localdate() + dt.timedelta(days=2))
    assert "不接受预约" in e.value.fields["site"][0]


def test_site_update_keeps_a_diff_in_the_audit_log(bases):
    with system_scope("test"):
        services.site_update(actor=bases.manager, site=bases.site, data={"capacity": 40, "name": "新名称"})
    entry = AuditEntry.objects.filter(action="bases.site.updated").get()
    assert entry.changes["capacity"] == [30, 40]
    assert Site.unscoped.get(pk=bases.site.pk).name == "新名称"


# --- slots ----------------------------------------------------------------------------------------------

def test_slots_are_generated_on_open_days_only_and_never_twice(bases):
    site = make_site(bases.district.committee_a, name="工作日基地", open_weekdays="01234")
    today = timezone.localdate()
    first = today + dt.timedelta(days=(7 - today.weekday()))  # next Monday
    with system_scope("test"):
        n = services.slots_create(actor=bases.manager, site=site, first=first, last=first + dt.timedelta(days=6),
                                  times=services.parse_times("09:00-11:00，14:00-16:00"))
        again = services.slots_create(actor=bases.manager, site=site, first=first, last=first + dt.timedelta(days=7),
                                      times=[(dt.time(9), dt.time(11))])
    assert n == 10  # Monday to Friday, two slots a day
    assert again == 1  # only the following Monday is new
    assert {s.date.weekday() for s in Slot.unscoped.filter(site=site)} == {0, 1, 2, 3, 4}
    assert set(Slot.unscoped.filter(site=site).values_list("capacity", flat=True)) == {30}


@pytest.mark.parametrize(("kwargs", "field", "text"), [
    ({"times": [(dt.time(8), dt.time(10))]}, "times", "超出基地开放时间"),
    ({"times": [(dt.time(16), dt.time(18))]}, "times", "超出基地开放时间"),
    ({"times": [(dt.time(9), dt.time(11)), (dt.time(10), dt.time(12))]}, "times", "不能重叠"),
    ({"first": -1}, "first", "已过去"),
    ({"capacity": 31}, "capacity", "名额"),
    ({"last": 400}, "last", "最多开放到"),
])
def test_bad_slot_input_names_the_field_and_saves_nothing(bases, kwargs, field, text):
    today = timezone.localdate()
    args = {"first": today + dt.timedelta(days=1), "last": today + dt.timedelta(days=2),
            "times": [(dt.time(9), dt.time(11))], "capacity": 10}
    args.update(kwargs)
    for k in ("first", "last"):
        if isinstance(args[k], int):
            args[k] = today + dt.timedelta(days=args[k])
    before = counts()
    with system_scope("test"), pytest.raises(ValidationFailed) as e:
        services.slots_create(actor=bases.manager, site=bases.site, **args)
    assert text in e.value.fields[field][0]
    assert counts() == before


@pytest.mark.parametrize("text", ["9点到11点", "11:00-09:00", "", "25:00-26:00"])
def test_bad_time_ranges_are_refused_in_chinese(text):
    with pytest.raises(ValidationFailed) as e:
        services.parse_times(text)
    assert e.value.fields["times"][0].startswith("时段：")


def test_only_the_bases_manager_opens_slots(bases):
    with system_scope("test"), pytest.raises(PermissionDenied):
        services.slots_create(actor=bases.worker_a1, site=bases.site, first=timezone.localdate(),
                              last=timezone.localdate(), times=[(dt.time(9), dt.time(11))])


# --- booking --------------------------------------------------------------------------------------------

def test_booking_with_approval_notifies_the_base_and_waits_for_the_manager(bases):
    d = bases.district
    r = book(bases, bases.slot, d.branch_a1, bases.worker_a1, people=6)
    assert r.status == S.REQUESTED and r.org_path == d.branch_a1.path and r.site_path == d.committee_a.path
    to_base = Notification.unscoped.filter(kind="bases.requested")
    assert [n.user_id for n in to_base] == [bases.manager.pk]
    assert "甲社区党支部" in to_base[0].body and "6人" in to_base[0].body
    with system_scope("test"):
        with pytest.raises(PermissionDenied):  # the branch cannot approve itself
            services.reservation_approve(actor=bases.worker_a1, reservation=r)
        services.reservation_approve(actor=bases.manager, reservation=r)
        with pytest.raises(Conflict):
            services.reservation_approve(actor=bases.manager, reservation=r)
    assert refresh(r).status == S.APPROVED
    decided = Notification.unscoped.get(kind="bases.decided")
    assert decided.user_id == bases.worker_a1.pk and "已审核通过" in decided.body
    assert list(ReservationEvent.unscoped.filter(reservation=r).values_list("status", flat=True)) == [
        S.REQUESTED, S.APPROVED]


def test_a_base_without_approval_books_straight_away(bases):
    with system_scope("test"):
        services.site_update(actor=bases.manager, site=bases.site, data={"requires_approval": False})
    r = book(bases, bases.slot, bases.district.branch_a1, bases.worker_a1)
    assert r.status == S.APPROVED
    assert not Notification.unscoped.filter(kind="bases.requested").exists()


def test_a_branch_books_only_for_its_own_organisation(bases):
    before = counts()
    with pytest.raises(PermissionDenied):
        book(bases, bases.slot, bases.district.branch_a2, bases.worker_a1)
    assert counts() == before


def _bad_bookings(bases):
    today = timezone.localdate()
    return {
        "past": (make_slot(bases.site, today, (9, 0), (9, 30)), {"now": local(today, 10)}, "slot", "已开始或已过去"),
        "too many": (bases.slot, {"people": 11}, "people", "超过该时段名额10人"),
        "zero": (bases.slot, {"people": 0}, "people", "大于 0"),
        "no phone": (bases.slot, {"contact_phone": "无"}, "contact_phone", "联系电话"),
    }


@pytest.mark.parametrize("case", ["past", "too many", "zero", "no phone"])
def test_bad_bookings_name_the_field_and_save_nothing(bases, case):
    slot, kw, field, text = _bad_bookings(bases)[case]
    before = counts()
    with pytest.raises(ValidationFailed) as e:
        book(bases, slot, bases.district.branch_a1, bases.worker_a1, **kw)
    assert text in e.value.fields[field][0]
    assert counts() == before


def test_a_closed_slot_cannot_be_booked(bases):
    with system_scope("test"):
        with pytest.raises(ValidationFailed):
            services.slot_close(actor=bases.manager, slot=bases.slot, reason=" ")
        services.slot_close(actor=bases.manager, slot=bases.slot, reason="场馆检修")
    before = counts()
    with pytest.raises(ValidationFailed) as e:
        book(bases, bases.slot, bases.district.branch_a1, bases.worker_a1)
    assert "已关闭" in e.value.fields["slot"][0] and "场馆检修" in e.value.fields["slot"][0]
    assert counts() == before


def test_a_slot_outside_the_opening_hours_cannot_be_booked(bases):
    """The base shortened its hours after the slot was opened: the slot no longer lies inside them."""
    with system_scope("test"):
        services.site_update(actor=bases.manager, site=bases.site, data={"opens_at": dt.time(10)})
    with pytest.raises(ValidationFailed) as e:
        book(bases, bases.slot, bases.district.branch_a1, bases.worker_a1)
    assert "不在基地开放时间" in e.value.fields["slot"][0]
    assert not Reservation.unscoped.exists()


def test_capacity_is_never_exceeded_and_a_second_booking_of_the_same_branch_is_refused(bases):
    d = bases.district
    book(bases, bases.slot, d.branch_a1, bases.worker_a1, people=7)
    with pytest.raises(Conflict):
        book(bases, bases.slot, d.branch_a1, bases.worker_a1, people=1)
    with pytest.raises(ValidationFailed) as e:
        book(bases, bases.slot, d.branch_a2, bases.worker_a2, people=4)
    assert "仅剩3人" in e.value.fields["people"][0]
    book(bases, bases.slot, d.branch_a2, bases.worker_a2, people=3)
    with pytest.raises(ValidationFailed) as e:
        book(bases, bases.slot, d.branch_b1, bases.worker_b1, people=1)
    assert "已约满" in e.value.fields["people"][0]
    assert services.places_held(bases.slot) == 10


# --- cancellation, check-in -----------------------------------------------------------------------------

def test_the_branch_cancels_up_to_the_cut_off_and_the_manager_after_it(bases, settings):
    settings.DANGJIAN_BASES = {"cancel_cutoff_hours": 24}
    d = bases.district
    r = book(bases, bases.slot, d.branch_a1, bases.worker_a1)
    late = bases.slot.start - dt.timedelta(hours=23)
    with system_scope("test"):
        with pytest.raises(ValidationFailed) as e:
            services.reservation_cancel(actor=bases.worker_a1, reservation=r, now=late)
        assert "不足24小时" in e.value.fields["reservation"][0]
        assert refresh(r).status == S.REQUESTED
        with pytest.raises(PermissionDenied):  # another branch may not cancel it
            services.reservation_cancel(actor=bases.worker_a2, reservation=r, now=late)
        services.reservation_cancel(actor=bases.manager, reservation=r, reason="场地临时占用", now=late)
    assert refresh(r).status == S.CANCELLED and r.note == "场地临时占用"
    r2 = book(bases, bases.slot, d.branch_a1, bases.worker_a1)  # cancelled: the branch may book again
    with system_scope("test"):
        services.reservation_cancel(actor=bases.worker_a1, reservation=r2,
                                    now=bases.slot.start - dt.timedelta(hours=25))
    assert refresh(r2).status == S.CANCELLED
    assert services.places_held(bases.slot) == 0


def test_check_in_on_the_day_with_the_real_number(bases):
    d = bases.district
    r = book(bases, bases.slot, d.branch_a1, bases.worker_a1, people=8)
    day = bases.slot.date
    with system_scope("test"):
        with pytest.raises(Conflict):  # not approved yet
            services.reservation_check_in(actor=bases.manager, reservation=r, attended=8, now=local(day, 9))
        services.reservation_approve(actor=bases.manager, reservation=r)
        with pytest.raises(ValidationFailed) as e:
            services.reservation_check_in(actor=bases.manager, reservation=r, attended=8,
                                          now=local(day - dt.timedelta(days=1), 9))
        assert "预约当天" in e.value.fields["reservation"][0]
        for bad in (0, 11):
            with pytest.raises(ValidationFailed) as e:
                services.reservation_check_in(actor=bases.manager, reservation=r, attended=bad, now=local(day, 9))
            assert e.value.fields["attended"][0].startswith("实到人数：")
        with pytest.raises(PermissionDenied):
            services.reservation_check_in(actor=bases.worker_a1, reservation=r, attended=7, now=local(day, 9))
        services.reservation_check_in(actor=bases.manager, reservation=r, attended=7, now=local(day, 9, 5))
    r = refresh(r)
    assert (r.status, r.attended) == (S.CHECKED_IN, 7)
    assert AuditEntry.objects.get(action="bases.reservation.checked_in").changes == {"people": 8, "attended": 7}


def test_no_show_only_after_the_slot_starts(bases):
    r = book(bases, bases.slot, bases.district.branch_a1, bases.worker_a1)
    with system_scope("test"):
        services.reservation_approve(actor=bases.manager, reservation=r)
        with pytest.raises(ValidationFailed):
            services.reservation_no_show(actor=bases.manager, reservation=r, now=local(bases.slot.date, 8))
        services.reservation_no_show(actor=bases.manager, reservation=r, now=local(bases.slot.date, 10))
    assert refresh(r).status == S.NO_SHOW and r.attended == 0


def test_rejection_needs_a_reason(bases):
    r = book(bases, bases.slot, bases.district.branch_a1, bases.worker_a1)
    with system_scope("test"):
        with pytest.raises(ValidationFailed) as e:
            services.reservation_reject(actor=bases.manager, reservation=r, reason="")
        assert "退回原因" in e.value.fields["reason"][0]
        services.reservation_reject(actor=bases.manager, reservation=r, reason="当天已有接待任务")
    assert refresh(r).status == S.REJECTED
    assert "当天已有接待任务" in Notification.unscoped.get(kind="bases.decided").body


# --- waiting list ---------------------------------------------------------------------------------------

def _full_slot_with_queue(bases):
    """a1 holds 8 of 10 places; a2 (4 people) and b1 (2 people) queue in that order."""
    d = bases.district
    first = book(bases, bases.slot, d.branch_a1, bases.worker_a1, people=8)
    a2 = book(bases, bases.slot, d.branch_a2, bases.worker_a2, people=4, waitlist=True)
    b1 = book(bases, bases.slot, d.branch_b1, bases.worker_b1, people=2, waitlist=True)
    return first, a2, b1


def test_a_full_slot_queues_on_the_waiting_list_in_order(bases):
    first, a2, b1 = _full_slot_with_queue(bases)
    assert (a2.status, b1.status) == (S.WAITING, S.WAITING)
    assert services.places_held(bases.slot) == 8  # the waiting list holds nothing
    # b1 would fit into the 2 free places, but a2 queued first: nobody jumps the queue
    assert not Notification.unscoped.filter(kind="bases.offer").exists()


def test_freed_places_are_offered_in_order_with_a_deadline(bases, settings):
    settings.DANGJIAN_BASES = {"offer_response_hours": 12}
    first, a2, b1 = _full_slot_with_queue(bases)
    now = bases.slot.start - dt.timedelta(days=2)
    with system_scope("test"):
        services.reservation_cancel(actor=bases.worker_a1, reservation=first, now=now)
    a2, b1 = refresh(a2), refresh(b1)
    assert a2.status == S.OFFERED and a2.offer_expires_at == now + dt.timedelta(hours=12)
    assert b1.status == S.OFFERED  # 10 free: 4 for a2, then 2 for b1
    offers = Notification.unscoped.filter(kind="bases.offer").order_by("user_id")
    assert [n.user_id for n in offers] == sorted([bases.worker_a2.pk, bases.worker_b1.pk])
    assert "请于" in offers[0].body
    assert services.places_held(bases.slot) == 6  # offers hold their places until the deadline


def test_an_offer_is_accepted_before_its_deadline_only(bases):
    first, a2, b1 = _full_slot_with_queue(bases)
    now = bases.slot.start - dt.timedelta(days=2)
    with system_scope("test"):
        services.reservation_cancel(actor=bases.worker_a1, reservation=first, now=now)
        a2, b1 = refresh(a2), refresh(b1)
        services.reservation_accept(actor=bases.worker_a2, reservation=a2, now=now + dt.timedelta(hours=1))
        with pytest.raises(ValidationFailed) as e:
            services.reservation_accept(actor=bases.worker_b1, reservation=b1, now=b1.offer_expires_at
                                        + dt.timedelta(minutes=1))
    assert "答复期限" in e.value.fields["reservation"][0]
    assert refresh(a2).status == S.REQUESTED  # the base asks for approval, as for a direct booking
    assert refresh(b1).status == S.OFFERED


def test_the_job_expires_lapsed_offers_and_moves_on_to_the_next_in_line(bases, settings):
    settings.DANGJIAN_BASES = {"offer_response_hours": 6}
    d = bases.district
    first = book(bases, bases.slot, d.branch_a1, bases.worker_a1, people=10)
    a2 = book(bases, bases.slot, d.branch_a2, bases.worker_a2, people=10, waitlist=True)
    b1 = book(bases, bases.slot, d.branch_b1, bases.worker_b1, people=10, waitlist=True)
    now = bases.slot.start - dt.timedelta(days=2)
    with system_scope("test"):
        services.reservation_cancel(actor=bases.worker_a1, reservation=first, now=now)
    assert (refresh(a2).status, refresh(b1).status) == (S.OFFERED, S.WAITING)
    assert jobs.waiting_list_offers(now=now + dt.timedelta(hours=5)) == 0  # a2 still has an hour
    assert jobs.waiting_list_offers(now=now + dt.timedelta(hours=6, minutes=1)) == 1
    assert (refresh(a2).status, refresh(b1).status) == (S.EXPIRED, S.OFFERED)
    assert Notification.unscoped.filter(kind="bases.offer", user=bases.worker_b1).count() == 1
    assert jobs.waiting_list_offers(now=now + dt.timedelta(hours=6, minutes=2)) == 0  # idempotent
    with system_scope("test"), pytest.raises(Conflict) as e:
        services.reservation_accept(actor=bases.worker_a2, reservation=a2, now=now + dt.timedelta(hours=7))
    assert "候补已失效" in e.value.message


def test_the_offer_deadline_never_passes_the_slot_start_and_the_queue_lapses_when_the_slot_starts(bases):
    d = bases.district
    first = book(bases, bases.slot, d.branch_a1, bases.worker_a1, people=10)
    a2 = book(bases, bases.slot, d.branch_a2, bases.worker_a2, people=10, waitlist=True)
    b1 = book(bases, bases.slot, d.branch_b1, bases.worker_b1, people=10, waitlist=True)
    now = bases.slot.start - dt.timedelta(hours=2)
    with system_scope("test"):
        services.reservation_cancel(actor=bases.manager, reservation=first, now=now)
    assert refresh(a2).offer_expires_at == bases.slot.start
    assert jobs.waiting_list_offers(now=bases.slot.start + dt.timedelta(minutes=1)) == 0
    assert (refresh(a2).status, refresh(b1).status) == (S.EXPIRED, S.EXPIRED)


def test_declining_an_offer_passes_it_on(bases):
    d = bases.district
    first = book(bases, bases.slot, d.branch_a1, bases.worker_a1, people=10)
    a2 = book(bases, bases.slot, d.branch_a2, bases.worker_a2, people=10, waitlist=True)
    b1 = book(bases, bases.slot, d.branch_b1, bases.worker_b1, people=10, waitlist=True)
    now = bases.slot.start - dt.timedelta(days=2)
    with system_scope("test"):
        services.reservation_cancel(actor=bases.worker_a1, reservation=first, now=now)
        services.reservation_cancel(actor=bases.worker_a2, reservation=refresh(a2), now=now)
    assert (refresh(a2).status, refresh(b1).status) == (S.CANCELLED, S.OFFERED)


def test_a_booking_does_not_jump_a_waiting_list(bases):
    d = bases.district
    first, a2, _ = _full_slot_with_queue(bases)
    with system_scope("test"):
        services.reservation_cancel(actor=bases.worker_a1, reservation=first,
                                    now=bases.slot.start - dt.timedelta(days=2))
    # a2 and b1 hold 6 places on offer; 4 are free and nobody waits: a direct booking takes them
    from dangjian.testing import make_org
    c = make_org(d.committee_a, "丙社区党支部", "branch")
    r = book(bases, bases.slot, c, bases.manager, people=4)
    assert r.status == S.REQUESTED
    with pytest.raises(ValidationFailed):
        book(bases, bases.slot, d.branch_a1, bases.worker_a1, people=1)


# --- after the visit ------------------------------------------------------------------------------------

def test_a_visit_becomes_the_branchs_meeting_record(bases):
    from dangjian.meetings.models import Meeting

    r = book(bases, bases.slot, bases.district.branch_a1, bases.worker_a1)
    with system_scope("test"):
        services.reservation_approve(actor=bases.manager, reservation=r)
        with pytest.raises(Conflict):
            services.reservation_to_meeting(actor=bases.worker_a1, reservation=r)
        services.reservation_check_in(actor=bases.manager, reservation=r, attended=5,
                                      now=local(bases.slot.date, 9))
        with pytest.raises(PermissionDenied):  # the base may not write the branch's record
            services.reservation_to_meeting(actor=bases.worker_a2, reservation=r)
        meeting = services.reservation_to_meeting(actor=bases.worker_a1, reservation=r)
        with pytest.raises(Conflict):
            services.reservation_to_meeting(actor=bases.worker_a1, reservation=r)
        m = Meeting.objects.get(pk=meeting.pk)
    assert m.organization_id == bases.district.branch_a1.pk
    assert m.starts_at == bases.slot.start and bases.site.name in m.place
    assert m.kind_codes == ["theme_day"]
    assert refresh(r).meeting_id == m.pk


def test_when_the_head_of_the_queue_leaves_the_next_one_is_offered(bases):
    """a1 holds 8; a2 waits for 4 (does not fit into 2), b1 waits for 2 behind it. a2 gives up: b1 is offered."""
    first, a2, b1 = _full_slot_with_queue(bases)
    with system_scope("test"):
        services.reservation_cancel(actor=bases.worker_a2, reservation=a2)
    assert refresh(b1).status == S.OFFERED


def test_free_places_behind_a_queue_are_not_taken_by_a_direct_booking(bases):
    _full_slot_with_queue(bases)  # 2 places free, a2 (4 people) waits first
    from dangjian.testing import make_org
    c = make_org(bases.district.committee_a, "丙社区党支部", "branch")
    with pytest.raises(ValidationFailed) as e:
        book(bases, bases.slot, c, bases.manager, people=2)
    assert "先按顺序递补给候补" in e.value.fields["people"][0]
    r = book(bases, bases.slot, c, bases.manager, people=2, waitlist=True)
    assert r.status == S.WAITING


def test_an_offer_inside_the_cancellation_cut_off_can_still_be_declined_and_passes_on(bases, settings):
    """Review item 1: the cut-off protects the base's preparation for a real booking; an offer is not one.
    The manager cancels 10 h before the start, a2 is offered, a2 declines, b1 gets the places."""
    settings.DANGJIAN_BASES = {"cancel_cutoff_hours": 24}
    d = bases.district
    first = book(bases, bases.slot, d.branch_a1, bases.worker_a1, people=10)
    a2 = book(bases, bases.slot, d.branch_a2, bases.worker_a2, people=10, waitlist=True)
    b1 = book(bases, bases.slot, d.branch_b1, bases.worker_b1, people=10, waitlist=True)
    now = bases.slot.start - dt.timedelta(hours=10)
    with system_scope("test"):
        services.reservation_cancel(actor=bases.manager, reservation=first, reason="支部临时有任务", now=now)
        assert refresh(a2).status == S.OFFERED
        services.reservation_cancel(actor=bases.worker_a2, reservation=refresh(a2), reason="人员不齐",
                                    now=now + dt.timedelta(hours=1))
    assert (refresh(a2).status, refresh(b1).status) == (S.CANCELLED, S.OFFERED)
    assert Notification.unscoped.filter(kind="bases.offer", user=bases.worker_b1).count() == 1
    assert AuditEntry.objects.get(action="bases.reservation.cancelled", target_id=str(a2.pk)).changes["by"] == "预约党组织"
    # a real booking inside the cut-off is still the base's to cancel
    r = book(bases, bases.slot_on(3), d.branch_a2, bases.worker_a2)
    with system_scope("test"), pytest.raises(ValidationFailed) as e:
        services.reservation_cancel(actor=bases.worker_a2, reservation=r, now=r.slot.start - dt.timedelta(hours=10))
    assert "不足24小时" in e.value.fields["reservation"][0]


def test_the_job_expiring_a_queue_does_not_load_each_entrys_branch_and_slot(bases):
    """Review item 6: the audit label of each expired entry names its branch and slot; they come with the
    locked rows (one query), not one by one (fatal on PostgreSQL with a long queue)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dangjian.testing import make_org

    d = bases.district
    book(bases, bases.slot, d.branch_a1, bases.worker_a1, people=10)
    queued = [book(bases, bases.slot, make_org(d.committee_a, f"候补党支部{i}", "branch"), bases.manager,
                   people=2, waitlist=True) for i in range(4)]
    with CaptureQueriesContext(connection) as ctx:
        assert jobs.waiting_list_offers(now=bases.slot.start + dt.timedelta(minutes=1)) == 0
    assert all(refresh(r).status == S.EXPIRED for r in queued)
    selects = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("SELECT")]
    assert [q for q in selects if 'FROM "orgs_organization"' in q] == []
    assert len([q for q in selects if 'FROM "bases_slot" WHERE "bases_slot"."id" =' in q]) == 1  # the lock
    labels = AuditEntry.objects.filter(action="bases.reservation.expired").values_list("target_label", flat=True)
    assert sorted(labels) == sorted(f"候补党支部{i} {bases.slot}" for i in range(4))


def test_a_bases_bookings_follow_its_managing_organisation_when_it_moves(bases):
    """The reservation keeps a copy of the base's path (site_path): a move of the managing organisation
    rewrites it like every other path copy, so the base's side keeps seeing its bookings."""
    from dangjian.core.actors import SYSTEM
    from dangjian.orgs.services import organization_move
    from dangjian.testing import acting_as

    from ..selectors import reservations_visible

    d = bases.district
    site = make_site(d.branch_a2)
    r = book(bases, make_slot(site, timezone.localdate() + dt.timedelta(days=4)), d.branch_a1, bases.worker_a1)
    old_path = d.branch_a2.path
    with system_scope("test"):
        moved = organization_move(actor=SYSTEM, org=d.branch_a2, new_parent=d.committee_b)
    r.refresh_from_db()
    assert r.site_path == moved.path != old_path
    with acting_as(bases.worker_a2):
        assert list(reservations_visible().values_list("pk", flat=True)) == [r.pk]
