"""The demo's activity: meetings, dues and bases appear through the services, and a second run does nothing."""

import datetime as dt

from django.core.management import call_command

from dangjian.bases.models import Site, Slot
from dangjian.core.scoping import system_scope
from dangjian.dues.models import DuesAssessment
from dangjian.meetings.models import Meeting
from dangjian.members import demo
from dangjian.recruitment.models import RecruitmentCase

TODAY = dt.date(2026, 11, 29)


def test_demo_activity_fills_the_modules_once(db, capsys):
    with system_scope("test"):
        demo.load_district(members=300, seed=5, today=TODAY, district_name="测试区", password="Demo-test-2026")  # noqa: S106
    call_command("seed_demo_activity")
    said = capsys.readouterr().out
    with system_scope("test"):
        sites, meetings, assessed = Site.objects.count(), Meeting.objects.count(), DuesAssessment.objects.count()
        slots = Slot.objects.count()
        stages = set(RecruitmentCase.objects.values_list("stage", flat=True))
        cases = RecruitmentCase.objects.count()
    assert sites == 2 and slots > 0
    assert cases == 6 and {"applicant", "activist", "development_target", "probationary", "full_member"} <= stages
    assert f"发展党员档案 {cases} 份" in said
    assert f"主题党日计划 {meetings} 次" in said and f"预约时段 {slots} 个" in said  # what it says is what it did
    call_command("seed_demo_activity")
    assert "已有党建阵地" in capsys.readouterr().out
    with system_scope("test"):
        assert (Site.objects.count(), Slot.objects.count(), DuesAssessment.objects.count()) == (sites, slots, assessed)
