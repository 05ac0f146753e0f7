"""A member on a 360 px phone opens their meetings, reads the record and confirms it; nothing leaves the
server and nothing overflows sideways."""

import datetime as dt
from urllib.parse import urlparse

import pytest
from django.utils import timezone

from dangjian.testing import PASSWORD, build_district
from dangjian.web.tests.test_browser import browser_page  # noqa: F401  (fixture)

from .test_compliance import held

pytestmark = [pytest.mark.browser]


@pytest.fixture
def live_meeting(transactional_db):
    district = build_district()
    meeting = held(district.branch_a1, timezone.localdate() - dt.timedelta(days=1), ["theme_day", "party_lecture"])
    return district, meeting


def test_member_confirms_minutes_on_a_phone(live_server, live_meeting, browser_page):  # noqa: F811
    district, meeting = live_meeting
    page = browser_page
    page.set_viewport_size({"width": 360, "height": 740})
    hosts = set()
    page.on("request", lambda request: hosts.add(urlparse(request.url).hostname))
    page.goto(live_server.url + "/accounts/login/?next=/meetings/my/")
    page.fill("#id_username", district.users["member"].username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('我的会议')")
    assert page.locator("text=待我确认记录").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360 + 1
    page.click(".m-list a")
    page.wait_for_selector("h2:has-text('会议记录')")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360 + 1
    page.click("text=确认会议记录无误")
    page.wait_for_selector("text=已确认会议记录")
    assert page.locator("text=记录已封存（第 1 版）").is_visible()  # the only attendee confirmed: frozen
    assert hosts <= {"127.0.0.1", "localhost"}, f"requests left the server: {hosts}"
