"""Every transition and refusal of the transfer workflow, through the real services."""

import datetime as dt

import pytest

from dangjian.audit.models import AuditEntry
from dangjian.core.actors import SYSTEM
from dangjian.core.errors import Conflict, PermissionDenied, RuleViolation, ValidationFailed
from dangjian.core.scoping import system_scope
from dangjian.members.models import Member, MembershipPeriod
from dangjian.members.selectors import member_count_as_of
from dangjian.notifications.models import Notification
from dangjian.orgs.models import OrgKind
from dangjian.orgs.services import organization_dissolve
from dangjian.testing import MemberDataFactory, acting_as, make_member, make_org
from dangjian.transfers import services
from dangjian.transfers.models import LetterCounter, Transfer, TransferEvent, TransferStatus

from .conftest import TODAY

S = TransferStatus


def snapshot():
    """Everything a refused action must leave as it was."""
    with system_scope("test"):
        return (list(Transfer.unscoped.order_by("pk").values()), TransferEvent.objects.count(),
                list(Member.unscoped.order_by("pk").values_list("pk", "organization_id")),
                list(MembershipPeriod.unscoped.order_by("pk").values_list("pk", "end")),
                AuditEntry.objects.count(), Notification.unscoped.count(), list(LetterCounter.objects.values()))


def refused(exc, fn, *, field=None, text=None):
    before = snapshot()
    with pytest.raises(exc) as info:
        fn()
    assert snapshot() == before, "a refusal must change nothing"
    if field:
        assert field in info.value.fields, info.value.fields
        assert info.value.fields[field][0], info.value.fields
    if text:
        assert text in info.value.message or any(text in m for ms in info.value.fields.values() for m in ms)
    return info.value


def test_the_whole_within_district_path(district, within, b_admin):
    d = district
    assert within.status == S.SUBMITTED and within.submitted_on == TODAY
    assert within.sender_committee == d.committee_a and within.receiver_committee == d.committee_b
    t = services.transfer_approve(actor=d.users["committee_admin"], transfer=within, valid_days=20, on=TODAY)
    assert t.status == S.APPROVED
    assert t.letter_number == "甲街道党工委组转〔2026〕第001号"
    assert t.valid_until == TODAY + dt.timedelta(days=20)
    day = TODAY + dt.timedelta(days=3)
    t = services.transfer_accept(actor=b_admin, transfer=t, on=day)
    assert t.status == S.ACCEPTED
    member = Member.unscoped.get(pk=d.member_a1.pk)
    assert member.organization == d.branch_b1
    t = services.transfer_place(actor=b_admin, transfer=t, branch=d.branch_b1, on=day)
    assert t.status == S.PLACED and t.placed_org == d.branch_b1
    t = services.transfer_close(actor=d.users["committee_admin"], transfer=t, on=day + dt.timedelta(days=2))
    assert t.status == S.CLOSED
    events = list(TransferEvent.objects.filter(transfer=t).values_list("action", "to_status", "actor_label"))
    assert [e[0] for e in events] == ["create", "submit", "approve", "accept", "place", "close"]
    assert events[3][2] == "committee_b"  # attributed to the real actor, not the system that moved the member
    actions = set(AuditEntry.objects.filter(action__startswith="transfers.").values_list("action", flat=True))
    assert {"transfers.transfer.created", "transfers.transfer.submitted", "transfers.transfer.approved",
            "transfers.transfer.accepted", "transfers.transfer.placed", "transfers.transfer.closed"} <= actions
    accepted = AuditEntry.objects.get(action="transfers.transfer.accepted")
    assert accepted.actor_id == b_admin.pk


