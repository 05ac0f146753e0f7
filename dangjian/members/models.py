"""Members and their membership history.

`Member.org_path` copies the current organisation's path so a subtree of a million rows is one index
range. `MembershipPeriod` keeps where a member belonged from when to when: periods are half-open
[start, end), so a move closes one and opens the next on the same date and every as-of-date count sees
the member exactly once.
"""

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone

from dangjian.core import codes, crypto
from dangjian.core.scoping import ScopedModel
from dangjian.orgs.models import Sector
from dangjian.orgs.tallies import TallyIndex


class MemberStatus(models.TextChoices):
    PROBATIONARY = "probationary", "预备党员"
    FULL = "full", "正式党员"


class Standing(models.TextChoices):
    """党籍状态"""

    NORMAL = "normal", "正常"
    SUSPENDED = "suspended", "停止党籍"


# The org_path of a member who has left the district's roster (转出本区, 取消预备党员资格, 出党, 去世): outside the
# range of every subtree, so no scoped query, count or tally sees them, with no extra filter or index; the
# record stays (history, the member's own view) and `organization` keeps the last organisation.
LEFT_PATH = ""


class LeaveReason(models.TextChoices):
    TRANSFERRED_OUT = "transferred_out", "组织关系转出本区"
    PROBATION_CANCELLED = "probation_cancelled", "取消预备党员资格"
    EXPELLED = "expelled", "开除党籍"
    REMOVED = "removed", "除名"
    DECEASED = "deceased", "去世"


# The list's filter columns, in the order of the member_facets index (org_path first: the scope's range).
FACETS = ("org_path", "status", "gender", "sector", "education_level", "birth_date")


def FACETS_BUT(column: str) -> list[str]:  # noqa: N802 (reads as the constant it extends)
    """The facets without `column`, for an index that `column` leads."""
    return [c for c in FACETS if c != column]


