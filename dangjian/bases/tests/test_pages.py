"""The pages: public ones need no login and show nothing private; the workers' pages call the services and
show their refusals on the form; list pages run a constant number of queries."""

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from dangjian.audit.models import AuditEntry
from dangjian.core.scoping import system_scope

from .. import services
from ..models import Reservation, Site, Slot
from ..models import ReservationStatus as S
from .conftest import book, local, make_site, make_slot

STATIC = Path(__file__).resolve().parents[1] / "static" / "bases"


@pytest.fixture
def private_bits(bases):
    """A booking at the base, and an unpublished site: none of it may show on the public pages."""
    book(bases, bases.slot, bases.district.branch_a1, bases.worker_a1, people=6, contact_phone="13712345678")
    hidden = make_site(bases.district.committee_a, name="内部筹建中基地", is_published=False)
    return hidden


PUBLIC = ["bases:directory", "bases:map", "bases:geojson"]


@pytest.mark.parametrize("name", PUBLIC)
def test_public_pages_need_no_login_and_show_nothing_private(client, bases, private_bits, name):
    response = client.get(reverse(name))
    assert response.status_code == 200
    text = response.content.decode()
    assert "甲街道红色教育基地" in text
    for private in ("13900001111", "赵管理", "13712345678", "甲社区党支部", "内部筹建中基地", "联系人"):
        assert private not in text, private


def test_a_bases_public_page_shows_its_free_places_but_not_who_booked(client, bases, private_bits):
    response = client.get(reverse("bases:site", args=[bases.site.pk]))
    text = response.content.decode()
    assert response.status_code == 200
    assert "剩余 4 / 10 人" in text
    for private in ("13900001111", "赵管理", "13712345678", "甲社区党支部"):
        assert private not in text
    assert client.get(reverse("bases:site", args=[private_bits.pk])).status_code == 404


def test_a_phone_marked_public_is_shown(client, bases):
    with system_scope("test"):
        services.site_update(actor=bases.manager, site=bases.site, data={"contact_public": True,
                                                                         "contact_phone": "010-12345678"})
    assert "010-12345678" in client.get(reverse("bases:site", args=[bases.site.pk])).content.decode()
    feature = client.get(reverse("bases:geojson")).json()["features"][0]
    assert feature["properties"]["phone"] == "010-12345678"


def test_geojson_holds_the_points_with_public_fields_and_follows_the_filters(client, bases):
    make_site(bases.district.committee_b, name="教育局党群服务中心", kind="service_centre", street="乙街道",
              longitude=116.5, latitude=39.8, services="政策咨询")
    make_site(bases.district.committee_b, name="无坐标服务站", kind="service_station", longitude=None, latitude=None)
    data = client.get(reverse("bases:geojson")).json()
    assert data["type"] == "FeatureCollection"
    assert {f["properties"]["name"] for f in data["features"]} == {"甲街道红色教育基地", "教育局党群服务中心"}
    red = next(f for f in data["features"] if f["properties"]["name"] == "甲街道红色教育基地")
    assert red["geometry"] == {"type": "Point", "coordinates": [116.4, 39.91]}
    assert set(red["properties"]) == {"id", "name", "kind", "kind_label", "category", "address", "street", "hours",
                                      "services", "phone", "bookable", "url"}
    assert red["properties"]["phone"] == ""  # not marked public
    by_kind = client.get(reverse("bases:geojson"), {"kind": "service_centre"}).json()["features"]
    by_street = client.get(reverse("bases:geojson"), {"street": "甲街道"}).json()["features"]
    by_service = client.get(reverse("bases:geojson"), {"service": "政策咨询"}).json()["features"]
    assert [f["properties"]["name"] for f in by_kind] == ["教育局党群服务中心"]
    assert [f["properties"]["name"] for f in by_street] == ["甲街道红色教育基地"]
    assert [f["properties"]["name"] for f in by_service] == ["教育局党群服务中心"]


