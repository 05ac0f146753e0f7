"""Fixtures shared by the recruitment tests."""

import datetime as dt

import pytest

from dangjian.recruitment import services
from dangjian.recruitment.tests.factories import full_members

FAR = dt.date(2028, 12, 31)  # a "today" after every date the tests' cases reach


@pytest.fixture
def admin(district):
    return district.users["district_admin"]


@pytest.fixture
def pair(district):
    """Two full members of 第一中学党支部: the mentors, and later the sponsors."""
    return full_members(district.branch_b1)


@pytest.fixture
def late_today(monkeypatch):
    """The services' today far ahead, for cases that run past the real today."""
    monkeypatch.setattr(services, "_today", lambda: FAR)
    return FAR