class Member(ScopedModel):
    # No index of its own: every read of an organisation's members goes by org_path (the org_path-led indexes
    # below), and one index fewer is one entry fewer for each member a roster import writes.
    organization = models.ForeignKey("orgs.Organization", verbose_name="所在党组织", on_delete=models.PROTECT,
                                     related_name="members", db_index=False)
    org_path = models.CharField(max_length=255, editable=False)
    # 领域: a copy of the organisation's (orgs.Organization.sector), kept by member_assign, member_move and an
    # organisation's change of sector (orgs.services._retally_sector), so the list filters and indexes it without a join.
    sector = models.CharField("领域", max_length=24, choices=Sector.choices, blank=True, editable=False)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name="登录账号", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="member")
    name = models.CharField("姓名", max_length=50)
    gender = models.CharField("性别", max_length=8, choices=codes.Gender.choices)
    ethnicity = models.CharField("民族", max_length=2, choices=codes.ETHNICITY_CHOICES, default=codes.HAN)
    birth_date = models.DateField("出生日期")
    id_number_encrypted = models.TextField(editable=False)
    id_number_digest = models.CharField(max_length=64, unique=True, editable=False)
    id_number_masked = models.CharField("身份证号", max_length=18, editable=False)
    phone_encrypted = models.TextField(blank=True, editable=False)
    phone_digest = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    phone_masked = models.CharField("手机号码", max_length=11, blank=True, editable=False)
    education = models.CharField("学历", max_length=2, choices=codes.EDUCATION_CHOICES)
    # 学历层次 (codes.EDUCATION_LEVELS: the code's first digit), kept by member_assign: the list filters by level,
    # and an equality keeps its index in (org_path, id) order where a range of codes would not.
    education_level = models.CharField("学历层次", max_length=1, editable=False)
    occupation = models.CharField("职业类别", max_length=16, choices=codes.Occupation.choices)
    work_unit = models.CharField("工作单位", max_length=100, blank=True)
    post = models.CharField("职务", max_length=50, blank=True)
    address = models.CharField("家庭住址", max_length=200, blank=True)
    status = models.CharField("党员类别", max_length=16, choices=MemberStatus.choices)
    joined_on = models.DateField("入党日期")
    confirmed_on = models.DateField("转正日期", null=True, blank=True)
    # MMDD of joined_on: today's political birthdays are one index lookup (no __month/__day over 1M rows).
    joined_month_day = models.PositiveSmallIntegerField(editable=False)
    standing = models.CharField("党籍状态", max_length=16, choices=Standing.choices, default=Standing.NORMAL)
    is_mobile = models.BooleanField("流动党员", default=False)
    is_lost_contact = models.BooleanField("失联党员", default=False)
    left_on = models.DateField("减少日期", null=True, blank=True)  # set by services.member_leave
    left_reason = models.CharField("减少原因", max_length=24, choices=LeaveReason.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "党员"
        ordering = ["org_path", "id"]
        # The member list filters by 党员类别, 性别, 领域, 学历 and 年龄段 in any combination, pages in (org_path, id)
        # order and counts up to a cap. Each filter that can be selective leads an index of its own that also
        # holds every other filter's column ("facets"): whichever one the list walks (members.selectors.
        # list_plan picks it from the counters), the filters are checked on index entries, never on table rows.
        indexes = [
            models.Index(fields=["org_path", "id"], name="member_scope_order"),
            # No filter that narrows much (正式党员, 女, a small subtree), and the subtree statistics
            # (member_statistics_direct) and the (org_path, status) groups of member_counts_by_org.
            models.Index(fields=[*FACETS, "occupation"], name="member_facets"),
            models.Index(fields=["sector", *FACETS_BUT("sector")], name="member_sector_facets"),
            models.Index(fields=["education_level", *FACETS_BUT("education_level")], name="member_education_facets"),
            # 预备党员 are a few per cent of a district: their own small index, with the name ("张" + 预备党员).
            # (status stays a column: SQLite counts the index as covering only if it holds every column the
            # query names, the condition's included.)
            models.Index(fields=[*FACETS, "name"], condition=models.Q(status="probationary"),
                         name="member_probationary"),
            # A name prefix, with the facets: "张" plus 女 is checked on the index entries.
            models.Index(fields=["name", *FACETS], name="member_name"),
            # (MMDD, org_path): today's political birthdays within a scope's range, counted and paged from the
            # index alone (bench/, issue 8: 17 ms with the MMDD-only index at 1,000,000 members).
            models.Index(fields=["joined_month_day", "org_path"], name="member_political_birthday"),
            # An age band (a birth_date range), with the facets; also the age-band boundaries of the tallied
            # statistics: the few members born in one month after a given day (members.selectors.member_statistics).
            models.Index(fields=["birth_date", *FACETS_BUT("birth_date")], name="member_birth_scope"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(confirmed_on__isnull=True) | models.Q(confirmed_on__gte=models.F("joined_on")),
                name="member_confirmed_after_joined",
            ),
        ]

    class ScopeMeta:
        path = "org_path"
        member = "pk"

    def __str__(self):
        return self.name

    def age_on(self, day: dt.date) -> int:
        return day.year - self.birth_date.year - ((day.month, day.day) < (self.birth_date.month, self.birth_date.day))

    def party_standing_years(self, on: dt.date | None = None) -> int | None:
        """党龄: whole years since 转正 (DOMAIN-RULES §1.6); None while probationary."""
        if self.confirmed_on is None:
            return None
        on = on or timezone.localdate()
        c = self.confirmed_on
        return max(0, on.year - c.year - ((on.month, on.day) < (c.month, c.day)))


class MembershipPeriod(ScopedModel):
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="periods")
    organization = models.ForeignKey("orgs.Organization", verbose_name="党组织", on_delete=models.PROTECT,
                                     related_name="membership_periods")
    org_path = models.CharField(max_length=255, editable=False)
    start = models.DateField("起始日期")
    end = models.DateField("截止日期", null=True, blank=True)  # exclusive; None while current
    reason = models.CharField("变动原因", max_length=50, blank=True)

    class Meta:
        verbose_name = "组织关系记录"
        ordering = ["member_id", "start"]
        indexes = [
            models.Index(fields=["org_path", "start", "end"], name="period_scope_dates"),
            # The whole-district as-of count reads only the changes since the day (selectors.member_count_as_of).
            # period_end holds closed periods only: it can never serve a subtree's "end IS NULL OR end > d".
            models.Index(fields=["start"], name="period_start"),
            models.Index(fields=["end"], name="period_end", condition=models.Q(end__isnull=False)),
        ]
        constraints = [
            models.UniqueConstraint(fields=["member"], condition=models.Q(end__isnull=True),
                                    name="one_current_period_per_member"),
            models.CheckConstraint(condition=models.Q(end__isnull=True) | models.Q(end__gte=models.F("start")),
                                   name="period_end_not_before_start"),
        ]

    class ScopeMeta:
        path = "org_path"
        member = "member_id"

    def __str__(self):
        return f"{self.member} @ {self.organization} {self.start}—{self.end or '至今'}"


