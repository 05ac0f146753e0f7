import datetime as dt

import pytest

from dangjian.testing import make_user

TODAY = dt.date(2026, 11, 2)


@pytest.fixture
def b_admin(district):
    """A worker over the receiving 党委 (区教育局党委)."""
    return make_user("committee_b", role="committee_admin", org=district.committee_b)


@pytest.fixture
def within(district):
    """A submitted transfer of 张三 from 支部A1 to 支部B1, started and submitted by the branch worker."""
    from dangjian.transfers import services

    t = services.transfer_create(actor=district.users["branch_worker"], member=district.member_a1, kind="within",
                                 to_org=district.branch_b1, reason="工作调动", on=TODAY)
    return services.transfer_submit(actor=district.users["branch_worker"], transfer=t, on=TODAY)


@pytest.fixture
def approved(district, within):
    from dangjian.transfers import services

    return services.transfer_approve(actor=district.users["committee_admin"], transfer=within, on=TODAY)
