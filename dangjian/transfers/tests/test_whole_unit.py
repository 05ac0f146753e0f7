"""整建制转接: an organisation moves under another 党委 with its members, in one transaction."""

import pytest
from django.urls import reverse

from dangjian.core.actors import SYSTEM
from dangjian.core.errors import PermissionDenied, ValidationFailed
from dangjian.core.scoping import system_scope
from dangjian.members.models import Member
from dangjian.members.selectors import member_count_as_of
from dangjian.orgs.models import Organization
from dangjian.testing import PASSWORD
from dangjian.transfers import services
from dangjian.transfers.models import Transfer

from .conftest import TODAY


def test_a_branch_moves_with_its_members(district):
    d = district
    with system_scope("test"):
        before_b = member_count_as_of(org=d.committee_b, on=TODAY)
    t = services.transfer_whole_unit(actor=d.users["district_admin"], unit=d.branch_a2, to_parent=d.committee_b,
                                     reason="隶属关系调整", on=TODAY)
    assert t.kind == "whole_unit" and t.status == "closed" and t.unit_members == 1
    a2 = Organization.unscoped.get(pk=d.branch_a2.pk)
    assert a2.parent_id == d.committee_b.pk
    assert Member.unscoped.get(pk=d.member_a2.pk).org_path == a2.path
    with system_scope("test"):
        assert member_count_as_of(org=d.committee_b, on=TODAY) == before_b + 1
    assert [e.action for e in t.events.all()] == ["whole_unit"]


def test_whole_unit_refusals_change_nothing(district):
    d = district
    paths = lambda: list(Organization.unscoped.order_by("pk").values_list("path", flat=True))  # noqa: E731
    before = paths()
    with pytest.raises(PermissionDenied):  # a grant on the sender only is not enough
        services.transfer_whole_unit(actor=d.users["committee_admin"], unit=d.branch_a2, to_parent=d.committee_b)
    with pytest.raises(ValidationFailed) as e:
        services.transfer_whole_unit(actor=d.users["district_admin"], unit=d.branch_a2, to_parent=d.committee_a)
    assert "已隶属于" in e.value.fields["to_org"][0]
    services.transfer_create(actor=SYSTEM, member=d.member_a2, kind="out", to_external="外省", on=TODAY)
    with pytest.raises(ValidationFailed) as e:
        services.transfer_whole_unit(actor=d.users["district_admin"], unit=d.branch_a2, to_parent=d.committee_b)
    assert "正在办理" in e.value.fields["unit"][0]
    assert paths() == before
    assert not Transfer.unscoped.filter(kind="whole_unit").exists()


def test_the_whole_unit_page(client, district):
    assert client.login(username="district", password=PASSWORD)
    assert client.get(reverse("transfers:whole_unit")).status_code == 200
    response = client.post(reverse("transfers:whole_unit"), {"unit": district.branch_a2.pk,
                                                             "to_parent": district.committee_b.pk})
    assert response.status_code == 302
    assert "整建制" in client.get(response["Location"]).content.decode()
