"""A real browser (Debian's Chromium driven by Playwright) logs in, opens the roster and a member page,
and no request leaves 127.0.0.1 (the intranet rule)."""

from urllib.parse import urlparse

import pytest

from dangjian.testing import PASSWORD, build_district
from dangjian.testing import browser_page as launched_page

pytestmark = [pytest.mark.browser]


@pytest.fixture
def browser_page():
    with launched_page(375, 800) as page:
        yield page


@pytest.fixture
def live_district(transactional_db):
    """Built before the browser starts: Playwright's sync API runs an event loop in this thread, and a
    database connection opened inside it would outlive the test (PostgreSQL then refuses to drop the DB)."""
    return build_district()


def test_login_list_and_member_page_stay_on_the_server(live_server, live_district, browser_page):
    district = live_district
    page = browser_page
    hosts = set()
    page.on("request", lambda request: hosts.add(urlparse(request.url).hostname))

    page.goto(live_server.url + "/")
    assert "/accounts/login/" in page.url
    page.fill("#id_username", district.users["committee_admin"].username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('工作台')")

    page.click("nav.mainnav >> text=党员")
    page.wait_for_selector("h1:has-text('党员名册')")
    rows = page.locator("table tbody tr")
    names = rows.all_inner_texts()
    assert any("张三" in r for r in names) and any("李四" in r for r in names)
    assert not any("王五" in r for r in names), "a member outside the subtree is listed"
    assert "********" in page.content(), "ID numbers must be masked in the list"

    page.click("text=张三")
    page.wait_for_selector("h1:has-text('张三')")
    assert page.locator("text=组织关系记录").is_visible()
    # at 375 px nothing overflows sideways on the member page
    assert page.evaluate("document.documentElement.scrollWidth") <= 375 + 1

    assert hosts <= {"127.0.0.1", "localhost"}, f"requests left the server: {hosts}"