def test_acceptance_moves_history_on_the_same_date_and_counts_see_the_member_once(district, approved, b_admin):
    d = district
    day = TODAY + dt.timedelta(days=5)
    with system_scope("test"):
        before_a = member_count_as_of(org=d.committee_a, on=day)
        before_b = member_count_as_of(org=d.committee_b, on=day)
        total = member_count_as_of(org=d.root, on=day)
    services.transfer_accept(actor=b_admin, transfer=approved, on=day)
    periods = list(MembershipPeriod.unscoped.filter(member=d.member_a1).order_by("start", "id"))
    assert periods[-2].organization == d.branch_a1 and periods[-2].end == day
    assert periods[-1].organization == d.branch_b1 and periods[-1].start == day and periods[-1].end is None
    with system_scope("test"):
        assert member_count_as_of(org=d.committee_a, on=day - dt.timedelta(days=1)) == before_a
        assert member_count_as_of(org=d.committee_b, on=day - dt.timedelta(days=1)) == before_b
        assert member_count_as_of(org=d.committee_a, on=day) == before_a - 1
        assert member_count_as_of(org=d.committee_b, on=day) == before_b + 1
        assert member_count_as_of(org=d.root, on=day) == total


def test_the_member_stays_under_the_sender_until_accepted(district, approved):
    assert Member.unscoped.get(pk=district.member_a1.pk).organization == district.branch_a1


def test_the_member_can_start_and_submit_their_own_transfer(district):
    d = district
    t = services.transfer_create(actor=d.users["member"], member=d.member_a1, kind="out",
                                 to_external="某省某市某局机关党委", reason="异地工作", on=TODAY)
    t = services.transfer_submit(actor=d.users["member"], transfer=t, on=TODAY)
    assert t.status == S.SUBMITTED and t.created_by == d.users["member"]


def test_someone_elses_member_cannot_be_transferred(district):
    d = district
    refused(PermissionDenied, lambda: services.transfer_create(
        actor=d.users["member"], member=d.member_a2, kind="within", to_org=d.branch_b1, on=TODAY))
    refused(PermissionDenied, lambda: services.transfer_create(
        actor=d.users["branch_worker"], member=d.member_b1, kind="within", to_org=d.branch_a1, on=TODAY))


def test_refused_to_the_members_own_branch(district):
    refused(ValidationFailed, lambda: services.transfer_create(
        actor=district.users["branch_worker"], member=district.member_a1, kind="within", to_org=district.branch_a1,
        on=TODAY), field="to_org", text="当前所在")


def test_refused_to_a_dissolved_organisation(district):
    gone = make_org(district.committee_b, "已撤销党支部", OrgKind.BRANCH)
    organization_dissolve(actor=SYSTEM, org=gone, on=TODAY)
    gone.refresh_from_db()
    assert gone.is_dissolved
    refused(ValidationFailed, lambda: services.transfer_create(
        actor=district.users["branch_worker"], member=district.member_a1, kind="within", to_org=gone, on=TODAY),
        field="to_org", text="已撤销")


def test_refused_for_a_member_already_in_transfer(district, within):
    refused(ValidationFailed, lambda: services.transfer_create(
        actor=district.users["branch_worker"], member=district.member_a1, kind="out", to_external="外省某党委",
        on=TODAY), field="member", text="正在办理")


def test_refused_without_a_destination_or_with_a_bad_kind(district):
    d = district
    refused(ValidationFailed, lambda: services.transfer_create(
        actor=d.users["branch_worker"], member=d.member_a1, kind="within", to_org=None, on=TODAY), field="to_org")
    refused(ValidationFailed, lambda: services.transfer_create(
        actor=d.users["branch_worker"], member=d.member_a1, kind="out", to_external="  ", on=TODAY),
        field="to_external")
    refused(ValidationFailed, lambda: services.transfer_create(
        actor=d.users["branch_worker"], member=d.member_a1, kind="sideways", on=TODAY), field="kind")


def test_a_withdrawn_or_closed_transfer_frees_the_member(district, within):
    services.transfer_withdraw(actor=district.users["member"], transfer=within, on=TODAY)
    t = services.transfer_create(actor=district.users["branch_worker"], member=district.member_a1, kind="within",
                                 to_org=district.branch_a2, on=TODAY)
    assert t.status == S.DRAFT


