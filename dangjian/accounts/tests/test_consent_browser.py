"""The privacy notice and the consent step in a real browser (Debian's Chromium through Playwright) at 375 px:
a member who has not agreed logs in through the form, reads the notice without sideways scrolling, is
stopped without the separate tick, agrees, and lands in the member centre; the public notice and the
download page fit too; no request leaves the test server."""

import os
from urllib.parse import urlparse

import pytest

from dangjian.accounts.models import User
from dangjian.testing import PASSWORD, browser_page, build_district

pytestmark = [pytest.mark.browser]

WIDTH = 375


@pytest.fixture
def live_district(transactional_db):
    """Built before the browser starts; 张三's account has never agreed to the notice."""
    district = build_district()
    User.objects.filter(pk=district.users["member"].pk).update(privacy_notice_version="")
    return district


@pytest.fixture
def phone_page():
    with browser_page(WIDTH, 740) as page:
        yield page


def _fits(page, path):
    """Nothing wider than the phone, body type at least 16 px, buttons at least 44 px tall."""
    folder = os.environ.get("CENTRE_SCREENSHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, "privacy" + path.replace("/", "-").replace(" ", "") + ".png"),
                        full_page=True)
    m = page.evaluate("""() => ({
        scrollWidth: document.documentElement.scrollWidth,
        body: parseFloat(getComputedStyle(document.body).fontSize),
        buttons: [...document.querySelectorAll('main button, main .btn')]
            .filter(e => e.offsetParent !== null).map(e => e.getBoundingClientRect().height),
    })""")
    assert m["scrollWidth"] <= WIDTH, f"{path} overflows sideways at {WIDTH}px: {m['scrollWidth']}"
    assert m["body"] >= 16 and all(h >= 44 for h in m["buttons"]), (path, m)


def test_consent_at_first_login_on_a_phone(live_server, live_district, phone_page):
    page = phone_page
    hosts = set()
    page.on("request", lambda request: hosts.add(urlparse(request.url).hostname))

    page.goto(live_server.url + "/privacy/")
    page.wait_for_selector("text=版本：")
    _fits(page, "/privacy/")

    page.goto(live_server.url + "/")
    page.fill("#id_username", live_district.users["member"].username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('请阅读并同意《个人信息保护政策》')")
    assert page.url.endswith("/accounts/consent/")
    _fits(page, "/accounts/consent/")

    page.click("button:has-text('同意并继续')")  # without the separate tick for sensitive data
    page.wait_for_selector("text=敏感个人信息：请先勾选")
    _fits(page, "/accounts/consent/ (refused)")

    page.check("#id_sensitive")
    page.click("button:has-text('同意并继续')")
    page.wait_for_selector("h1:has-text('张三同志，您好')")  # on to the member centre (the record: other tests)

    page.click("#card-data")
    page.wait_for_selector("h1:has-text('下载我的个人信息')")
    _fits(page, "/my/data/")
    assert hosts == {urlparse(live_server.url).hostname}, f"requests left the server: {hosts}"
