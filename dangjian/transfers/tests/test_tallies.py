"""接转汇总 (TransferTally): kept by every transfer action and every move exactly as a recount from the transfers
gives it, and the statistics read from it equal the reference (test_statistics._reference)."""

import datetime as dt

import pytest
from django.core.management import CommandError, call_command

from dangjian.core.actors import SYSTEM
from dangjian.core.scoping import system_scope
from dangjian.members.forms import MemberForm
from dangjian.orgs.models import Organization, OrgKind
from dangjian.orgs.services import organization_move
from dangjian.testing import MemberDataFactory, make_member, make_org
from dangjian.transfers import selectors, services
from dangjian.transfers.models import TransferTally
from dangjian.transfers.tallies import common_ancestor, transfer_tally_differences

from .conftest import TODAY
from .test_statistics import PERIODS, _reference

day = dt.date


def consistent():
    """The counters kept so far equal a recount of every transfer."""
    with system_scope("test: the counters against a recount"):
        assert transfer_tally_differences() == {}


def statistics_as_the_reference(d):
    with system_scope("test: the statistics against the reference"):
        for org in Organization.unscoped.all():
            for start, end in PERIODS:
                got = selectors.transfer_statistics(org=org, start=start, end=end, on=TODAY)
                assert got == _reference(org=org, start=start, end=end, on=TODAY), (org.name, start, end)


def test_common_ancestor_is_the_deepest_shared_path():
    assert common_ancestor("0001000200030004", "000100020007") == "00010002"
    assert common_ancestor("00010002", "000100020003") == "00010002"  # one side above the other
    assert common_ancestor("00010002", "00010002") == "00010002"
    assert common_ancestor("00010002", "00020002") is None  # two trees
    assert common_ancestor("00010012", "00010013") == "0001"  # a shared character is not a shared organisation


@pytest.fixture
def history(district):
    """Every action of every counted kind, through the services, the counters checked after each one."""
    d = district
    d.branch_b2 = make_org(d.committee_b, "第二中学党支部", OrgKind.BRANCH)

    def within(branch, to, on):
        t = services.transfer_create(actor=SYSTEM, member=make_member(branch), kind="within", to_org=to, on=on)
        consistent()  # a draft counts nowhere
        return services.transfer_submit(actor=SYSTEM, transfer=t, on=on)

    # A1 → B1, approved, accepted, placed in B2 instead (the receiver's side moves), closed
    t = within(d.branch_a1, d.branch_b1, day(2026, 2, 1))
    for step in (lambda t: services.transfer_approve(actor=SYSTEM, transfer=t, on=day(2026, 2, 3)),
                 lambda t: services.transfer_accept(actor=SYSTEM, transfer=t, on=day(2026, 2, 10)),
                 lambda t: services.transfer_place(actor=SYSTEM, transfer=t, branch=d.branch_b2, on=day(2026, 2, 11)),
                 lambda t: services.transfer_close(actor=SYSTEM, transfer=t, on=day(2026, 2, 20))):
        consistent()
        t = step(t)
    consistent()
    # A2 → A1: returned, submitted again later (its start moves), withdrawn
    t = within(d.branch_a2, d.branch_a1, day(2026, 3, 1))
    t = services.transfer_return(actor=SYSTEM, transfer=t, reason="材料不全", on=day(2026, 3, 2))
    consistent()
    t = services.transfer_submit(actor=SYSTEM, transfer=t, on=day(2026, 3, 9))
    consistent()
    services.transfer_withdraw(actor=SYSTEM, transfer=t, on=day(2026, 3, 10))
    consistent()
    # B1 → A2: the letter expires, is issued again, accepted
    t = within(d.branch_b1, d.branch_a2, day(2026, 4, 1))
    t = services.transfer_approve(actor=SYSTEM, transfer=t, valid_days=1, on=day(2026, 4, 1))
    t = services.transfer_expire(transfer=t, on=day(2026, 4, 5))
    consistent()
    t = services.transfer_reissue(actor=SYSTEM, transfer=t, on=day(2026, 4, 6))
    services.transfer_accept(actor=SYSTEM, transfer=t, on=day(2026, 4, 8))
    consistent()
    # out of the district from A1, closed by its receipt; one still pending from B1
    t = services.transfer_create(actor=SYSTEM, member=make_member(d.branch_a1), kind="out", to_external="外省",
                                 on=day(2025, 12, 1))
    t = services.transfer_approve(actor=SYSTEM, transfer=services.transfer_submit(
        actor=SYSTEM, transfer=t, on=day(2025, 12, 1)), on=day(2025, 12, 2))
    services.transfer_close(actor=SYSTEM, transfer=t, on=day(2026, 1, 6))
    t = services.transfer_create(actor=SYSTEM, member=make_member(d.branch_b1), kind="out", to_external="外省",
                                 on=day(2026, 10, 1))
    services.transfer_submit(actor=SYSTEM, transfer=t, on=day(2026, 10, 1))
    consistent()
    # from outside the district into B1: registered, accepted, placed, closed
    data = MemberDataFactory(name="赵六")
    t = services.transfer_register_incoming(actor=SYSTEM, to_org=d.branch_b1, person_name="赵六",
                                            id_number=data["id_number"], from_external="外省某大学党委",
                                            letter_number="外字〔2026〕18号", valid_until=day(2026, 6, 1),
                                            on=day(2026, 5, 1))
    consistent()
    form = MemberForm(data=data | {"organization": d.branch_b1.pk}, organizations=Organization.unscoped.all())
    assert form.is_valid(), form.errors
    t = services.transfer_accept(actor=SYSTEM, transfer=t, member_data=form.cleaned_data, on=day(2026, 5, 4))
    t = services.transfer_place(actor=SYSTEM, transfer=t, branch=d.branch_b1, on=day(2026, 5, 5))
    services.transfer_close(actor=SYSTEM, transfer=t, on=day(2026, 5, 6))
    consistent()
    # pending ones inside 党委A and across to 党委B, for the moves below
    within(d.branch_a1, d.branch_a2, day(2026, 9, 1))
    within(d.branch_a2, d.branch_b2, day(2026, 10, 20))
    consistent()
    return d