def test_the_directory_filters_by_kind_street_and_service(client, bases):
    make_site(bases.district.committee_b, name="教育局党群服务中心", kind="service_centre", street="乙街道",
              services="政策咨询")
    text = client.get(reverse("bases:directory"), {"street": "乙街道"}).content.decode()
    assert "教育局党群服务中心" in text and "甲街道红色教育基地" not in text
    text = client.get(reverse("bases:directory"), {"service": "党史学习"}).content.decode()
    assert "甲街道红色教育基地" in text and "教育局党群服务中心" not in text


def test_the_map_loads_nothing_from_the_internet(client, bases, settings):
    settings.DANGJIAN_BASES = {"tile_url": ""}
    text = client.get(reverse("bases:map")).content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', text)
    assert all(not s.startswith(("http:", "https:", "//")) for s in sources), sources
    assert "/static/bases/leaflet/leaflet.js" in text and "/static/bases/map.js" in text
    config = json.loads(re.search(r'<script id="map-config" type="application/json">(.*?)</script>', text)[1])
    assert config["tiles"] == ""
    assert (STATIC / "leaflet" / "leaflet.js").exists() and (STATIC / "leaflet" / "LICENSE").exists()
    assert (STATIC / "leaflet" / "images" / "marker-icon.png").exists()


def test_the_tile_url_comes_from_the_settings(client, bases, settings):
    settings.DANGJIAN_BASES = {"tile_url": "http://tiles.intranet.local/{z}/{x}/{y}.png", "map_zoom": 11}
    config = json.loads(re.search(r'<script id="map-config" type="application/json">(.*?)</script>',
                                  client.get(reverse("bases:map")).content.decode())[1])
    assert config["tiles"] == "http://tiles.intranet.local/{z}/{x}/{y}.png" and config["zoom"] == 11


def test_public_list_pages_run_a_constant_number_of_queries(client, bases, django_assert_max_num_queries):
    for i in range(12):
        make_site(bases.district.committee_b, name=f"服务站{i}", kind="service_station", street=f"街道{i % 3}",
                  services=f"服务{i}")
    for day in range(4, 10):
        bases.slot_on(day)
    for name in ("bases:directory", "bases:map", "bases:geojson"):
        with django_assert_max_num_queries(6):
            assert client.get(reverse(name)).status_code == 200
    with django_assert_max_num_queries(6):
        assert client.get(reverse("bases:site", args=[bases.site.pk])).status_code == 200


# --- workers -------------------------------------------------------------------------------------------

def test_booking_through_the_page(client, bases):
    client.force_login(bases.worker_a1)
    url = reverse("bases:book", args=[bases.slot.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"branch": bases.district.branch_a1.pk, "people": 3, "purpose": "主题党日",
                                 "contact_name": "张联系", "contact_phone": "13800000000"})
    r = Reservation.unscoped.get()
    assert response.status_code == 302 and response["Location"] == reverse("bases:reservation", args=[r.pk])
    assert (r.people, r.status, r.branch_id) == (3, S.REQUESTED, bases.district.branch_a1.pk)


@pytest.mark.parametrize(("data", "message"), [
    ({"people": 11}, "预约人数：11人超过该时段名额10人"),
    ({"people": 0}, "预约人数：应为大于 0 的整数"),
    ({"people": "十"}, "预约人数：请输入整数"),
    ({"contact_phone": ""}, "联系电话：这个字段是必填项。"),
])
def test_bad_booking_input_is_shown_on_the_form_and_nothing_is_saved(client, bases, data, message):
    client.force_login(bases.worker_a1)
    audit = AuditEntry.objects.count()
    post = {"branch": bases.district.branch_a1.pk, "people": 3, "purpose": "主题党日", "contact_name": "张联系",
            "contact_phone": "13800000000", **data}
    response = client.post(reverse("bases:book", args=[bases.slot.pk]), post)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Reservation.unscoped.exists() and AuditEntry.objects.count() == audit


