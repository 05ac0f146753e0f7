"""The roster's services, selectors and the one validator of member data."""

import datetime as dt
import json
import re

import pytest
from django.db import connection

from dangjian.accounts.models import User
from dangjian.audit.models import AuditEntry
from dangjian.core import crypto
from dangjian.core.actors import SYSTEM
from dangjian.core.errors import NotFound, PermissionDenied, ValidationFailed
from dangjian.core.validators import build_id_number, id_check_char, parse_id_number
from dangjian.members.forms import MemberForm, form_errors
from dangjian.members.models import Member, MembershipPeriod
from dangjian.members.selectors import MemberFilters, access_member, member_list
from dangjian.members.services import member_create, member_move, member_reveal, member_update
from dangjian.orgs.models import Organization, OrgKind
from dangjian.orgs.services import organization_dissolve, organization_move
from dangjian.testing import MemberDataFactory, acting_as, make_org

TODAY = dt.date(2026, 11, 29)
CJK = re.compile(r"[\u4e00-\u9fff]")


def _id_with_x() -> str:
    """A valid number whose check character is X."""
    for n in range(500):
        number = build_id_number("110105", dt.date(1975, 6, 1), n, "female")
        if number.endswith("X"):
            return number
    raise AssertionError("no X within 500 sequence numbers")


def _data(org, **kw):
    """Cleaned member data as MemberForm would hand it to the service, for the organisation object given."""
    data = MemberDataFactory(**{k: v for k, v in kw.items() if k in ("born", "sex")})
    data.update({k: v for k, v in kw.items() if k not in ("born", "sex")})
    info = parse_id_number(data["id_number"])
    data.setdefault("birth_date", info.birth_date)
    data.setdefault("gender", info.gender)
    data["organization"] = org
    return data


def _counts():
    return Member.unscoped.count(), MembershipPeriod.unscoped.count(), AuditEntry.objects.count()


# --- create ---------------------------------------------------------------------------------------------


def test_create_writes_member_period_and_a_masked_audit_entry(district):
    number, phone = build_id_number("110105", dt.date(1980, 1, 1), 7, "male"), "13912345678"
    before = _counts()
    data = _data(district.branch_a2, id_number=number, phone=phone, born=dt.date(1980, 1, 1), sex="male",
                 joined_on=dt.date(2005, 7, 1), confirmed_on=dt.date(2006, 7, 1))
    m = member_create(actor=district.users["committee_admin"], data=data)
    assert _counts() == (before[0] + 1, before[1] + 1, before[2] + 1)
    (period,) = MembershipPeriod.unscoped.filter(member=m)
    assert (period.organization_id, period.org_path, period.start, period.end) == (
        district.branch_a2.pk, district.branch_a2.path, dt.date(2005, 7, 1), None)
    assert (m.org_path, m.joined_month_day, m.id_number_masked, m.phone_masked) == (
        district.branch_a2.path, 701, number[:6] + "********" + number[-4:], "139****5678")
    (entry,) = AuditEntry.objects.filter(action="members.member.created", target_id=str(m.pk))
    assert entry.actor_id == district.users["committee_admin"].pk
    assert entry.changes["id_number"] == m.id_number_masked and entry.changes["phone"] == "139****5678"
    dumped = json.dumps(entry.changes, ensure_ascii=False) + entry.target_label
    assert number not in dumped and phone not in dumped
    # the masked form hides the birth date; the entry must not hand it over next to the mask
    assert "19800101" not in dumped.replace("-", "")


def test_since_sets_the_start_of_the_first_period(district):
    m = member_create(actor=SYSTEM, data=_data(district.branch_a1, joined_on=dt.date(2001, 7, 1),
                                               confirmed_on=dt.date(2002, 7, 1)), since=dt.date(2020, 3, 1))
    assert MembershipPeriod.unscoped.get(member=m).start == dt.date(2020, 3, 1)


