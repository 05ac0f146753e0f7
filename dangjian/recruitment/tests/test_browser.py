"""发展党员 in a real browser (Debian's Chromium through Playwright): the district admin opens a case from the
list, records a step through its form and sees it on the timeline; no request leaves 127.0.0.1."""

from urllib.parse import urlparse

import pytest

from dangjian.recruitment.tests.factories import START, open_case, schedule
from dangjian.testing import PASSWORD, browser_page, build_district

pytestmark = [pytest.mark.browser]


@pytest.fixture
def desk_page():
    with browser_page(1280, 900) as page:
        yield page


@pytest.fixture
def live_case(transactional_db):
    """Built before the browser starts (see web/tests/test_browser.live_district): a case in 第一中学党支部."""
    district = build_district()
    case = open_case(district.users["district_admin"], district.branch_b1)
    return district, case


def test_the_district_admin_records_a_step_and_sees_it_on_the_timeline(live_server, live_case, desk_page):
    district, case = live_case
    page = desk_page
    hosts = set()
    page.on("request", lambda request: hosts.add(urlparse(request.url).hostname))

    page.goto(live_server.url + "/recruitment/")
    assert "/accounts/login/" in page.url
    page.fill("#id_username", district.users["district_admin"].username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('发展党员全程纪实')")
    row = page.locator("table tbody tr", has_text="申请人001")
    assert "已超期" in row.inner_text()  # nobody talked to the applicant within a month: said in words

    row.locator("a", has_text="申请人001").click()
    page.wait_for_selector("h1:has-text('申请人001')")
    assert page.locator(".rc-phases li.current").inner_text().startswith("一、申请入党")
    page.click("text=记录第2步：党组织派人谈话")
    page.wait_for_selector("h1:has-text('记录第2步')")

    on = schedule(START)[2]
    page.fill("#id_on", on.isoformat())
    page.fill("#id_talker", "赵书记")
    page.fill("#id_note", "谈话中了解了入党动机")
    page.click("main button:has-text('保存记录')")

    page.wait_for_selector("h1:has-text('申请人001')")
    assert "已记录第2步" in page.locator(".messages").inner_text()
    entry = page.locator(".rc-timeline > li", has_text="第2步 党组织派人谈话")
    assert f"{on.year}年{on.month}月{on.day}日" in entry.inner_text()
    assert "赵书记" in entry.inner_text() and "谈话中了解了入党动机" in entry.inner_text()
    assert page.locator("a", has_text="记录第3步").count() == 1  # the next step is offered now

    assert hosts <= {"127.0.0.1", "localhost"}, f"requests left the server: {hosts}"
