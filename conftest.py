"""Shared fixtures: a small district with one user per role, and helpers to act as one of them.

Test bodies run with **no scope active**, like production code outside a request: a selector called
without `acting_as(...)` raises ScopeError, so a forgotten scope fails the test instead of passing.
"""

import factory.random
import pytest

from dangjian.testing import build_district


@pytest.fixture(autouse=True)
def _same_fake_data_every_run(request):
    """Factories draw from one seed per test, so a failure seen once is seen again on every run."""
    factory.random.reseed_random(request.node.nodeid)


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: the database is rolled back between tests but the process's cache
    is not, and a cached organisation card or rate count from another test's rows would leak into this one."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def district(db):
    return build_district()


@pytest.fixture(autouse=True)
def _audit_triggers(request, django_db_blocker):
    """Transactional tests end by emptying every table, which the audit log's triggers refuse: lift them
    for those tests only, and make sure every other test runs with them in place."""
    needs_db = {"db", "transactional_db", "live_server", "django_db_setup"} & set(request.fixturenames) or \
        request.node.get_closest_marker("django_db")
    if not needs_db:
        yield
        return
    request.getfixturevalue("django_db_setup")  # the test database, never the configured one
    from django.db import connection

    from dangjian.audit import triggers

    transactional = {"transactional_db", "live_server"} & set(request.fixturenames)
    with django_db_blocker.unblock():
        (triggers.remove if transactional else triggers.install)(connection)
    yield