def test_id_number_and_phone_are_stored_encrypted(district):
    number, phone = build_id_number("110105", dt.date(1970, 3, 3), 11, "male"), "13800001111"
    m = member_create(actor=SYSTEM, data=_data(district.branch_a1, id_number=number, phone=phone,
                                               born=dt.date(1970, 3, 3), sex="male"))
    with connection.cursor() as cur:
        cur.execute("SELECT * FROM members_member WHERE id = %s", [m.pk])
        row = " ".join(str(v) for v in cur.fetchone())
    assert number not in row and phone not in row
    assert number[6:14] + number[14:] not in row  # not even the part the mask hides
    assert crypto.decrypt(m.id_number_encrypted) == number
    assert crypto.decrypt(m.phone_encrypted) == phone
    assert m.id_number_digest == crypto.lookup_digest(number)


@pytest.fixture
def searchable(district):
    number = build_id_number("110105", dt.date(1970, 3, 3), 11, "male")
    x_number = _id_with_x()
    m = member_create(actor=SYSTEM, data=_data(district.branch_a1, name="赵六", id_number=number,
                                               phone="13800001111", born=dt.date(1970, 3, 3), sex="male"))
    mx = member_create(actor=SYSTEM, data=_data(district.branch_b1, name="钱七", id_number=x_number,
                                                born=dt.date(1975, 6, 1), sex="female"))
    return district, m, number, mx, x_number


def _found(user, q):
    with acting_as(user):
        return [m.pk for m in member_list(filters=MemberFilters(q=q))]


def test_search_by_id_number_phone_and_name(searchable):
    d, m, number, mx, x_number = searchable
    admin = d.users["district_admin"]
    assert _found(admin, number) == [m.pk]
    assert _found(admin, f" {number} ") == [m.pk]
    assert _found(admin, number[:6] + number[8:17]) == [m.pk]  # the 15-digit legacy form
    assert _found(admin, x_number) == [mx.pk]
    assert _found(admin, x_number.lower()) == [mx.pk]
    assert _found(admin, "13800001111") == [m.pk]
    assert _found(admin, "赵") == [m.pk]
    assert _found(admin, "赵六") == [m.pk]
    assert _found(admin, number[:-1] + ("0" if number[-1] != "0" else "1")) == []  # wrong check digit
    assert _found(admin, "13800001112") == []


def test_search_stays_inside_the_scope(searchable):
    d, m, number, mx, x_number = searchable
    assert _found(d.users["committee_admin"], x_number) == []  # 钱七 sits in B1
    assert _found(d.users["committee_admin"], number) == [m.pk]
    assert _found(d.users["security_admin"], number) == []


# --- duplicates -----------------------------------------------------------------------------------------


def test_a_duplicate_id_number_is_refused_even_outside_the_scope(district):
    d = district
    existing = d.member_b1  # in 党委B, outside the committee admin's subtree
    number = crypto.decrypt(existing.id_number_encrypted)
    before = _counts()
    with pytest.raises(ValidationFailed) as exc:
        member_create(actor=d.users["committee_admin"], data=_data(d.branch_a1, id_number=number))
    assert "身份证号" in exc.value.fields["id_number"][0]
    assert CJK.search(exc.value.message)
    assert _counts() == before


def test_update_to_a_taken_id_number_is_refused(district):
    d = district
    taken = crypto.decrypt(d.member_b1.id_number_encrypted)
    m = Member.unscoped.get(pk=d.member_a2.pk)
    before_row = Member.unscoped.filter(pk=m.pk).values().get()
    audits = AuditEntry.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        member_update(actor=d.users["committee_admin"], member=m, data={"id_number": taken, "work_unit": "新单位"})
    assert "身份证号" in exc.value.fields["id_number"][0]
    assert Member.unscoped.filter(pk=m.pk).values().get() == before_row
    assert AuditEntry.objects.count() == audits


def test_updating_with_the_own_id_number_is_fine(district):
    m = Member.unscoped.get(pk=district.member_a2.pk)
    own = crypto.decrypt(m.id_number_encrypted)
    member_update(actor=SYSTEM, member=m, data={"id_number": own})
    assert crypto.decrypt(Member.unscoped.get(pk=m.pk).id_number_encrypted) == own


