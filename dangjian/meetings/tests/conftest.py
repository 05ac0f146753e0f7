import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from dangjian.core.actors import SYSTEM
from dangjian.core.scoping import system_scope
from dangjian.meetings import services
from dangjian.testing import make_member


@dataclass
class Branch:
    district: object
    members: list  # a1's members: 张三 (the member user) + 3 full + 1 probationary
    worker: object


@pytest.fixture
def branch(district):
    extra = [make_member(district.branch_a1, name=n) for n in ("赵一", "钱二", "孙三")]
    prob = make_member(district.branch_a1, name="周预备", status="probationary", confirmed_on=None)
    return Branch(district, [district.member_a1, *extra, prob], district.users["branch_worker"])


def plan(org, *, actor=SYSTEM, kinds=("general_meeting",), when=None, title="支部党员大会"):
    when = when or timezone.now() - dt.timedelta(days=1)
    with system_scope("test"):
        return services.meeting_plan(actor=actor, organization=org, title=title, kinds=list(kinds), starts_at=when,
                                     place="党员活动室", agenda="学习")


def notified(org, **kw):
    meeting = plan(org, **kw)
    with system_scope("test"):
        return services.meeting_notify(actor=SYSTEM, meeting=meeting)


def record(meeting, members, *, absent=(), resolutions=(), held_at=None, actor=SYSTEM):
    attendance = {m.pk: (m.pk not in absent, "出差" if m.pk in absent else "") for m in members}
    with system_scope("test"):
        return services.meeting_record(actor=actor, meeting=meeting, held_at=held_at or meeting.starts_at,
                                       minutes="讨论了工作。", chair="支部书记", recorder="组织委员",
                                       observers="社区主任\n", attendance=attendance, resolutions=list(resolutions))