def test_only_the_senders_committee_approves(district, within, b_admin):
    refused(PermissionDenied, lambda: services.transfer_approve(
        actor=district.users["branch_worker"], transfer=within, on=TODAY), text="转出党委")
    refused(PermissionDenied, lambda: services.transfer_approve(actor=b_admin, transfer=within, on=TODAY))


def test_validity_over_three_months_is_refused(district, within):
    e = refused(RuleViolation, lambda: services.transfer_approve(
        actor=district.users["committee_admin"], transfer=within, valid_days=120, on=TODAY), field="valid_days")
    assert "3个月" in e.message


def test_letter_numbers_count_per_committee_per_year(district, within):
    d = district
    t1 = services.transfer_approve(actor=d.users["committee_admin"], transfer=within, on=TODAY)
    other = services.transfer_create(actor=d.users["committee_admin"], member=d.member_a2, kind="out",
                                     to_external="外省某党委", on=TODAY)
    services.transfer_submit(actor=d.users["committee_admin"], transfer=other, on=TODAY)
    t2 = services.transfer_approve(actor=d.users["committee_admin"], transfer=other, on=TODAY)
    b = services.transfer_create(actor=d.users["district_admin"], member=d.member_b1, kind="out",
                                 to_external="外省某党委", on=TODAY)
    services.transfer_submit(actor=d.users["district_admin"], transfer=b, on=TODAY)
    t3 = services.transfer_approve(actor=d.users["district_admin"], transfer=b, on=dt.date(2027, 1, 4))
    assert t1.letter_number.endswith("第001号") and t2.letter_number.endswith("第002号")
    assert t3.letter_number == "区教育局党委组转〔2027〕第001号"


def test_acceptance_by_a_non_receiver_is_refused(district, approved):
    e = refused(PermissionDenied, lambda: services.transfer_accept(
        actor=district.users["committee_admin"], transfer=approved, on=TODAY))
    assert "接收方党委" in e.message and "区教育局党委" in e.message
    refused(PermissionDenied, lambda: services.transfer_accept(
        actor=district.users["member"], transfer=approved, on=TODAY))


def test_acceptance_after_the_letter_expired_is_refused(district, approved, b_admin):
    late = approved.valid_until + dt.timedelta(days=1)
    e = refused(RuleViolation, lambda: services.transfer_accept(actor=b_admin, transfer=approved, on=late),
                field="valid_until")
    assert "过期" in e.message


def test_expired_letters_are_reissued_with_a_new_number(district, approved, b_admin):
    late = approved.valid_until + dt.timedelta(days=1)
    assert services.transfer_expire(transfer=approved, on=approved.valid_until) is None  # still valid that day
    t = services.transfer_expire(transfer=approved, on=late)
    assert t.status == S.EXPIRED
    refused(Conflict, lambda: services.transfer_accept(actor=b_admin, transfer=t, on=late))
    t = services.transfer_reissue(actor=district.users["committee_admin"], transfer=t, on=late)
    assert t.status == S.APPROVED and t.letter_number.endswith("第002号")
    assert t.valid_until == late + dt.timedelta(days=30)
    assert services.transfer_accept(actor=b_admin, transfer=t, on=late).status == S.ACCEPTED


def test_returned_with_a_reason_tells_the_member_at_once_and_can_be_resubmitted(district, approved, b_admin):
    refused(ValidationFailed, lambda: services.transfer_return(actor=b_admin, transfer=approved, reason=" ", on=TODAY),
            field="reason")
    t = services.transfer_return(actor=b_admin, transfer=approved, reason="接收党组织名称有误", on=TODAY)
    assert t.status == S.RETURNED and t.return_reason == "接收党组织名称有误"
    note = Notification.unscoped.get(kind="transfers.returned")
    assert note.urgent and note.member_id == district.member_a1.pk and "接收党组织名称有误" in note.body
    t = services.transfer_submit(actor=district.users["member"], transfer=t, on=TODAY)
    assert t.status == S.SUBMITTED and t.return_reason == ""


def test_the_sender_returns_before_approval(district, within):
    t = services.transfer_return(actor=district.users["committee_admin"], transfer=within, reason="材料不全", on=TODAY)
    assert t.status == S.RETURNED