def test_create_in_a_dissolved_organisation_is_refused(district):
    empty = make_org(district.committee_a, "已撤销支部", OrgKind.BRANCH)
    organization_dissolve(actor=SYSTEM, org=empty, on=dt.date(2026, 1, 1))
    before = _counts()
    with pytest.raises(ValidationFailed) as exc:
        member_create(actor=SYSTEM, data=_data(empty))
    assert "已撤销" in exc.value.fields["organization"][0]
    assert _counts() == before


def test_create_outside_the_scope_is_refused(district):
    before = _counts()
    with pytest.raises(PermissionDenied):
        member_create(actor=district.users["committee_admin"], data=_data(district.branch_b1))
    with pytest.raises(PermissionDenied):
        member_create(actor=district.users["security_admin"], data=_data(district.branch_a1))
    assert _counts() == before


# --- the form -------------------------------------------------------------------------------------------


def _form_data(org, **overrides):
    data = MemberDataFactory(born=dt.date(1990, 5, 17), sex="male")
    data.update(organization=org.pk, gender="", birth_date="")
    data.update(overrides)
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in data.items() if v is not None}


def _form(district, org=None, **overrides):
    with acting_as(district.users["district_admin"]):
        form = MemberForm(_form_data(org or district.branch_a1, **overrides),
                          organizations=Organization.objects.all(), today=TODAY)
        form.is_valid()
    return form


def test_a_valid_form_takes_birth_date_and_gender_from_the_id_number(district):
    form = _form(district, phone="+86 139-1234-5678", id_number=build_id_number("110105", dt.date(1990, 5, 17), 3,
                                                                                 "male").lower())
    assert form.is_valid(), form.errors
    c = form.cleaned_data
    assert (c["birth_date"], c["gender"], c["phone"]) == (dt.date(1990, 5, 17), "male", "13912345678")
    assert c["organization"].pk == district.branch_a1.pk


def _bad_check(number):
    return number[:17] + ("0" if number[17] != "0" else "1")


def _impossible_date():
    first17 = "110105" + "19900230" + "011"
    return first17 + id_check_char(first17)


GOOD = build_id_number("110105", dt.date(1990, 5, 17), 5, "male")

FORM_FAILURES = [
    ("bad-check-digit", {"id_number": _bad_check(GOOD)}, "id_number", "校验位"),
    ("impossible-date", {"id_number": _impossible_date()}, "id_number", "不存在"),
    ("bad-province", {"id_number": "99" + GOOD[2:17] + id_check_char("99" + GOOD[2:17])}, "id_number", "省级"),
    ("gender-mismatch", {"id_number": GOOD, "gender": "female"}, "gender", "性别"),
    ("birth-date-mismatch", {"id_number": GOOD, "birth_date": dt.date(1990, 5, 18)}, "birth_date", "不一致"),
    ("under-18-at-joining", {"id_number": GOOD, "joined_on": dt.date(2008, 5, 16), "confirmed_on": dt.date(2009, 5, 16)},
     "joined_on", "18"),
    ("full-without-confirmed", {"status": "full", "confirmed_on": None}, "confirmed_on", "转正日期"),
    ("probationary-with-confirmed", {"status": "probationary", "confirmed_on": dt.date(2020, 1, 1)},
     "confirmed_on", "预备党员"),
    ("confirmed-before-joined", {"joined_on": dt.date(2015, 7, 1), "confirmed_on": dt.date(2015, 6, 30)},
     "confirmed_on", "不能早于入党日期"),
    ("joined-in-the-future", {"joined_on": TODAY + dt.timedelta(days=1), "status": "probationary",
                              "confirmed_on": None}, "joined_on", "不能晚于今天"),
    ("bad-phone", {"phone": "12345678901"}, "phone", "11位"),
    ("iot-phone", {"phone": "1440000000000"}, "phone", "11位"),
]


@pytest.mark.parametrize("overrides, field, text", [f[1:] for f in FORM_FAILURES], ids=[f[0] for f in FORM_FAILURES])
def test_form_failures_name_the_field_in_chinese(district, overrides, field, text):
    form = _form(district, **overrides)
    assert not form.is_valid()
    assert set(form.errors) == {field}, form.errors
    message = form.errors[field][0]
    assert text in message and CJK.search(message)
    label = form.fields[field].label
    assert form_errors(form)[field][0].startswith(f"{label}：")


