"""民主评议: 优秀 at most one third of those assessed in the organisation and year, at the exact edge."""

import pytest

from dangjian.audit.models import AuditEntry
from dangjian.core.errors import RuleViolation, ValidationFailed
from dangjian.core.scoping import system_scope
from dangjian.meetings import services
from dangjian.meetings.models import Appraisal
from dangjian.testing import acting_as, make_member


def rows(members, n_excellent):
    return [{"member": m, "grade": "excellent" if i < n_excellent else "qualified", "self_assessment": "自评",
             "peer_assessment": "互评", "votes_excellent": 5, "votes_qualified": 2, "votes_basic": 0,
             "votes_unqualified": 0} for i, m in enumerate(members)]


@pytest.fixture
def nine(district):
    return [district.member_a1] + [make_member(district.branch_a1) for _ in range(8)]


def test_one_third_is_allowed(district, nine):
    worker = district.users["branch_worker"]
    with acting_as(worker):
        saved = services.appraisal_save(actor=worker, organization=district.branch_a1, year=2025, rows=rows(nine, 3))
    assert len(saved) == 9
    assert AuditEntry.objects.filter(action="meetings.appraisal.saved").count() == 1


def test_more_than_one_third_refused_nothing_saved(district, nine):
    worker = district.users["branch_worker"]
    with acting_as(worker), pytest.raises(RuleViolation) as e:
        services.appraisal_save(actor=worker, organization=district.branch_a1, year=2025, rows=rows(nine, 4))
    assert "三分之一" in e.value.message and "最多 3 人" in e.value.message
    with system_scope("test"):
        assert not Appraisal.objects.exists()


def test_one_third_counts_every_saved_result_of_the_year(district, nine):
    worker = district.users["branch_worker"]
    with acting_as(worker):
        services.appraisal_save(actor=worker, organization=district.branch_a1, year=2025, rows=rows(nine[:6], 2))
        with pytest.raises(RuleViolation):  # a third 优秀 among 6 assessed is too many
            services.appraisal_save(actor=worker, organization=district.branch_a1, year=2025,
                                    rows=[{**rows(nine[2:3], 1)[0]}])
        # once the other three are assessed the third 优秀 fits (3 of 9)
        services.appraisal_save(actor=worker, organization=district.branch_a1, year=2025,
                                rows=rows(nine[6:], 1))
    with system_scope("test"):
        assert Appraisal.objects.filter(grade="excellent").count() == 3
        assert Appraisal.objects.filter(year=2025).count() == 9


def test_bad_rows_refused(district, nine):
    worker = district.users["branch_worker"]
    bad = rows(nine[:2], 0)
    bad[0]["grade"] = "great"
    bad[1]["votes_basic"] = -1
    with acting_as(worker), pytest.raises(ValidationFailed) as e:
        services.appraisal_save(actor=worker, organization=district.branch_a1, year=2025,
                                rows=bad + rows([district.member_a2], 0))
    text = "；".join(e.value.fields["rows"])
    assert "评定等次不可识别" in text and "不能为负数" in text and "李四 不是本组织党员" in text
    with acting_as(worker), pytest.raises(ValidationFailed) as e:
        services.appraisal_save(actor=worker, organization=district.branch_a1, year=2999, rows=rows(nine[:1], 0))
    assert "year" in e.value.fields
