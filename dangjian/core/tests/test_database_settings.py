"""The database connection is configured as docs/performance.md measured it."""

import pytest
from django.db import connection


@pytest.mark.django_db
def test_postgresql_runs_each_query_without_parallel_workers_or_jit(settings):
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL setting: runs in CI's PostgreSQL pass")
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        assert cursor.fetchone()[0] == str(settings.DANGJIAN_PG_PARALLEL_WORKERS) == "0"
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
