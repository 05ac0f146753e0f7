"""A member leaves the district's roster (转出本区, 取消预备党员资格 …) and may come back: one person, one record."""

import datetime as dt

import pytest

from dangjian.audit.models import AuditEntry
from dangjian.core.errors import ValidationFailed
from dangjian.core.scoping import system_scope
from dangjian.members import selectors
from dangjian.members.models import LEFT_PATH, LeaveReason, Member, MembershipPeriod
from dangjian.members.services import id_number_taken, member_create, member_leave
from dangjian.members.tallies import tally_differences
from dangjian.testing import acting_as, make_member

pytestmark = pytest.mark.django_db
ON = dt.date(2026, 3, 1)


def test_leaving_takes_the_member_off_every_list_and_count_but_keeps_the_record(district):
    admin = district.users["district_admin"]
    m = district.member_b1
    with acting_as(admin):
        before = selectors.member_status_counts(org=district.root)
    member_leave(actor=admin, member=m, on=ON, reason=LeaveReason.TRANSFERRED_OUT)
    m.refresh_from_db()
    assert (m.org_path, m.left_on, m.left_reason) == (LEFT_PATH, ON, "transferred_out")
    assert m.organization == district.branch_b1  # the last organisation is kept
    with acting_as(admin):
        assert not Member.objects.filter(pk=m.pk).exists()
        after = selectors.member_status_counts(org=district.root)
    assert sum(after.values()) == sum(before.values()) - 1
    assert tally_differences() == {}
    period = MembershipPeriod.unscoped.get(member=m)
    assert (period.end, period.org_path) == (ON, district.branch_b1.path)  # the history stays where it was
    with acting_as(admin):  # counted in its branch on the day before, not on the day
        assert selectors.member_count_as_of(org=district.branch_b1, on=ON - dt.timedelta(days=1)) == 1
        assert selectors.member_count_as_of(org=district.branch_b1, on=ON) == 0
    entry = AuditEntry.objects.get(action="members.member.left")
    assert entry.changes["reason"] == "组织关系转出本区" and entry.target_id == str(m.pk)
    assert not id_number_taken_by(m)


def id_number_taken_by(member):
    from dangjian.core import crypto

    with system_scope("test"):
        number = crypto.decrypt(Member.unscoped.get(pk=member.pk).id_number_encrypted)
    return id_number_taken(number)


@pytest.mark.parametrize(("on", "reason", "field"), [
    (dt.date(1990, 1, 1), LeaveReason.DECEASED, "on"),  # before the member came into the branch
    (ON, "emigrated", "reason"),
])
def test_a_bad_leave_is_refused_and_changes_nothing(district, on, reason, field):
    admin = district.users["district_admin"]
    with pytest.raises(ValidationFailed) as e:
        member_leave(actor=admin, member=district.member_b1, on=on, reason=reason)
    assert field in e.value.fields
    district.member_b1.refresh_from_db()
    assert district.member_b1.left_on is None and district.member_b1.org_path == district.branch_b1.path
    assert not AuditEntry.objects.filter(action="members.member.left").exists()


def test_leaving_twice_is_refused(district):
    admin = district.users["district_admin"]
    member_leave(actor=admin, member=district.member_b1, on=ON, reason=LeaveReason.DECEASED)
    with pytest.raises(ValidationFailed, match="已减少"):
        member_leave(actor=admin, member=district.member_b1, on=ON, reason=LeaveReason.DECEASED)


def test_a_worker_of_another_branch_cannot_take_a_member_off(district):
    from dangjian.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        member_leave(actor=district.users["branch_worker"], member=district.member_b1, on=ON,
                     reason=LeaveReason.DECEASED)
    district.member_b1.refresh_from_db()
    assert district.member_b1.left_on is None


def test_a_person_who_left_and_comes_back_gets_their_record_back(district):
    admin = district.users["district_admin"]
    m = make_member(district.branch_b1, name="赵六")
    member_leave(actor=admin, member=m, on=ON, reason=LeaveReason.TRANSFERRED_OUT)
    from dangjian.core import crypto

    number = crypto.decrypt(Member.unscoped.get(pk=m.pk).id_number_encrypted)
    data = {"organization": district.branch_a1, "name": "赵六", "id_number": number, "phone": "",
            "gender": m.gender, "birth_date": m.birth_date, "ethnicity": "01", "education": "21",
            "occupation": "worker", "status": "full", "joined_on": m.joined_on, "confirmed_on": m.confirmed_on,
            "standing": "normal", "is_mobile": False, "is_lost_contact": False}
    with pytest.raises(ValidationFailed) as e:  # not before the day they left
        member_create(actor=admin, data=data, since=ON - dt.timedelta(days=1))
    assert "on" in e.value.fields
    back = member_create(actor=admin, data=data, since=dt.date(2026, 6, 1))
    assert back.pk == m.pk and back.left_on is None and back.org_path == district.branch_a1.path
    assert back.occupation == "worker"
    periods = list(MembershipPeriod.unscoped.filter(member=m).order_by("start").values_list("org_path", "start", "end"))
    assert periods[-1] == (district.branch_a1.path, dt.date(2026, 6, 1), None) and periods[0][2] == ON
    assert tally_differences() == {}
    assert AuditEntry.objects.filter(action="members.member.rejoined", target_id=str(m.pk)).exists()


def test_the_account_of_a_member_who_left_sees_only_their_own_record(district):
    from dangjian.accounts.middleware import scope_for_user

    user = district.users["member"]
    member_leave(actor=district.users["district_admin"], member=district.member_a1, on=ON,
                 reason=LeaveReason.TRANSFERRED_OUT)
    user.refresh_from_db()
    active = scope_for_user(user)
    assert active.member_id == district.member_a1.pk
    assert "" not in active.directory_paths  # the empty path would open the whole organisation directory
    with acting_as(user):
        assert list(Member.objects.values_list("pk", flat=True)) == [district.member_a1.pk]
