"""orgs.tallies.roll_up: every delta lands on its own path and on every ancestor, whatever the order of the
deltas, and what cancels out stays zero."""

from __future__ import annotations

import random

import pytest

from dangjian.dues.models import DuesTally
from dangjian.members.models import MemberTally
from dangjian.orgs.models import SEGMENT
from dangjian.orgs.tallies import ancestor_paths, roll_up


def walked_up(deltas, width):
    """The definition: each delta added to its path and each ancestor's, one by one."""
    out: dict[tuple, list[int]] = {}
    for path, key, sums in deltas:
        for p in ancestor_paths(path):
            acc = out.setdefault((p, *key), [0] * width)
            for i, v in enumerate(sums):
                acc[i] += v
    return {k: v for k, v in out.items() if any(v)}


def random_path(rng) -> str:
    return "".join(f"{rng.randrange(1, 4):0{SEGMENT}d}" for _ in range(rng.randrange(1, 5)))


@pytest.mark.parametrize("seed", range(5))
def test_roll_up_equals_walking_each_delta_up(seed):
    rng = random.Random(seed)
    deltas = [(random_path(rng), ("gender", rng.choice("mf")), (rng.choice([1, 1, 2, -1]),)) for _ in range(300)]
    deltas += [("", ("gender", "m"), (5,))]  # a member who left the roster counts nowhere
    got = {k: v for k, v in roll_up(MemberTally, deltas).items() if any(v)}
    assert got == walked_up(deltas, 1) and len(got) > 20


def test_roll_up_adds_several_sums_and_cancels_what_comes_back():
    width = len(DuesTally.ScopeMeta.tally_sums)
    key = tuple(f"k{i}" for i in range(len(DuesTally.ScopeMeta.tally_keys)))
    plus, minus = tuple(range(1, width + 1)), tuple(-v for v in range(1, width + 1))
    deltas = [("00010002", key, plus), ("00010003", key, plus), ("00010002", key, minus)]
    got = roll_up(DuesTally, deltas)
    assert not any(got[("00010002", *key)])
    assert got[("00010003", *key)] == list(plus) and got[("0001", *key)] == list(plus)
