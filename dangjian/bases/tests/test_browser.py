"""A resident on a 375 px phone opens the 云地图 without logging in: the points are drawn (no tile server
configured), clicking a list entry opens its point, nothing leaves the server, nothing overflows sideways."""

import datetime as dt
from urllib.parse import urlparse

import pytest
from django.utils import timezone

from dangjian.testing import build_district
from dangjian.web.tests.test_browser import browser_page  # noqa: F401  (fixture)

from .conftest import make_site, make_slot

pytestmark = [pytest.mark.browser]


@pytest.fixture
def live_sites(transactional_db, settings):
    """Built before the browser starts (see dangjian/web/tests/test_browser.py)."""
    settings.DANGJIAN_BASES = {"tile_url": ""}
    district = build_district()
    base = make_site(district.committee_a)
    make_site(district.committee_b, name="教育局党群服务中心", kind="service_centre", longitude=116.45, latitude=39.95)
    make_site(district.committee_b, name="无坐标服务站", kind="service_station", longitude=None, latitude=None)
    make_slot(base, timezone.localdate() + dt.timedelta(days=2))
    return base


def test_the_map_shows_the_points_without_tiles_or_login(live_server, live_sites, browser_page):  # noqa: F811
    page = browser_page
    hosts = set()
    page.on("request", lambda request: hosts.add(urlparse(request.url).hostname))
    page.goto(live_server.url + "/bases/map/")
    page.wait_for_selector("#base-map[data-loaded='2']")
    assert page.locator("#base-map path.leaflet-interactive").count() == 2
    assert page.locator("#base-map img.leaflet-tile").count() == 0
    page.click("#map-list button[data-show]:near(:text('教育局党群服务中心'))")
    page.wait_for_selector(".leaflet-popup-content:has-text('教育局党群服务中心')")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1
    href = page.get_attribute(".leaflet-popup-content a", "href")
    page.goto(live_server.url + href)
    page.wait_for_selector("h1:has-text('教育局党群服务中心')")
    page.goto(live_server.url + f"/bases/site/{live_sites.pk}/")
    page.wait_for_selector("text=剩余 10 / 10 人")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1
    assert hosts <= {"127.0.0.1", "localhost"}, f"requests left the server: {hosts}"
