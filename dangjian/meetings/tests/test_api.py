"""/api/v1/meetings: scoped reads, planning, the record with its refusals, the member's own meetings."""

import datetime as dt

import pytest
from django.utils import timezone

from dangjian.api.tests.conftest import JSON, assert_error, token_client
from dangjian.audit.models import AuditEntry
from dangjian.core.scoping import system_scope
from dangjian.meetings.models import Meeting, MeetingStatus

from .test_compliance import held

BASE = "/api/v1/meetings"


@pytest.fixture
def worker(district):
    return token_client(district.users["branch_worker"])


def test_list_is_scoped(district, worker):
    held(district.branch_a1, dt.date(2026, 11, 3), ["theme_day", "party_lecture"])
    held(district.branch_b1, dt.date(2026, 11, 3), ["theme_day"])
    body = worker.get(BASE).json()
    assert body["total"] == 1 and body["items"][0]["kinds"] == ["party_lecture", "theme_day"]
    other = held(district.branch_a2, dt.date(2026, 11, 3), ["theme_day"])
    assert_error(worker.get(f"{BASE}/{other.pk}"), 404)
    assert_error(token_client(district.users["member"]).get(BASE), 403)


def test_plan_notify_record_over_the_api(district, worker):
    d = district
    response = worker.post(BASE, {"organization": d.branch_a1.pk, "title": "支部党员大会", "kinds": ["general_meeting"],
                                  "starts_at": "2026-11-01T09:00:00", "place": "活动室"}, content_type=JSON)
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    assert response.json()["starts_at"].startswith("2026-11-01T09:00:00+08:00")
    assert_error(worker.post(f"{BASE}/{pk}/notify", {"member_ids": []}, content_type=JSON), 422, "members")
    response = worker.post(f"{BASE}/{pk}/notify", {}, content_type=JSON)
    assert response.status_code == 200, response.content.decode()
    assert response.json()["status"] == "notified"
    record = {"held_at": "2026-11-01T09:00:00", "chair": "书记", "recorder": "委员", "minutes": "纪要",
              "attendance": [{"member_id": d.member_a1.pk, "present": True}],
              "resolutions": [{"text": "决议", "yes": 1, "no": 0, "abstain": 0}]}
    # a vote with more ballots than voters present
    before = AuditEntry.objects.count()
    bad = {**record, "resolutions": [{"text": "决议", "yes": 1, "no": 1, "abstain": 0}]}
    body = assert_error(worker.post(f"{BASE}/{pk}/record", bad, content_type=JSON), 422, "resolutions")
    assert "多于实到" in body["message"]
    body = assert_error(worker.post(f"{BASE}/{pk}/record", {**record, "held_at": "2099-01-01T09:00:00"},
                                    content_type=JSON), 422, "held_at")
    assert "晚于当前时间" in body["fields"]["held_at"][0]
    assert_error(worker.post(f"{BASE}/{pk}/record", {**record, "resolutions": [
        {"text": "决议", "yes": -1, "no": 0, "abstain": 0}]}, content_type=JSON), 422)
    assert AuditEntry.objects.count() == before
    response = worker.post(f"{BASE}/{pk}/record", record, content_type=JSON)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "recorded" and body["resolutions"][0]["passed"] is True
    assert body["attendances"][0]["present"] is True


def test_member_lists_and_confirms_their_meetings(district):
    m = held(district.branch_a1, timezone.localdate() - dt.timedelta(days=1), ["theme_day"])
    held(district.branch_a2, timezone.localdate() - dt.timedelta(days=1), ["theme_day"])
    member = token_client(district.users["member"])
    mine = member.get(f"{BASE}/mine").json()
    assert [x["meeting"]["id"] for x in mine] == [m.pk] and mine[0]["meeting"]["kinds"] == ["theme_day"]
    response = member.post(f"{BASE}/mine/{m.pk}/confirm")
    assert response.status_code == 200 and response.json()["confirmed_at"]
    with system_scope("test"):
        assert Meeting.objects.get(pk=m.pk).status == MeetingStatus.FROZEN
    assert_error(member.post(f"{BASE}/mine/{m.pk + 1}/confirm"), 404)


def test_compliance_and_statistics(district):
    held(district.branch_a1, dt.date(2025, 3, 5), ["theme_day", "party_lecture"])
    admin = token_client(district.users["committee_admin"])
    body = admin.get(f"{BASE}/compliance", {"org": district.committee_a.pk, "start": "2025-01-01",
                                           "end": "2025-12-31"}).json()
    a1 = next(b for b in body["branches"] if b["id"] == district.branch_a1.pk)
    assert a1["cells"]["theme_day"]["status"] == "amber" and a1["cells"]["party_lecture"]["met"] == 1
    stats = admin.get(f"{BASE}/statistics", {"org": district.committee_a.pk, "start": "2025-01-01",
                                            "end": "2025-12-31"}).json()
    assert stats["by_kind"]["party_lecture"] == 1 and stats["lecture_participants"] == 1
    assert_error(admin.get(f"{BASE}/statistics", {"org": district.branch_b1.pk, "start": "2025-01-01",
                                                 "end": "2025-12-31"}), 404, "org")
