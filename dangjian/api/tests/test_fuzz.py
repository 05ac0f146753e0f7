"""schemathesis against /api/v1/openapi.json (issue 9, 验证): every operation the API documents is called
with generated data, in process through the WSGI application, as a district administrator (the widest
scope), and every answer is checked: no server error, a status and a content type the document lists, a
body that matches the documented schema, and an operation that needs a login refuses a call without one.

Two of schemathesis's checks are left out, on purpose: "a schema-valid request must be accepted" (our
business rules refuse much that a JSON schema cannot express, such as an empty name or a date in the year
358, with a 422 and a Chinese message), and "a schema-violating request must be refused" (pydantic's lax
mode accepts "1" for 1 and 0 for a date, which is harmless).

Examples per operation stay small so the whole run costs about a minute on each database; raise
DANGJIAN_FUZZ_EXAMPLES for a deeper search.
"""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from ninja import Schema
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from dangjian.accounts.services import api_token_create
from dangjian.api.api import api

EXAMPLES = int(os.environ.get("DANGJIAN_FUZZ_EXAMPLES", "10"))


def load_schema():
    """The document /api/v1/openapi.json serves (built without a request, so it loads at collection, when the
    database is not open yet); the calls go through the whole WSGI stack, middleware included."""
    loaded = schemathesis.openapi.from_dict(api.get_openapi_schema())
    loaded.app = get_wsgi_application()
    return loaded


schema = load_schema()


@pytest.fixture
def connection_kept():
    """The calls go straight to the WSGI application, not through django.test.Client, so nothing stops the start
    and end of each request from closing "old" database connections, and on PostgreSQL the one holding the
    test's transaction counts as old (it is not in autocommit). Disconnected as the test client does."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def bearer(district, connection_kept):
    user = district.users["district_admin"]
    _, plain = api_token_create(actor=user, user=user, name="schemathesis")
    return {"Authorization": f"Bearer {plain}"}


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
@pytest.mark.django_db
def test_every_operation_answers_as_documented(case, bearer):
    case.call_and_validate(headers=bearer, excluded_checks=[positive_data_acceptance, negative_data_rejection])


def test_schema_names_are_unique():
    """OpenAPI names a component after its class: two classes of one name make the document describe one
    answer with the other's schema (it happened: RevealOut, StatsOut)."""
    seen: dict[str, set[str]] = {}

    def walk(cls):
        for sub in cls.__subclasses__():
            if sub.__module__.startswith("dangjian."):
                seen.setdefault(sub.__name__, set()).add(sub.__module__)
            walk(sub)

    walk(Schema)
    assert len(seen) > 50
    assert {name: modules for name, modules in seen.items() if len(modules) > 1} == {}