def test_illegal_transitions_are_refused_in_chinese(district, within, b_admin):
    e = refused(Conflict, lambda: services.transfer_accept(actor=b_admin, transfer=within, on=TODAY))
    assert "已提交" in e.message
    refused(Conflict, lambda: services.transfer_close(actor=district.users["committee_admin"], transfer=within,
                                                      on=TODAY))
    refused(Conflict, lambda: services.transfer_submit(actor=district.users["member"], transfer=within, on=TODAY))


def test_placing_only_in_a_branch_of_the_receiving_committee(district, approved, b_admin):
    d = district
    t = services.transfer_accept(actor=b_admin, transfer=approved, on=TODAY)
    refused(ValidationFailed, lambda: services.transfer_place(actor=b_admin, transfer=t, branch=d.branch_a2, on=TODAY),
            field="branch")
    refused(ValidationFailed, lambda: services.transfer_place(actor=b_admin, transfer=t, branch=d.committee_b,
                                                              on=TODAY), field="branch")
    b2 = make_org(d.committee_b, "第二中学党支部", OrgKind.BRANCH)
    t = services.transfer_place(actor=b_admin, transfer=t, branch=b2, on=TODAY)
    assert Member.unscoped.get(pk=d.member_a1.pk).organization == b2


def test_dues_paid_up_to_travels_with_the_transfer(district):
    from dangjian.dues import services as dues
    from dangjian.dues.rules import month_start

    d = district
    dues.assessment_set(actor=SYSTEM, member=d.member_a1, year=2026, category="employed", dues_base_fen=450_000,
                        paid_through=dt.date(2026, 9, 1), today=TODAY)
    t = services.transfer_create(actor=d.users["branch_worker"], member=d.member_a1, kind="within",
                                 to_org=d.branch_b1, on=TODAY)
    assert t.dues_paid_up_to == month_start(dt.date(2026, 9, 1))


def test_out_of_district_and_temporary_close_when_the_receipt_is_back(district):
    d = district
    t = services.transfer_create(actor=d.users["branch_worker"], member=d.member_a1, kind="temporary",
                                 to_external="某市某街道党工委", reason="短期外出学习", on=TODAY)
    services.transfer_submit(actor=d.users["branch_worker"], transfer=t, on=TODAY)
    t = services.transfer_approve(actor=d.users["committee_admin"], transfer=t, valid_days=150, on=TODAY)
    assert t.valid_until == TODAY + dt.timedelta(days=150)
    t = services.transfer_close(actor=d.users["committee_admin"], transfer=t, on=TODAY)
    assert t.status == S.CLOSED
    assert Member.unscoped.get(pk=d.member_a1.pk).organization == d.branch_a1


def test_an_out_of_district_transfer_closed_takes_the_member_off_the_roster(district):
    d = district
    t = services.transfer_create(actor=d.users["branch_worker"], member=d.member_a1, kind="out",
                                 to_external="某市某街道党工委", reason="工作调动", on=TODAY)
    services.transfer_submit(actor=d.users["branch_worker"], transfer=t, on=TODAY)
    t = services.transfer_approve(actor=d.users["committee_admin"], transfer=t, on=TODAY)
    assert Member.unscoped.get(pk=d.member_a1.pk).left_on is None  # still ours until the receipt is back
    services.transfer_close(actor=d.users["committee_admin"], transfer=t, on=TODAY)
    member = Member.unscoped.get(pk=d.member_a1.pk)
    assert (member.left_on, member.left_reason, member.org_path) == (TODAY, "transferred_out", "")
    with acting_as(d.users["committee_admin"]):
        assert not Member.objects.filter(pk=member.pk).exists()
    with acting_as(d.users["member"]):  # the member still sees their own record and the transfer
        assert Member.objects.filter(pk=member.pk).exists()
        assert Transfer.objects.filter(pk=t.pk).exists()


