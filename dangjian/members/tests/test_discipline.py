"""党纪处分: when a record is in effect (the sponsor and vote rules read it), the services' refusals, the
record following the member through moves, the member page's section and its scoping, the audit entries,
and the bulk lookup in one query."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from dangjian.audit.models import AuditEntry
from dangjian.core.actors import SYSTEM
from dangjian.core.errors import PermissionDenied, ValidationFailed
from dangjian.core.scoping import system_scope
from dangjian.members.models import Discipline, DisciplineKind
from dangjian.members.selectors import EXCLUSION, discipline_in_effect, members_under_discipline
from dangjian.members.services import discipline_record, discipline_update, member_move
from dangjian.orgs.services import organization_move
from dangjian.testing import acting_as, client_as, make_member, scoping_params

TODAY = dt.date(2026, 11, 29)
D = dt.date


def _record(member, today=TODAY, actor=SYSTEM, **data):
    data = {"kind": "warning", "decided_on": D(2026, 1, 10), "decided_by": "中共示范区纪委", **data}
    return discipline_record(actor=actor, member=member, data=data, today=today)


def _in_effect(member, on):
    with system_scope("test: read the rule"):
        return discipline_in_effect(member, on)


def _state():
    """What a refused write must leave as it was."""
    with system_scope("test: snapshot"):
        return (list(Discipline.unscoped.order_by("pk").values()),
                AuditEntry.objects.filter(action__startswith="members.discipline.", success=True).count())


# --- in effect ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["warning", "serious_warning", "removal_from_post"])
def test_a_timed_discipline_is_in_effect_to_its_last_day(district, kind):
    d = _record(district.member_a1, kind=kind, decided_on=D(2026, 1, 10), in_effect_until=D(2026, 7, 10))
    m = district.member_a1
    assert _in_effect(m, D(2026, 1, 9)) is None  # before the decision
    assert _in_effect(m, D(2026, 1, 10)) == d
    assert _in_effect(m, D(2026, 7, 10)) == d  # the last day of effect still counts
    assert _in_effect(m, D(2026, 7, 11)) is None


def test_a_timed_discipline_without_an_end_stays_in_effect(district):
    d = _record(district.member_a1, in_effect_until=None)
    assert _in_effect(district.member_a1, D(2030, 1, 1)) == d


def test_probation_lasts_until_rights_are_restored(district):
    d = _record(district.member_a1, kind="probation", decided_on=D(2025, 3, 1), in_effect_until=D(2026, 3, 1))
    m = district.member_a1
    # the end of the 察看期 alone restores nothing: only a recorded restoration does
    assert _in_effect(m, D(2026, 6, 1)) == d
    discipline_update(actor=SYSTEM, discipline=d, data={"rights_restored_on": D(2026, 3, 2)}, today=TODAY)
    assert _in_effect(m, D(2026, 3, 1)) == d  # the day before restoring
    assert _in_effect(m, D(2026, 3, 2)) is None  # restored from that day
    assert _in_effect(m, D(2025, 2, 28)) is None


def test_the_most_severe_discipline_in_effect_is_reported(district):
    _record(district.member_a1, kind="warning", decided_on=D(2026, 5, 1))
    probation = _record(district.member_a1, kind="probation", decided_on=D(2025, 1, 1))
    _record(district.member_a1, kind="serious_warning", decided_on=D(2026, 6, 1))
    assert _in_effect(district.member_a1, TODAY) == probation
    assert EXCLUSION[probation.kind] == ("受留党察看处分、尚未恢复党员权利，不能作入党介绍人",
                                         "《中国共产党发展党员工作细则》第十四条")


def test_every_kind_has_its_rule():
    assert set(EXCLUSION) == set(DisciplineKind.values)
    assert all(article.startswith("《中国共产党发展党员工作细则》") for _, article in EXCLUSION.values())


def test_members_under_discipline_is_one_query_for_twenty_members(district, django_assert_num_queries):
    members = [make_member(district.branch_a1) for _ in range(20)]
    for m in members[:5]:
        _record(m, kind="probation", decided_on=D(2024, 5, 1))
    _record(members[5], in_effect_until=D(2026, 2, 1))  # over by TODAY
    with acting_as(district.users["branch_worker"]):
        with django_assert_num_queries(1):
            found = members_under_discipline([m.pk for m in members], TODAY)
    assert set(found) == {m.pk for m in members[:5]}
    assert {d.kind for d in found.values()} == {"probation"}


def test_the_lookup_sees_only_the_scope(district):
    _record(district.member_a2, kind="probation")
    with acting_as(district.users["branch_worker"]):  # 支部A1's worker: A2 is outside
        assert members_under_discipline([district.member_a2.pk], TODAY) == {}
    with acting_as(district.users["committee_admin"]):
        assert set(members_under_discipline([district.member_a2.pk], TODAY)) == {district.member_a2.pk}


# --- services --------------------------------------------------------------------------------------------


def test_record_saves_the_row_in_the_members_organisation_and_audits_it(district):
    worker = district.users["branch_worker"]
    d = _record(district.member_a1, actor=worker, kind="probation", decided_on=D(2026, 3, 1),
                in_effect_until=D(2027, 3, 1), document_number="示纪〔2026〕3号", note=" 初犯 ")
    d.refresh_from_db()
    assert (d.member_id, d.org_path, d.created_by_id, d.note) == (
        district.member_a1.pk, district.branch_a1.path, worker.pk, "初犯")
    (entry,) = AuditEntry.objects.filter(action="members.discipline.recorded", target_id=str(d.pk))
    assert entry.actor_id == worker.pk and entry.success
    assert entry.changes["kind"] == "留党察看" and entry.changes["decided_on"] == "2026-03-01"
    assert entry.changes["in_effect_until"] == "2027-03-01" and entry.changes["rights_restored_on"] is None


REFUSALS = [
    ({"decided_on": TODAY + dt.timedelta(days=1)}, "decided_on", "处分日期：不能晚于今天"),
    ({"in_effect_until": D(2026, 1, 9)}, "in_effect_until", "影响期至：不能早于处分日期"),
    ({"rights_restored_on": D(2026, 2, 1)}, "rights_restored_on", "恢复党员权利日期：只适用于留党察看处分"),
    ({"kind": "probation", "rights_restored_on": D(2026, 1, 9)}, "rights_restored_on",
     "恢复党员权利日期：不能早于处分日期"),
    ({"kind": "probation", "rights_restored_on": TODAY + dt.timedelta(days=1)}, "rights_restored_on",
     "恢复党员权利日期：不能晚于今天"),
    ({"decided_by": "  "}, "decided_by", "作出处分的党组织：不能为空"),
    ({"kind": "expulsion"}, "kind", "处分种类：请选择警告、严重警告、撤销党内职务或留党察看"),
]


@pytest.mark.parametrize(("data", "field", "message"), REFUSALS)
def test_record_refusals_name_the_field_and_save_nothing(district, data, field, message):
    before = _state()
    with pytest.raises(ValidationFailed) as e:
        _record(district.member_a1, **data)
    assert e.value.fields == {field: [message]}
    assert _state() == before


def test_update_refusals_name_the_field_and_change_nothing(district):
    d = _record(district.member_a1, in_effect_until=D(2026, 7, 10))
    before = _state()
    with pytest.raises(ValidationFailed) as e:
        discipline_update(actor=SYSTEM, discipline=d, data={"rights_restored_on": D(2026, 8, 1)}, today=TODAY)
    assert e.value.fields == {"rights_restored_on": ["恢复党员权利日期：只适用于留党察看处分"]}
    with pytest.raises(ValidationFailed) as e:
        discipline_update(actor=SYSTEM, discipline=d, data={"in_effect_until": D(2025, 12, 31)}, today=TODAY)
    assert e.value.fields == {"in_effect_until": ["影响期至：不能早于处分日期"]}
    assert _state() == before


def test_restoring_rights_is_audited_as_a_diff(district):
    d = _record(district.member_a1, kind="probation", decided_on=D(2025, 3, 1))
    worker = district.users["branch_worker"]
    discipline_update(actor=worker, discipline=d, data={"rights_restored_on": D(2026, 3, 1)}, today=TODAY)
    (entry,) = AuditEntry.objects.filter(action="members.discipline.updated", target_id=str(d.pk))
    assert entry.actor_id == worker.pk
    assert entry.changes == {"rights_restored_on": [None, "2026-03-01"]}
    discipline_update(actor=worker, discipline=d, data={"rights_restored_on": D(2026, 3, 1)}, today=TODAY)
    assert AuditEntry.objects.filter(action="members.discipline.updated").count() == 1  # nothing changed


@pytest.mark.parametrize("role", ["branch_worker", "member", "nobody"])
def test_record_outside_the_actors_organisations_is_refused(district, role):
    before = _state()
    with pytest.raises(PermissionDenied):
        _record(district.member_a2, actor=district.users[role])  # 支部A2: the worker holds only 支部A1
    assert _state() == before


def test_update_without_the_capability_is_refused(district):
    d = _record(district.member_a2, kind="probation")
    before = _state()
    with pytest.raises(PermissionDenied):
        discipline_update(actor=district.users["branch_worker"], discipline=d,
                          data={"rights_restored_on": D(2026, 11, 1)}, today=TODAY)
    assert _state() == before


# --- the record follows the member ------------------------------------------------------------------------


def _path_of(d):
    with system_scope("test: read the path"):
        return Discipline.unscoped.get(pk=d.pk).org_path


def test_a_member_move_takes_the_records_along(district):
    d = _record(district.member_a1)
    member_move(actor=SYSTEM, member=district.member_a1, to=district.branch_a2, on=TODAY)
    assert _path_of(d) == district.branch_a2.path
    with acting_as(district.users["branch_worker"]):  # 支部A1's worker no longer sees it
        assert not Discipline.objects.filter(pk=d.pk).exists()


def test_an_organisation_move_rewrites_the_records_paths(district):
    d = _record(district.member_a1)
    organization_move(actor=SYSTEM, org=district.branch_a1, new_parent=district.committee_b)
    district.branch_a1.refresh_from_db()
    district.member_a1.refresh_from_db()
    assert _path_of(d) == district.branch_a1.path == district.member_a1.org_path
    assert district.branch_a1.path.startswith(district.committee_b.path)


# --- pages -------------------------------------------------------------------------------------------------

ROLES = ("anonymous", "district_admin", "committee_admin", "branch_worker", "member",
         "system_admin", "security_admin", "audit_admin")
LOGIN = 302
MEMBER = {"own": "member_a1", "sibling": "member_a2", "other": "member_b1"}
NOW = timezone.localdate()  # the pages check dates against the real today


def _day(days: int) -> str:
    return (NOW + dt.timedelta(days=days)).isoformat()


POST = {"kind": "serious_warning", "decided_on": _day(-30), "decided_by": "中共甲街道工委",
        "in_effect_until": _day(335), "document_number": "", "note": ""}


def _create_url(d, rel, rec):
    return reverse("members:discipline_create", args=[getattr(d, MEMBER[rel]).pk])


def _edit_url(d, rel, rec):
    return reverse("members:discipline_edit", args=[getattr(d, MEMBER[rel]).pk, rec[rel].pk])


#                                                       anon   dist comm work memb sys  sec  aud
CASES = [
    ("record", _create_url, "own", (LOGIN, 302, 302, 302, 403, 404, 404, 404)),
    ("record", _create_url, "sibling", (LOGIN, 302, 302, 404, 404, 404, 404, 404)),
    ("record", _create_url, "other", (LOGIN, 302, 404, 404, 404, 404, 404, 404)),
    ("update", _edit_url, "own", (LOGIN, 302, 302, 302, 403, 404, 404, 404)),
    ("update", _edit_url, "sibling", (LOGIN, 302, 302, 404, 404, 404, 404, 404)),
    ("update", _edit_url, "other", (LOGIN, 302, 404, 404, 404, 404, 404, 404)),
]


def _records(district):
    return {rel: _record(getattr(district, name), kind="probation", decided_on=D(2025, 6, 1))
            for rel, name in MEMBER.items()}


@pytest.mark.parametrize(("case", "role", "status"), list(scoping_params(CASES, ROLES)))
def test_discipline_writes_by_role(client, district, case, role, status):
    label, url, rel, _ = case
    rec = _records(district)
    data = POST if label == "record" else {"in_effect_until": _day(-10), "rights_restored_on": _day(-9)}
    before = _state()
    response = client_as(client, district, role).post(url(district, rel, rec), data)
    assert response.status_code == status
    done = status == 302 and role != "anonymous"
    after = _state()
    if not done:
        assert after == before
    elif label == "record":
        assert response["Location"] == reverse("members:detail", args=[getattr(district, MEMBER[rel]).pk])
        assert len(after[0]) == len(before[0]) + 1 and after[1] == before[1] + 1
    else:
        assert _in_effect(getattr(district, MEMBER[rel]), NOW) is None and after[1] == before[1] + 1


@pytest.mark.parametrize(("case", "role", "status"), list(scoping_params(CASES[3:], ROLES)))
def test_the_update_form_by_role(client, district, case, role, status):
    _, url, rel, _ = case
    rec = _records(district)
    response = client_as(client, district, role).get(url(district, rel, rec))
    assert response.status_code == (200 if status == 302 and role != "anonymous" else status)


def test_the_worker_sees_the_records_and_the_form(client, district):
    _record(district.member_a1, kind="probation", decided_on=D(2025, 6, 1), document_number="示纪〔2025〕9号")
    page = client_as(client, district, "branch_worker").get(
        reverse("members:detail", args=[district.member_a1.pk])).content.decode()
    assert "示纪〔2025〕9号" in page and "未恢复党员权利" in page and "记录党纪处分" in page


def test_the_member_sees_their_own_records_but_no_form(client, district):
    _record(district.member_a1, kind="probation", decided_on=D(2025, 6, 1), document_number="示纪〔2025〕9号")
    page = client_as(client, district, "member").get(reverse("members:me")).content.decode()
    assert "示纪〔2025〕9号" in page and "留党察看" in page
    assert "记录党纪处分" not in page
    assert reverse("members:discipline_create", args=[district.member_a1.pk]) not in page


def test_the_roster_list_never_shows_discipline(client, district):
    _record(district.member_a1, kind="probation", decided_on=D(2025, 6, 1))
    page = client_as(client, district, "branch_worker").get(reverse("members:list")).content.decode()
    assert district.member_a1.name in page and "留党察看" not in page


def test_a_refused_record_shows_the_field_message_on_the_page(client, district):
    before = _state()
    response = client_as(client, district, "branch_worker").post(
        reverse("members:discipline_create", args=[district.member_a1.pk]),
        {**POST, "decided_on": _day(-30), "in_effect_until": _day(-31)})
    assert response.status_code == 200
    assert "影响期至：不能早于处分日期" in response.content.decode()
    assert _state() == before
