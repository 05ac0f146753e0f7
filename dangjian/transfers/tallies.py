"""接转汇总 (`TransferTally`): the counters behind the transfer statistics (selectors.transfer_statistics).

Per organisation (its whole subtree, the `orgs.tallies` mechanism), measure, day and duration, how many
transfers of the counted kinds (区内转接, 转出本区, 从区外转入):

- `out` / `into` / `within`  day = submitted: a transfer started that day whose sender only / receiver only /
                             both sides lie in the subtree (流向);
- `done`                     day = completed (accepted, or for 转出本区 the receipt without an acceptance),
                             `days` = submitted → completed, NO_DAYS without a submission date (办结, 办理天数);
- `pending`                  day = submitted: open and not yet accepted now (在办); its age on any day is
                             computed from the day when read.

A transfer has two parties, so its counters are not one row's path rolled up. It adds +1 along the chain of
each side's path; below the sides' deepest common ancestor the chains are disjoint, and from it upwards both
sides lie in the subtree: there the `out` and `into` of the two chains become one `within`, and the union
measures (`done`, `pending`) count once (`contribution`).

Kept up to date by the transfer services in the action's own transaction: the counters of the transfer as it
was when locked are replaced by those of the transfer as it is recorded (`retally`). A subtree that moves
recomputes the transfers touching it (`move_deltas`). `manage.py rebuild_transfer_tallies [--check]`
recomputes everything from the transfers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.db import router, transaction

from dangjian.core.scoping import subtree_bounds
from dangjian.orgs import tallies
from dangjian.orgs.models import SEGMENT

from .models import COUNTED_KINDS, OPEN, Side, Transfer, TransferKind, TransferParty, TransferTally

OUT, INTO, WITHIN, DONE, PENDING = "out", "into", "within", "done", "pending"
FLOWS = (OUT, INTO, WITHIN)
NO_DAYS = -1  # completed, but never submitted here (a letter from outside registered without a date)

# the values of a transfer the counters depend on, in this order (`Facts`)
FIELDS = ("kind", "status", "submitted_on", "accepted_on", "closed_on")
Facts = tuple  # (kind, status, submitted_on, accepted_on, closed_on, sender path or None, receiver path or None)


def common_ancestor(a: str, b: str) -> str | None:
    """The deepest organisation path both `a` and `b` lie under (either of them itself), None if none."""
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    n -= n % SEGMENT
    return a[:n] or None


def contribution(facts: Facts) -> list[tallies.Delta]:
    """The deltas one transfer adds (orgs.tallies: each rolled up to every ancestor of its path)."""
    kind, status, submitted, accepted, closed, sender, receiver = facts
    if kind not in COUNTED_KINDS:
        return []
    common = common_ancestor(sender, receiver) if sender and receiver else None
    out: list[tallies.Delta] = []

    def once(key: tuple) -> None:  # +1 on the union of both chains
        out.extend((path, key, (1,)) for path in (sender, receiver) if path)
        if common:
            out.append((common, key, (-1,)))

    if submitted is not None:
        if sender:
            out.append((sender, (OUT, submitted, 0), (1,)))
        if receiver:
            out.append((receiver, (INTO, submitted, 0), (1,)))
        if common:
            out += [(common, (OUT, submitted, 0), (-1,)), (common, (INTO, submitted, 0), (-1,)),
                    (common, (WITHIN, submitted, 0), (1,))]
    done_on = accepted or (closed if kind == TransferKind.OUT else None)
    if done_on is not None:
        once((DONE, done_on, (done_on - submitted).days if submitted is not None else NO_DAYS))
    if status in OPEN and submitted is not None:
        once((PENDING, submitted, 0))
    return out


def facts_of(transfer) -> Facts:
    """The transfer's counted values and its parties' paths as stored now (one query)."""
    paths = dict(TransferParty.unscoped.filter(transfer_id=transfer.pk).values_list("side", "org_path"))
    return (*(getattr(transfer, f) for f in FIELDS), paths.get(Side.SENDER), paths.get(Side.RECEIVER))


def retally(before: Facts | None, after: Facts) -> int:
    """Replace a transfer's counters as they were (`before`, None for a new one) by what they are now, in the
    caller's transaction."""
    return tallies.tally_replace(TransferTally, contribution(before) if before is not None else [], contribution(after))