def test_a_past_slot_is_refused_on_the_booking_page(client, bases):
    slot = Slot.unscoped.create(site=bases.site, org_path=bases.site.org_path, capacity=10, starts_at=dt.time(9),
                                ends_at=dt.time(11), date=timezone.localdate() - dt.timedelta(days=1))
    client.force_login(bases.worker_a1)
    response = client.post(reverse("bases:book", args=[slot.pk]), {
        "branch": bases.district.branch_a1.pk, "people": 3, "purpose": "主题党日", "contact_name": "张联系",
        "contact_phone": "13800000000"})
    assert "已开始或已过去，不能预约" in response.content.decode()
    assert not Reservation.unscoped.exists()


def test_booking_needs_a_branch_account(client, bases):
    url = reverse("bases:book", args=[bases.slot.pk])
    assert client.get(url).status_code == 302  # anonymous → login
    client.force_login(bases.district.users["member"])
    assert client.get(url).status_code == 403


def test_the_manager_approves_and_checks_in_from_the_pages(client, bases):
    r = book(bases, bases.slot, bases.district.branch_a1, bases.worker_a1, people=6)
    client.force_login(bases.manager)
    manage = reverse("bases:site_manage", args=[bases.site.pk])
    assert "甲社区党支部" in client.get(manage).content.decode()
    response = client.post(reverse("bases:reservation_action", args=[r.pk, "approve"]), {"next": manage})
    assert response.status_code == 302 and response["Location"] == manage
    r.refresh_from_db()
    assert r.status == S.APPROVED
    # check-in is refused before the day, with the reason shown
    response = client.post(reverse("bases:reservation_action", args=[r.pk, "check_in"]), {"attended": 5},
                           follow=True)
    assert "只能在预约当天" in response.content.decode()
    r.refresh_from_db()
    assert r.status == S.APPROVED


def test_the_manager_opens_slots_from_the_page_and_bad_times_are_named(client, bases):
    client.force_login(bases.manager)
    url = reverse("bases:site_manage", args=[bases.site.pk])
    day = timezone.localdate() + dt.timedelta(days=10)
    response = client.post(url, {"first": day, "last": day, "times": "07:00-09:00", "capacity": 5})
    assert "时段：07:00-09:00 超出基地开放时间 09:00–17:00" in response.content.decode()
    assert Slot.unscoped.count() == 1
    response = client.post(url, {"first": day, "last": day, "times": "14:00-16:00", "capacity": 5})
    assert response.status_code == 302
    assert Slot.unscoped.filter(date=day, capacity=5).count() == 1


def test_the_site_form_names_bad_coordinates(client, bases):
    client.force_login(bases.manager)
    response = client.post(reverse("bases:site_create"), {
        "organization": bases.district.committee_a.pk, "name": "新基地", "kind": "activity_base",
        "category": "basic", "address": "某路1号", "longitude": "200", "latitude": "39.9", "opens_at": "09:00",
        "closes_at": "17:00", "open_weekdays": ["0", "1"], "capacity": 20})
    assert response.status_code == 200
    assert "经度：200 不在合理范围内（应为东经 73～136 度）" in response.content.decode()
    assert Site.unscoped.count() == 1


def test_a_site_is_created_from_the_page(client, bases):
    client.force_login(bases.manager)
    response = client.post(reverse("bases:site_create"), {
        "organization": bases.district.committee_a.pk, "name": "新基地", "kind": "activity_base",
        "category": "technology", "address": "某路1号", "longitude": "116.3", "latitude": "39.9",
        "opens_at": "09:00", "closes_at": "17:00", "open_weekdays": ["0", "1"], "capacity": 20,
        "services": "科普\n党课", "is_published": "on"})
    site = Site.unscoped.get(name="新基地")
    assert response.status_code == 302
    assert (site.open_weekdays, site.category, site.service_list) == ("01", "technology", ["科普", "党课"])