def test_under_18_is_measured_to_the_day(district):
    assert _form(district, id_number=GOOD, joined_on=dt.date(2008, 5, 17), confirmed_on=dt.date(2009, 5, 17)).is_valid()


def test_a_dissolved_organisation_is_refused_by_the_form(district):
    empty = make_org(district.committee_a, "已撤销支部", OrgKind.BRANCH)
    organization_dissolve(actor=SYSTEM, org=empty, on=dt.date(2026, 1, 1))
    form = _form(district, org=empty)
    assert set(form.errors) == {"organization"}
    assert "已撤销" in form.errors["organization"][0]


def test_the_form_refuses_an_organisation_outside_its_choices(district):
    with acting_as(district.users["committee_admin"]):
        form = MemberForm(_form_data(district.branch_b1), organizations=Organization.objects.all(), today=TODAY)
        assert not form.is_valid()
    assert set(form.errors) == {"organization"}


def test_form_is_importable_and_empty_without_organisations(district):
    form = MemberForm(_form_data(district.branch_a1), today=TODAY)  # no `organizations`: nothing to choose
    assert not form.is_valid() and set(form.errors) == {"organization"}


# --- update ---------------------------------------------------------------------------------------------


def test_update_audits_a_masked_diff(district):
    d = district
    m = Member.unscoped.get(pk=d.member_a1.pk)
    old_phone = crypto.decrypt(m.phone_encrypted)
    old_unit = m.work_unit
    member_update(actor=d.users["branch_worker"], member=m, data={"phone": "13700002222", "work_unit": "新单位",
                                                                  "name": m.name})
    (entry,) = AuditEntry.objects.filter(action="members.member.updated")
    assert entry.changes == {"phone": [old_phone[:3] + "****" + old_phone[-4:], "137****2222"],
                             "work_unit": [old_unit, "新单位"]}
    assert "13700002222" not in json.dumps(entry.changes) and old_phone not in json.dumps(entry.changes)
    assert crypto.decrypt(Member.unscoped.get(pk=m.pk).phone_encrypted) == "13700002222"


def test_update_records_a_birth_date_change_without_revealing_it(district):
    m = Member.unscoped.get(pk=district.member_a1.pk)
    old = m.birth_date
    member_update(actor=SYSTEM, member=m, data={"birth_date": old + dt.timedelta(days=1)})
    (entry,) = AuditEntry.objects.filter(action="members.member.updated")
    assert list(entry.changes) == ["birth_date"]
    dumped = json.dumps(entry.changes)
    assert old.isoformat() not in dumped and (old + dt.timedelta(days=1)).isoformat() not in dumped


def test_an_update_that_changes_nothing_writes_no_entry(district):
    m = Member.unscoped.get(pk=district.member_a1.pk)
    member_update(actor=SYSTEM, member=m, data={"name": m.name, "work_unit": m.work_unit})
    assert not AuditEntry.objects.filter(action="members.member.updated").exists()


def test_update_outside_the_scope_is_refused(district):
    m = Member.unscoped.get(pk=district.member_b1.pk)
    before = Member.unscoped.filter(pk=m.pk).values().get()
    with pytest.raises(PermissionDenied):
        member_update(actor=district.users["committee_admin"], member=m, data={"work_unit": "x"})
    assert Member.unscoped.filter(pk=m.pk).values().get() == before


def test_update_of_a_stale_object_keeps_the_current_path(district):
    """The member's branch moved after the object was loaded: saving it must not write the old path back."""
    d = district
    stale = Member.unscoped.get(pk=d.member_a1.pk)
    organization_move(actor=SYSTEM, org=d.branch_a1, new_parent=d.committee_b)
    member_update(actor=SYSTEM, member=stale, data={"work_unit": "新单位"})
    fresh = Member.unscoped.get(pk=d.member_a1.pk)
    assert fresh.org_path == Organization.unscoped.get(pk=d.branch_a1.pk).path
    assert fresh.work_unit == "新单位"


