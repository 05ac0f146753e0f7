"""Shared fixtures: a small district with one user per role, and helpers to act as one of them.

Test bodies run with **no scope active**, like production code outside a request: a selector called
without `acting_as(...)` raises ScopeError, so a forgotten scope fails the test instead of passing.
"""

import pytest

from dangjian.testing import build_district


@pytest.fixture
def district(db):
    return build_district()