def test_my_reservations_lists_the_branchs_own_and_accepts_an_offer(client, bases):
    d = bases.district
    first = book(bases, bases.slot, d.branch_b1, bases.worker_b1, people=10)
    r = book(bases, bases.slot, d.branch_a1, bases.worker_a1, people=5, waitlist=True)
    with system_scope("test"):
        services.reservation_cancel(actor=bases.worker_b1, reservation=first,
                                    now=timezone.now())
    client.force_login(bases.worker_a1)
    text = client.get(reverse("bases:reservations")).content.decode()
    assert "候补待确认" in text and "第一中学党支部" not in text
    client.post(reverse("bases:reservation_action", args=[r.pk, "accept"]))
    r.refresh_from_db()
    assert r.status == S.REQUESTED


def test_list_pages_for_workers_run_a_constant_number_of_queries(client, bases, django_assert_max_num_queries):
    d = bases.district
    for day in range(4, 12):
        slot = bases.slot_on(day)
        book(bases, slot, d.branch_a1, bases.worker_a1, people=2)
        book(bases, slot, d.branch_a2, bases.worker_a2, people=2)
    client.force_login(bases.manager)
    client.get(reverse("bases:manage"))  # warm the session
    for url in (reverse("bases:manage"), reverse("bases:reservations"),
                reverse("bases:site_manage", args=[bases.site.pk]), reverse("bases:statistics")):
        with django_assert_max_num_queries(9):
            assert client.get(url).status_code == 200, url


def test_statistics_count_bookings_received_and_the_people_who_came(client, bases):
    d = bases.district
    a1 = book(bases, bases.slot, d.branch_a1, bases.worker_a1, people=6)
    a2 = book(bases, bases.slot, d.branch_a2, bases.worker_a2, people=4)
    later = bases.slot_on(5)
    b1 = book(bases, later, d.branch_b1, bases.worker_b1, people=10)
    book(bases, later, d.branch_a1, bases.worker_a1, people=3, waitlist=True)  # the waiting list is no booking
    with system_scope("test"):
        for r in (a1, a2, b1):
            services.reservation_approve(actor=bases.manager, reservation=r)
        services.reservation_check_in(actor=bases.manager, reservation=a1, attended=5, now=local(bases.slot.date, 9))
        services.reservation_check_in(actor=bases.manager, reservation=a2, attended=4, now=local(bases.slot.date, 9))
        services.reservation_no_show(actor=bases.manager, reservation=b1, now=local(later.date, 15))
    client.force_login(bases.district.users["district_admin"])
    first = timezone.localdate()
    response = client.get(reverse("bases:statistics"), {"org": d.root.pk, "first": first,
                                                        "last": first + dt.timedelta(days=30)})
    report = response.context["report"]
    assert (report.received, report.came, report.people) == (3, 2, 9)
    assert "受理开放式组织生活基地网上预约3批，先后有2批9名党员到基地开展了组织生活" in response.content.decode()
    # the period filters by the day of the visit
    response = client.get(reverse("bases:statistics"), {"org": d.root.pk, "first": first + dt.timedelta(days=4),
                                                        "last": first + dt.timedelta(days=30)})
    assert (response.context["report"].received, response.context["report"].came) == (1, 0)
    # a bad period is named
    response = client.get(reverse("bases:statistics"), {"org": d.root.pk, "first": "2026-13-01"})
    assert "统计期间：日期格式应如 2026-01-01" in response.content.decode()