def test_into_the_district_registers_the_letter_then_accepts_as_a_new_member(district, b_admin):
    d = district
    data = MemberDataFactory(name="赵六")

    def register(**kw):
        args = dict(actor=b_admin, to_org=d.branch_b1, person_name="赵六", id_number=data["id_number"],
                    from_external="外省某大学党委", letter_number="外字〔2026〕18号",
                    valid_until=TODAY + dt.timedelta(days=20), dues_paid_up_to=dt.date(2026, 10, 1), on=TODAY)
        return services.transfer_register_incoming(**(args | kw))

    refused(RuleViolation, lambda: register(valid_until=TODAY - dt.timedelta(days=1)), field="valid_until")
    refused(ValidationFailed, lambda: register(id_number="123"), field="id_number")
    refused(ValidationFailed, lambda: register(id_number=None, person_name="", letter_number=""), field="letter_number")
    refused(PermissionDenied, lambda: register(actor=d.users["committee_admin"]))
    t = register()
    assert t.status == S.APPROVED and t.id_number_masked.startswith(data["id_number"][:6])
    refused(ValidationFailed, lambda: register(), field="id_number", text="正在办理")
    refused(ValidationFailed, lambda: services.transfer_accept(actor=b_admin, transfer=t, on=TODAY), field="member")
    from dangjian.members.forms import MemberForm
    from dangjian.orgs.models import Organization

    form = MemberForm(data=data | {"organization": d.branch_b1.pk}, organizations=Organization.unscoped.all())
    assert form.is_valid(), form.errors
    t = services.transfer_accept(actor=b_admin, transfer=t, member_data=form.cleaned_data, on=TODAY)
    assert t.status == S.ACCEPTED and t.member.organization == d.branch_b1 and t.member.name == "赵六"
    t = services.transfer_place(actor=b_admin, transfer=t, branch=d.branch_b1, on=TODAY)
    assert services.transfer_close(actor=b_admin, transfer=t, on=TODAY).status == S.CLOSED


def test_registering_a_member_already_in_the_district_is_refused(district, b_admin):
    from dangjian.core import crypto

    number = crypto.decrypt(Member.unscoped.get(pk=district.member_a1.pk).id_number_encrypted)
    refused(ValidationFailed, lambda: services.transfer_register_incoming(
        actor=b_admin, to_org=district.branch_b1, person_name="张三", id_number=number, from_external="外省",
        letter_number="1", valid_until=TODAY, on=TODAY), field="id_number", text="区内转接")


def test_the_receiver_sees_the_transfer_but_not_the_member_until_accepted(district, approved, b_admin):
    from dangjian.core.errors import NotFound
    from dangjian.members.selectors import access_member
    from dangjian.transfers.selectors import access_transfer

    d = district
    with acting_as(b_admin):
        seen = access_transfer(actor=b_admin, transfer_id=approved.pk)
        assert seen.person_name == "张三" and "*" in seen.id_number_masked
        with pytest.raises(NotFound):
            access_member(actor=b_admin, member_id=d.member_a1.pk)
    services.transfer_accept(actor=b_admin, transfer=approved, on=TODAY)
    with acting_as(b_admin):
        assert access_member(actor=b_admin, member_id=d.member_a1.pk).pk == d.member_a1.pk
    with acting_as(d.users["branch_worker"]):  # the sender keeps read access to the transfer afterwards
        assert access_transfer(actor=d.users["branch_worker"], transfer_id=approved.pk).pk == approved.pk
        with pytest.raises(NotFound):
            access_member(actor=d.users["branch_worker"], member_id=d.member_a1.pk)
    with acting_as(d.users["member"]):
        assert access_transfer(actor=d.users["member"], transfer_id=approved.pk).pk == approved.pk
    other = make_member(d.branch_a2)  # a sibling branch's transfer is invisible
    t2 = services.transfer_create(actor=SYSTEM, member=other, kind="out", to_external="外省", on=TODAY)
    with acting_as(d.users["branch_worker"]), pytest.raises(NotFound):
        access_transfer(actor=d.users["branch_worker"], transfer_id=t2.pk)