# --- A subtree moves ---------------------------------------------------------------------------------------


def move_deltas(path: str, old_parent_path: str | None, new_parent_path: str, new_path: str) -> list[tallies.Delta]:
    """The organisation at `path` moves to `new_path` under another parent (orgs.services.organization_move,
    called before the parties' paths are rewritten). Each transfer with a side in the moved subtree loses its
    counters as they were and gains them as they will be, outside the subtree only: the subtree's own rows
    move with their paths unchanged (which sides lie below an organisation inside it does not change), so a
    delta at a path inside it is counted from the subtree's parent, old or new, upwards."""
    lo, hi = subtree_bounds(path)

    def moved(p: str | None) -> str | None:
        return new_path + p[len(path):] if p is not None and lo <= p < hi else p

    def outside(deltas: Iterable[tallies.Delta], inside: str, parent: str | None, sign: int) -> Iterator[tallies.Delta]:
        for p, key, sums in deltas:
            if p.startswith(inside):
                if parent is None:  # a root moved: nothing above it
                    continue
                p = parent
            yield p, key, tuple(sign * v for v in sums)

    out: list[tallies.Delta] = []
    for facts in _facts(touching=(lo, hi)):
        *values, sender, receiver = facts
        out += outside(contribution(facts), path, old_parent_path, -1)
        out += outside(contribution((*values, moved(sender), moved(receiver))), new_path, new_parent_path, +1)
    return out


# --- Recomputation and the consistency check ---------------------------------------------------------------


def _facts(*, touching: tuple[str, str] | None = None, transfer_model=None, party_model=None,
           using: str | None = None) -> Iterator[Facts]:
    """Every counted transfer's facts (system work, unscoped), or those with a side in a path range."""
    transfers = (transfer_model or Transfer)._base_manager.db_manager(using)
    parties = (party_model or TransferParty)._base_manager.db_manager(using)
    counted = transfers.filter(kind__in=COUNTED_KINDS)
    if touching is not None:
        lo, hi = touching
        counted = counted.filter(pk__in=parties.filter(org_path__gte=lo, org_path__lt=hi).values("transfer_id"))
        # Locked first, in one order, then read: an action on one of them (services._lock) waits for the move
        # or the move for it, so neither counts from the other's state half-way.
        list(counted.select_for_update().order_by("pk").values_list("pk"))
    sides: dict[int, dict[str, str]] = {}
    party_rows = parties.filter(transfer__in=counted.values("pk"))
    for tid, side, path in party_rows.values_list("transfer_id", "side", "org_path").iterator(chunk_size=10_000):
        sides.setdefault(tid, {})[side] = path
    for tid, *values in counted.values_list("pk", *FIELDS).iterator(chunk_size=10_000):
        paths = sides.get(tid, {})
        yield (*values, paths.get(Side.SENDER), paths.get(Side.RECEIVER))


def expected_transfer_tallies(**source) -> dict:
    """{(org_path, measure, day, days): [count]} recomputed from every transfer."""
    return tallies.roll_up(TransferTally, (d for facts in _facts(**source) for d in contribution(facts)))


def rebuild_transfer_tallies(*, using: str | None = None, **source) -> int:
    """Truncate and recompute every counter from the transfers. Returns the number of counter rows."""
    using = using or router.db_for_write(TransferTally)
    with transaction.atomic(using=using):
        return tallies.replace_all(TransferTally, expected_transfer_tallies(using=using, **source), using=using)


def transfer_tally_differences() -> dict:
    """{(org_path, measure, day, days): (stored, expected)} wherever they differ; {} when consistent."""
    return tallies.differences(TransferTally, expected_transfer_tallies())