def test_update_with_a_new_organisation_is_a_move(district):
    d = district
    m = Member.unscoped.get(pk=d.member_a1.pk)
    member_update(actor=SYSTEM, member=m, data={"organization": d.branch_a2})
    periods = list(MembershipPeriod.unscoped.filter(member=m).order_by("start", "id"))
    assert [p.organization_id for p in periods] == [d.branch_a1.pk, d.branch_a2.pk]
    assert periods[0].end == periods[1].start
    assert Member.unscoped.get(pk=m.pk).org_path == d.branch_a2.path
    assert AuditEntry.objects.filter(action="members.member.moved", target_id=str(m.pk)).count() == 1


# --- move -----------------------------------------------------------------------------------------------


def test_move_closes_and_opens_periods_on_the_same_date(district):
    d = district
    on = dt.date(2025, 7, 1)
    member_move(actor=d.users["district_admin"], member=d.member_a1, to=d.branch_b1, on=on, reason="工作调动")
    old, new = MembershipPeriod.unscoped.filter(member=d.member_a1).order_by("start")
    assert (old.organization_id, old.end) == (d.branch_a1.pk, on)
    assert (new.organization_id, new.org_path, new.start, new.end, new.reason) == (
        d.branch_b1.pk, d.branch_b1.path, on, None, "工作调动")
    m = Member.unscoped.get(pk=d.member_a1.pk)
    assert (m.organization_id, m.org_path) == (d.branch_b1.pk, d.branch_b1.path)
    (entry,) = AuditEntry.objects.filter(action="members.member.moved")
    assert entry.changes == {"organization": ["甲社区党支部", "第一中学党支部"], "on": "2025-07-01", "reason": "工作调动"}


def test_move_before_the_current_period_is_refused(district):
    d = district
    start = MembershipPeriod.unscoped.get(member=d.member_a1).start
    before = _counts()
    with pytest.raises(ValidationFailed) as exc:
        member_move(actor=SYSTEM, member=d.member_a1, to=d.branch_a2, on=start - dt.timedelta(days=1))
    assert "调整日期" in exc.value.fields["on"][0]
    assert _counts() == before
    assert MembershipPeriod.unscoped.get(member=d.member_a1).end is None


def test_move_into_a_dissolved_organisation_is_refused(district):
    d = district
    empty = make_org(d.committee_a, "空支部", OrgKind.BRANCH)
    organization_dissolve(actor=SYSTEM, org=empty, on=dt.date(2026, 1, 1))
    before = _counts()
    with pytest.raises(ValidationFailed) as exc:
        member_move(actor=SYSTEM, member=d.member_a1, to=empty, on=dt.date(2026, 2, 1))
    assert "已撤销" in exc.value.fields["organization"][0]
    assert _counts() == before


def test_move_to_the_same_organisation_changes_nothing(district):
    before = _counts()
    member_move(actor=SYSTEM, member=district.member_a1, to=district.branch_a1, on=dt.date(2026, 1, 1))
    assert _counts() == before


@pytest.mark.parametrize("to", ["branch_b1", "committee_b"])
def test_move_out_of_the_scope_is_refused(district, to):
    d = district
    before = _counts()
    with pytest.raises(PermissionDenied):
        member_move(actor=d.users["committee_admin"], member=d.member_a1, to=getattr(d, to), on=dt.date(2026, 1, 1))
    with pytest.raises(PermissionDenied):  # nor may a worker pull a member in from outside
        member_move(actor=d.users["committee_admin"], member=d.member_b1, to=d.branch_a1, on=dt.date(2026, 1, 1))
    assert _counts() == before
    assert Member.unscoped.get(pk=d.member_a1.pk).org_path == d.branch_a1.path