class DisciplineKind(models.TextChoices):
    """党纪处分 a member may be under while still a member (开除党籍 ends the membership: not recorded here)."""

    WARNING = "warning", "警告"
    SERIOUS_WARNING = "serious_warning", "严重警告"
    REMOVAL_FROM_POST = "removal_from_post", "撤销党内职务"
    PROBATION = "probation", "留党察看"


class Discipline(ScopedModel):
    """党纪处分 on a member: sensitive personal information (DOMAIN-RULES §7.3), shown only on the worker's
    member page and to the member, never in lists or exports.

    The row belongs to the member's CURRENT organisation: `org_path` copies the member's, `member_move`
    rewrites it in the same transaction and an organisation move rewrites it as the scope's path column.
    When it is in effect: `selectors.discipline_in_effect`.
    """

    member = models.ForeignKey(Member, verbose_name="党员", on_delete=models.PROTECT, related_name="disciplines")
    org_path = models.CharField(max_length=255, editable=False)
    kind = models.CharField("处分种类", max_length=24, choices=DisciplineKind.choices)
    decided_on = models.DateField("处分日期")
    decided_by = models.CharField("作出处分的党组织", max_length=100)
    in_effect_until = models.DateField("影响期至", null=True, blank=True)  # 留党察看: 察看期至; inclusive
    rights_restored_on = models.DateField("恢复党员权利日期", null=True, blank=True)  # 留党察看 only
    document_number = models.CharField("文号", max_length=50, blank=True)
    note = models.CharField("备注", max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "党纪处分"
        ordering = ["member_id", "-decided_on", "-id"]
        indexes = [models.Index(fields=["member", "decided_on"], name="discipline_member_day")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(in_effect_until__isnull=True) | models.Q(in_effect_until__gte=models.F("decided_on")),
                name="discipline_until_not_before_decided",
            ),
            models.CheckConstraint(
                condition=models.Q(rights_restored_on__isnull=True)
                | models.Q(kind="probation", rights_restored_on__gte=models.F("decided_on")),
                name="discipline_restored_probation_only",
            ),
        ]

    class ScopeMeta:
        path = "org_path"
        member = "member_id"
        follows_member = True

    def __str__(self):
        return f"{self.member} {self.get_kind_display()}（{self.decided_on}）"


class MemberTally(ScopedModel):
    """党员统计汇总: how many members of the subtree at `org_path` have `value` in `dimension`.

    One row set per organisation, holding its whole subtree (in the status, its own members and every
    descendant's; in the other dimensions, the descendants' only: members.tallies), so the root's statistics
    read only the root's few hundred rows: no range, no sum over descendants (bench/, issue 8: counting
    1,000,000 index entries took 2.4 s on SQLite). Kept by `members.tallies.tally_apply`
    in the same transaction as every change of a member (create, update, move, import, seed) and of the tree
    (organisation move, sector change); `manage.py rebuild_member_tallies` recomputes them from the members.
    Dimensions: see `members.tallies.DIMENSIONS`.
    """

    org_path = models.CharField(max_length=255)
    dimension = models.CharField(max_length=24)
    value = models.CharField(max_length=24)
    count = models.IntegerField(default=0)

    class Meta:
        verbose_name = "党员统计汇总"
        # The unique index (org_path, dimension, value) is the upsert's conflict target and also answers
        # `org_path = X` and `org_path = X AND dimension = Y` from its prefix.
        constraints = [
            models.UniqueConstraint(fields=["org_path", "dimension", "value"], name="member_tally_key"),
        ]
        # The status rows across every organisation (the workbench's size warnings read only those), covering
        # on SQLite (TallyIndex: PostgreSQL leaves the count out so counter updates stay heap-only). Partial:
        # the counters of the other dimensions (six of seven, birth months the most) have no entry here.
        indexes = [TallyIndex(fields=["org_path", "value", "dimension"], counters=["count"],
                              name="member_tally_dimension", condition=models.Q(dimension="status"))]

    class ScopeMeta:
        path = "org_path"
        member = None
        tally_keys = ("dimension", "value")  # orgs.tallies: the counter's key after org_path
        tally_sums = ("count",)
        tally_move = "dangjian.members.tallies.move_deltas"  # direct members beside the row set (orgs.tallies)

    def __str__(self):
        return f"{self.org_path} {self.dimension}={self.value}: {self.count}"


# Key rotation (manage.py rotate_field_keys) re-encrypts and re-hashes every column declared here.
crypto.register_encrypted(Member, "id_number_encrypted", digest="id_number_digest")
crypto.register_encrypted(Member, "phone_encrypted", digest="phone_digest")
