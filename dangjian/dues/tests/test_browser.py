"""我的党费 in a real browser (Debian's Chromium through Playwright) at 360 px: nothing overflows sideways,
text stays readable, and no request leaves 127.0.0.1."""

import os
from urllib.parse import urlparse

import pytest
from django.utils import timezone

from dangjian.core.actors import SYSTEM
from dangjian.dues import services
from dangjian.dues.rules import add_months, month_start
from dangjian.testing import PASSWORD, build_district
from dangjian.web.tests.test_centre_browser import WIDTH, phone_page  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.browser]


@pytest.fixture
def live_district(transactional_db):
    district = build_district()
    today = timezone.localdate()
    member = district.member_a1
    services.assessment_set(actor=SYSTEM, member=member, year=today.year, category="employed", dues_base_fen=1_234_567,
                            paid_through=add_months(month_start(today), -5), today=today)
    services.payment_record(actor=SYSTEM, member=member, first_month=None, months=1, method="proxy",
                            proxy_name="张三的爱人", paid_on=today, voluntary_fen=50_000, today=today)
    return district


def test_my_dues_at_360px(live_server, live_district, phone_page):  # noqa: F811
    page = phone_page
    hosts = set()
    page.on("request", lambda request: hosts.add(urlparse(request.url).hostname))
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", live_district.users["member"].username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto(live_server.url + "/dues/my/")
    page.wait_for_selector("h1:has-text('我的党费')")
    assert "246.91 元" in page.inner_text("main")  # 12345.67 元 × 2%, rounded half up to the 分
    assert page.locator(".arrears").count() == 1  # 3 months behind: a warning
    m = page.evaluate("""() => ({
        scrollWidth: document.documentElement.scrollWidth,
        smallest: Math.min(...[...document.querySelectorAll('main p, main li, main dd, main span, main a, main small')]
            .filter(e => e.offsetParent !== null && e.textContent.trim() && !e.closest('.tag'))
            .map(e => parseFloat(getComputedStyle(e).fontSize))),
    })""")
    if os.environ.get("DUES_SCREENSHOTS"):  # a picture for a person to look at
        page.screenshot(path=os.path.join(os.environ["DUES_SCREENSHOTS"], "dues-my.png"), full_page=True)
    assert m["scrollWidth"] <= WIDTH, f"overflows sideways at {WIDTH}px: {m}"
    assert m["smallest"] >= 14, m
    assert hosts <= {"127.0.0.1", "localhost"}, f"requests left the server: {hosts}"
