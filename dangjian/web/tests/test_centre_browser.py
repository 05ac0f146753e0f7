"""The member centre in a real browser (Debian's Chromium through Playwright) at 360 px: readable type, large
touch targets, nothing overflowing sideways, in normal and in large-font mode (适老化); and no request
leaves 127.0.0.1."""

import os
from urllib.parse import urlparse

import pytest

from dangjian.core.actors import SYSTEM
from dangjian.core.scoping import system_scope
from dangjian.notifications import notices
from dangjian.notifications.services import Message, notification_create
from dangjian.testing import PASSWORD, browser_page, build_district

pytestmark = [pytest.mark.browser]

WIDTH = 360
PAGES = ["/my/", "/my/settings/", "/notifications/"]


@pytest.fixture
def phone_page():
    with browser_page(WIDTH, 740) as page:
        yield page


@pytest.fixture
def live_district(transactional_db):
    """Built before the browser starts (see test_browser.live_district), with a greeting in the inbox."""
    district = build_district()
    member = district.member_a1
    with system_scope("test: a greeting to read"):
        notification_create(actor=SYSTEM, messages=[Message(
            kind=notices.POLITICAL_BIRTHDAY.code, member=member, dedupe_key="bd",
            context={"姓名": member.name, "入党周年": 25, "入党日期": "2001年7月1日", "党组织": "甲社区党支部",
                     "寄语": "不忘初心，牢记使命。"})])
    return district


def _shoot(page, name):
    """CENTRE_SCREENSHOTS=<dir> keeps a full-page picture of each page for a person to look at."""
    folder = os.environ.get("CENTRE_SCREENSHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, name + ".png"), full_page=True)


def _measure(page) -> dict:
    return page.evaluate("""() => ({
        scrollWidth: document.documentElement.scrollWidth,
        body: parseFloat(getComputedStyle(document.body).fontSize),
        smallestText: Math.min(...[...document.querySelectorAll('main p, main li, main dd, main span, main a')]
            .filter(e => e.offsetParent !== null && e.textContent.trim() && !e.closest('.badge, .tag'))
            .map(e => parseFloat(getComputedStyle(e).fontSize))),
        cards: [...document.querySelectorAll('.centre-card')].map(e => e.getBoundingClientRect().height),
        buttons: [...document.querySelectorAll('main button, main .btn')]
            .filter(e => e.offsetParent !== null).map(e => e.getBoundingClientRect().height),
        title: (() => { const t = document.querySelector('h1'); return parseFloat(getComputedStyle(t).fontSize); })(),
    })""")


def test_the_centre_at_360px_in_normal_and_large_font_mode(live_server, live_district, phone_page):
    page = phone_page
    hosts = set()
    page.on("request", lambda request: hosts.add(urlparse(request.url).hostname))

    page.goto(live_server.url + "/")
    page.fill("#id_username", live_district.users["member"].username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('张三同志，您好')")  # a member lands in the centre
    assert page.locator("#card-inbox .badge").inner_text() == "1"

    normal = {}
    for path in PAGES:
        page.goto(live_server.url + path)
        m = normal[path] = _measure(page)
        _shoot(page, "normal" + path.replace("/", "-"))
        assert m["scrollWidth"] <= WIDTH, f"{path} overflows sideways at {WIDTH}px: {m['scrollWidth']}"
        assert m["body"] >= 16 and m["smallestText"] >= 14, (path, m)
        assert all(h >= 44 for h in m["cards"] + m["buttons"]), f"{path}: touch targets under 44px {m}"

    # the greeting: open it, reply, and the badge is gone
    page.goto(live_server.url + "/notifications/")
    page.click("text=张三同志，祝您政治生日快乐")
    page.wait_for_selector("text=不忘初心，牢记使命。")
    page.fill("textarea[name=body]", "谢谢党组织！")
    page.click("button:has-text('发送留言')")
    page.wait_for_selector("text=留言已送达党组织")
    assert page.locator("nav.mainnav .badge").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH

    # switch on the large-font mode on the settings page
    page.goto(live_server.url + "/my/settings/")
    page.check("#id_large_font")
    page.click("button:has-text('保存')")
    page.wait_for_selector("text=已保存推送设置")
    for path in PAGES:
        page.goto(live_server.url + path)
        m = _measure(page)
        _shoot(page, "large" + path.replace("/", "-"))
        assert page.evaluate("document.body.classList.contains('large-font')")
        assert m["body"] > normal[path]["body"] and m["title"] > normal[path]["title"], (path, m, normal[path])
        assert m["body"] >= 20
        assert m["scrollWidth"] <= WIDTH, f"{path} overflows sideways in large-font mode: {m['scrollWidth']}"
        assert all(h >= 48 for h in m["cards"] + m["buttons"]), f"{path}: {m}"

    assert hosts <= {"127.0.0.1", "localhost"}, f"requests left the server: {hosts}"