def test_every_action_keeps_the_counters_as_a_recount_gives_them(history):
    assert TransferTally.unscoped.filter(org_path=history.root.path, measure="within").exists()
    statistics_as_the_reference(history)


def _own_counters(org):
    return {tuple(row[:3]): row[3] for row in TransferTally.unscoped.filter(org_path=org.path)
            .values_list("measure", "day", "days", "count")}


def test_a_moved_subtree_keeps_the_counters_as_a_recount_gives_them(history):
    """A branch moves to the other 党委: transfers between it and its old 党委 now cross, those with the new
    one no longer do. Its own counters move with it unchanged."""
    d = history
    year = dict(start=day(2026, 1, 1), end=day(2026, 12, 31), on=TODAY)
    with system_scope("test"):
        a = selectors.transfer_statistics(org=d.committee_a, **year)
    # A2 → A1 and A1 → A2 within; A1 → B1 and A2 → B2 out; B1 → A2 into
    assert (a.out, a.into, a.within) == (2, 1, 2)
    before = _own_counters(d.branch_a1)
    organization_move(actor=SYSTEM, org=d.branch_a1, new_parent=d.committee_b)
    consistent()
    d.branch_a1.refresh_from_db()
    assert _own_counters(d.branch_a1) == before and before
    statistics_as_the_reference(d)
    with system_scope("test"):
        a = selectors.transfer_statistics(org=d.committee_a, **year)
    # only A2 is left: A2 → A1 and A2 → B2 out; A1 → A2 and B1 → A2 into (A1 → B1 no longer touches 党委A)
    assert (a.out, a.into, a.within) == (2, 2, 0)


def test_a_whole_unit_transfer_moves_the_counters_too(history):
    """B2 (holding the member placed from A1, and receiving a pending one from A2) moves under 党委A."""
    d = history
    year = dict(start=day(2026, 1, 1), end=day(2026, 12, 31), on=TODAY)
    services.transfer_whole_unit(actor=d.users["district_admin"], unit=d.branch_b2, to_parent=d.committee_a,
                                 on=day(2026, 11, 1))
    consistent()
    statistics_as_the_reference(d)
    with system_scope("test"):
        a = selectors.transfer_statistics(org=d.committee_a, **year)
    # A1 → B1 (placed in B2) and A2 → B2 now within, besides A2 → A1 and A1 → A2; B1 → A2 still into
    assert (a.out, a.into, a.within) == (0, 1, 4)


def test_the_check_command_finds_a_counter_written_past_the_services_and_the_rebuild_mends_it(history):
    root = history.root.path
    TransferTally.unscoped.filter(org_path=root, measure="done").update(count=7)
    with pytest.raises(CommandError, match="接转汇总有 .* 处与组织关系转接记录不一致"):
        call_command("rebuild_transfer_tallies", "--check")
    call_command("rebuild_transfer_tallies")
    call_command("rebuild_transfer_tallies", "--check")
    consistent()


def test_overlapping_grants_read_the_counters_of_the_one_subtree_they_cover(history, django_assert_num_queries):
    """A worker over 党委A who is also the worker of A1 sees one subtree (党委A's): still one query on the
    counters, not the party rows, and the same numbers as a worker over 党委A alone."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dangjian.accounts.services import role_grant
    from dangjian.testing import acting_as, make_user

    d = history
    both = make_user("both", role="committee_admin", org=d.committee_a)
    role_grant(actor=SYSTEM, user=both, role="branch_worker", organization=d.branch_a1)
    year = dict(start=day(2026, 1, 1), end=day(2026, 12, 31), on=TODAY)
    with acting_as(d.users["committee_admin"]):
        alone = selectors.transfer_statistics(org=None, **year)
    with acting_as(both), CaptureQueriesContext(connection) as ctx:
        assert selectors.transfer_statistics(org=None, **year) == alone
        assert selectors.transfer_statistics(org=d.root, **year) == alone
    assert len(ctx.captured_queries) == 2 and all("transfertally" in q["sql"] for q in ctx.captured_queries)