def test_move_into_an_organisation_known_by_a_stale_object(district):
    """The target branch moved after its object was loaded: the member must get the branch's current path."""
    d = district
    stale_b1 = Organization.unscoped.get(pk=d.branch_b1.pk)
    organization_move(actor=SYSTEM, org=d.committee_b, new_parent=d.committee_a)
    member_move(actor=SYSTEM, member=d.member_a2, to=stale_b1, on=dt.date(2026, 1, 1))
    b1_path = Organization.unscoped.get(pk=d.branch_b1.pk).path
    assert Member.unscoped.get(pk=d.member_a2.pk).org_path == b1_path
    assert MembershipPeriod.unscoped.get(member=d.member_a2, end=None).org_path == b1_path


def test_create_in_an_organisation_known_by_a_stale_object(district):
    d = district
    stale_b1 = Organization.unscoped.get(pk=d.branch_b1.pk)
    organization_move(actor=SYSTEM, org=d.committee_b, new_parent=d.committee_a)
    m = member_create(actor=SYSTEM, data=_data(stale_b1))
    b1_path = Organization.unscoped.get(pk=d.branch_b1.pk).path
    assert Member.unscoped.get(pk=m.pk).org_path == b1_path
    assert MembershipPeriod.unscoped.get(member=m).org_path == b1_path


# --- reveal and access ----------------------------------------------------------------------------------


@pytest.mark.parametrize("field, column", [("id_number", "id_number_encrypted"), ("phone", "phone_encrypted")])
def test_reveal_returns_the_value_and_is_audited(district, field, column):
    d = district
    m = Member.unscoped.get(pk=d.member_a2.pk)
    value = member_reveal(actor=d.users["committee_admin"], member=m, field=field)
    assert value == crypto.decrypt(getattr(m, column)) and value
    (entry,) = AuditEntry.objects.filter(action="members.member.revealed")
    assert entry.actor_id == d.users["committee_admin"].pk and entry.target_id == str(m.pk)
    assert entry.changes == {"field": {"id_number": "身份证号", "phone": "手机号码"}[field]}
    assert value not in json.dumps(entry.changes, ensure_ascii=False)


@pytest.mark.parametrize("role", ["branch_worker", "security_admin", "audit_admin", "system_admin", "nobody"])
def test_reveal_without_the_capability_is_refused(district, role):
    before = AuditEntry.objects.filter(action="members.member.revealed").count()
    with pytest.raises(PermissionDenied):
        member_reveal(actor=district.users[role], member=district.member_a1, field="id_number")
    assert AuditEntry.objects.filter(action="members.member.revealed", success=True).count() == before


def test_reveal_outside_the_subtree_is_refused(district):
    with pytest.raises(PermissionDenied):
        member_reveal(actor=district.users["committee_admin"], member=district.member_b1, field="phone")


def test_a_member_may_reveal_their_own_data_only(district):
    d = district
    me = User.objects.get(pk=d.users["member"].pk)
    own = member_reveal(actor=me, member=d.member_a1, field="id_number")
    assert own == crypto.decrypt(d.member_a1.id_number_encrypted)
    assert AuditEntry.objects.filter(action="members.member.revealed", actor=me).count() == 1
    with pytest.raises(PermissionDenied):
        member_reveal(actor=me, member=d.member_a2, field="id_number")


def test_reveal_of_an_unknown_field_is_refused(district):
    with pytest.raises(ValidationFailed) as exc:
        member_reveal(actor=SYSTEM, member=district.member_a1, field="address")
    assert "字段" in exc.value.fields["field"][0]
    assert not AuditEntry.objects.filter(action="members.member.revealed").exists()


def test_access_member_answers_404_outside_the_scope(district):
    d = district
    with acting_as(d.users["committee_admin"]):
        assert access_member(actor=d.users["committee_admin"], member_id=d.member_a1.pk).pk == d.member_a1.pk
        with pytest.raises(NotFound):
            access_member(actor=d.users["committee_admin"], member_id=d.member_b1.pk)
    with acting_as(d.users["member"]):
        assert access_member(actor=d.users["member"], member_id=d.member_a1.pk).pk == d.member_a1.pk
        with pytest.raises(NotFound):
            access_member(actor=d.users["member"], member_id=d.member_a2.pk)
        with pytest.raises(PermissionDenied):  # sees own record, may not edit it as a worker would
            access_member(actor=d.users["member"], member_id=d.member_a1.pk, for_write=True)