def test_about_count_reads_like_a_report():
    from ..rules import about_count

    assert [about_count(n) for n in (0, 8, 40, 45, 1234, 2000)] == ["0", "8", "40", "40余", "1200余", "2000"]


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def test_a_photo_is_checked_stored_and_served_publicly(client, bases, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    with system_scope("test"):
        with pytest.raises(services.ValidationFailed) as e:
            services.site_update(actor=bases.manager, site=bases.site, data={},
                                 photo=SimpleUploadedFile("x.png", b"GIF89a not a png"))
        assert "只接受 JPG 或 PNG" in e.value.fields["photo"][0]
        services.site_update(actor=bases.manager, site=bases.site, data={}, photo=SimpleUploadedFile("x.png", PNG))
    response = client.get(reverse("bases:photo", args=[bases.site.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == PNG
    assert response["X-Content-Type-Options"] == "nosniff" and "sandbox" in response["Content-Security-Policy"]
    with system_scope("test"):
        bases.site.refresh_from_db()
    assert "x.png" not in bases.site.photo.name  # the uploader's file name never becomes the stored name
    assert reverse("bases:photo", args=[bases.site.pk]) in client.get(
        reverse("bases:site", args=[bases.site.pk])).content.decode()
    hidden = make_site(bases.district.committee_a, name="未公开", is_published=False)
    assert client.get(reverse("bases:photo", args=[hidden.pk])).status_code == 404


def test_the_base_side_sees_the_timeline_of_another_committees_branch(client, bases):
    r = book(bases, bases.slot, bases.district.branch_b1, bases.worker_b1, people=2)
    with system_scope("test"):
        services.reservation_approve(actor=bases.manager, reservation=r)
    client.force_login(bases.manager)
    text = client.get(reverse("bases:reservation", args=[r.pk])).content.decode()
    assert "worker_b1：待审核" in text and "committee_a：已预约" in text


def test_statistics_take_one_query_whatever_the_number_of_bases(bases, django_assert_num_queries):
    from .. import selectors

    d = bases.district
    for i in range(5):
        site = make_site(d.committee_b, name=f"基地{i}")
        slot = make_slot(site, timezone.localdate() + dt.timedelta(days=2))
        book(bases, slot, d.branch_b1, bases.worker_b1, people=2)
    with system_scope("test"), django_assert_num_queries(1):
        report = selectors.base_usage(under=d.root, first=timezone.localdate(),
                                      last=timezone.localdate() + dt.timedelta(days=10))
    assert (len(report.rows), report.received) == (5, 5)


def test_the_managers_page_offers_each_side_only_its_own_actions(client, bases):
    """Review item 2: the base's manager may approve, check in and cancel; accepting an offer or writing the
    meeting record is the booking branch's. Where the manager also manages the branch, it may decline."""
    d = bases.district
    with system_scope("test"):
        first = book(bases, bases.slot, d.branch_a1, bases.worker_a1, people=10)
        b1_offer = book(bases, bases.slot, d.branch_b1, bases.worker_b1, people=4, waitlist=True)
        services.reservation_cancel(actor=bases.manager, reservation=first)
        later = bases.slot_on(4)
        b1_visit = book(bases, later, d.branch_b1, bases.worker_b1, people=2)
        services.reservation_approve(actor=bases.manager, reservation=b1_visit)
        services.reservation_check_in(actor=bases.manager, reservation=b1_visit, attended=2,
                                      now=local(later.date, 14, 5))
        third = bases.slot_on(5)
        b1_full = book(bases, third, d.branch_b1, bases.worker_b1, people=10)
        a1_offer = book(bases, third, d.branch_a1, bases.worker_a1, people=3, waitlist=True)
        services.reservation_cancel(actor=bases.manager, reservation=b1_full)
    assert Reservation.unscoped.get(pk=b1_offer.pk).status == S.OFFERED
    assert Reservation.unscoped.get(pk=a1_offer.pk).status == S.OFFERED
    client.force_login(bases.manager)
    response = client.get(reverse("bases:site_manage", args=[bases.site.pk]))
    actions = {r.pk: r.actions for s in response.context["slots"] for r in s.rows}
    assert actions[b1_offer.pk] == {"cancel"}  # another committee's branch: not "accept"
    assert actions[b1_visit.pk] == set()  # not "to_meeting": the branch writes its own record
    assert actions[a1_offer.pk] == {"cancel", "accept", "decline"}  # the manager also manages branch_a1
    text = response.content.decode()
    assert text.count("接受名额") == 1 and "生成会议记录" not in text and "放弃" in text


def test_the_maps_geojson_link_keeps_a_filter_value_with_an_ampersand(client, bases):
    """Review item 3: the map passes its filters on to the GeoJSON URL, URL-encoded ("&" is data, not a
    separator), so the map shows the same sites as the list beside it."""
    from html import unescape
    from urllib.parse import parse_qs, urlsplit

    make_site(bases.district.committee_b, name="读书分享站", kind="service_station", services="读书&分享")
    make_site(bases.district.committee_b, name="读书角", kind="service_station", services="读书")
    text = client.get(reverse("bases:map"), {"service": "读书&分享", "q": "读书 站"}).content.decode()
    url = unescape(re.search(r'data-geojson="([^"]*)"', text)[1])
    parts = urlsplit(url)
    assert parts.path == reverse("bases:geojson")
    assert parse_qs(parts.query) == {"service": ["读书&分享"], "q": ["读书 站"]}
    url = unescape(re.search(r'data-geojson="([^"]*)"', client.get(
        reverse("bases:map"), {"service": "读书&分享"}).content.decode())[1])
    assert [f["properties"]["name"] for f in client.get(url).json()["features"]] == ["读书分享站"]


@pytest.mark.parametrize("raw", ["²", "١٢", "abc", "-1"])
def test_statistics_ignore_an_org_id_that_is_not_a_plain_number(client, bases, raw):
    """Review item 4: "²" and other Unicode digits pass str.isdigit() but not int(): never a 500."""
    client.force_login(bases.district.users["district_admin"])
    response = client.get(reverse("bases:statistics"), {"org": raw})
    assert response.status_code == 200
    assert response.context["org"] == bases.district.root  # as with no org given: the first one in scope


def test_statistics_answer_404_for_an_org_id_out_of_any_range(client, bases):
    client.force_login(bases.district.users["district_admin"])
    assert client.get(reverse("bases:statistics"), {"org": "9" * 30}).status_code == 404


def test_the_geojson_is_capped_like_the_list_beside_it(client, bases, monkeypatch):
    """Review item 7: a public URL must not answer with every site of a province; the map's list shows the
    first PUBLIC_LIMIT sites, and the GeoJSON the same ones, in the same order."""
    from .. import views

    for i in range(4):
        make_site(bases.district.committee_b, name=f"服务站{i}", kind="service_station", street="乙街道")
    monkeypatch.setattr(views, "PUBLIC_LIMIT", 3)
    listed = [s.pk for s in client.get(reverse("bases:map")).context["sites"]]
    mapped = [f["properties"]["id"] for f in client.get(reverse("bases:geojson")).json()["features"]]
    assert len(listed) == 3 and mapped == listed
    assert len(client.get(reverse("bases:directory")).context["sites"]) == 3


def test_the_public_filter_choices_are_cached_and_refreshed_when_a_site_changes(client, bases,
                                                                               django_assert_num_queries):
    from .. import selectors

    assert selectors.public_streets() == ["甲街道"]
    assert selectors.public_services() == ["主题党日", "党史学习"]
    with django_assert_num_queries(0):  # from the cache
        assert selectors.public_streets() == ["甲街道"] and selectors.public_services() == ["主题党日", "党史学习"]
    make_site(bases.district.committee_b, name="乙站", kind="service_station", street="乙街道", services="政策咨询")
    assert selectors.public_streets() == ["乙街道", "甲街道"]
    assert "政策咨询" in selectors.public_services()
    with system_scope("test"):
        services.site_update(actor=bases.manager, site=bases.site, data={"is_published": False})
    assert selectors.public_streets() == ["乙街道"]
    assert selectors.public_services() == ["政策咨询"]
    assert client.get(reverse("bases:directory")).context["streets"] == ["乙街道"]
