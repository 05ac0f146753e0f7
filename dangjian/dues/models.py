"""党费: a yearly assessment per member, payments per member per month, the paid-up-to month, reductions.

Money is integer 分. Months are stored as the first day of the month (`2026-11-01` is November 2026).

Scoping: an assessment and a member's dues account follow the member: the branch that holds the member's
formal relationship collects the dues (DOMAIN-RULES §3.3), so a member who moves takes their dues record
along. Each carries a copy of the member's path (`org_path`, `ScopeMeta.follows_member`: members.services
rewrites it in the same transaction as every move), so a subtree's accounts are one index range without a
join to a million members. A payment keeps the path of the branch that collected it, so each branch's yearly
public_notice and statistics show what that branch actually received.

The statistics read `DuesTally` (dues/tallies.py), kept in the same transaction as every change.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from dangjian.core.scoping import ScopedModel

from .rules import Category


class DuesAssessment(ScopedModel):
    """年度党费核定: category, base and monthly amount of one member for one year, fixed at the start of the
    year (a later change is a correction, or waits for next year; see services.assessment_set)."""

    member = models.ForeignKey("members.Member", verbose_name="党员", on_delete=models.PROTECT,
                               related_name="dues_assessments")
    org_path = models.CharField(max_length=255, editable=False, default="")  # the member's (follows_member)
    year = models.PositiveSmallIntegerField("年度")
    category = models.CharField("交纳类别", max_length=16, choices=Category.choices)
    dues_base_fen = models.PositiveBigIntegerField("月交纳基数（分）", default=0)
    standard_fen = models.PositiveIntegerField("按标准月交纳额（分）")
    monthly_fen = models.PositiveIntegerField("月交纳额（分）")  # standard, or the approved reduced amount
    rate_bp = models.PositiveSmallIntegerField("比例（万分之）", null=True, blank=True)
    first_month = models.PositiveSmallIntegerField("起交月份", default=1)  # 1..12
    note = models.CharField("备注", max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "年度党费核定"
        ordering = ["member_id", "year"]
        constraints = [
            models.UniqueConstraint(fields=["member", "year"], name="dues_one_assessment_per_year"),
            models.CheckConstraint(condition=Q(first_month__gte=1) & Q(first_month__lte=12),
                                   name="dues_first_month_valid"),
            models.CheckConstraint(condition=Q(monthly_fen__lte=F("standard_fen")), name="dues_reduced_not_above"),
        ]
        indexes = [
            models.Index(fields=["year", "member", "monthly_fen", "first_month"], name="dues_assess_year"),
            # 免交 (approved amount 0) of a year in a subtree: the statistics subtract them from the arrears
            models.Index(fields=["year", "monthly_fen", "org_path"], name="dues_assess_waived"),
        ]

    class ScopeMeta:
        path = "org_path"
        member = "member_id"
        follows_member = True

    def __str__(self):
        return f"{self.member_id} {self.year}年党费"

    @classmethod
    def tally_contributions(cls, rows):
        """What these rows add to the counters (members.services moves them with the member)."""
        from .tallies import assessment_contribution

        return [assessment_contribution(a.year, a.first_month, a.monthly_fen)
                for a in rows.only("year", "first_month", "monthly_fen")]

    @property
    def months_due(self) -> int:
        return 13 - self.first_month

    @property
    def yearly_fen(self) -> int:
        return self.monthly_fen * self.months_due

    @property
    def is_reduced(self) -> bool:
        return self.monthly_fen < self.standard_fen

    @property
    def rate_label(self) -> str:
        return "定额" if self.rate_bp is None else f"{self.rate_bp / 100:g}%"


class DuesAccount(ScopedModel):
    """A member's dues position: every due month up to `paid_up_to` is settled (已交至). Months are paid in
    order, so this one month says everything; it is moved in the same transaction as each payment and is
    what the transfers module reads (`selectors.paid_up_to`). Arrears on a day = whole months after it and
    before the current month."""

    member = models.OneToOneField("members.Member", verbose_name="党员", on_delete=models.PROTECT,
                                  related_name="dues_account")
    org_path = models.CharField(max_length=255, editable=False, default="")  # the member's (follows_member)
    paid_up_to = models.DateField("已交至")  # first day of the last settled month
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "党费账户"
        # The arrears list: longest owing first, the subtree checked inside the index (no table row is read
        # for an account outside it), so page 1 of the whole city reads about 20 index entries.
        indexes = [models.Index(fields=["paid_up_to", "member", "org_path"], name="dues_account_owing")]

    class ScopeMeta:
        path = "org_path"
        member = "member_id"
        follows_member = True

    def __str__(self):
        return f"{self.member_id} 已交至 {self.paid_up_to:%Y-%m}"

    @classmethod
    def tally_contributions(cls, rows):
        from .tallies import account_contribution

        return [account_contribution(paid) for paid in rows.values_list("paid_up_to", flat=True)]


class Method(models.TextChoices):
    MONTHLY = "monthly", "按月交纳"
    THEME_DAY = "theme_day", "主题党日集中收缴"
    PROXY = "proxy", "委托代交"
    QUARTERLY = "quarterly", "按季度交纳（经支部同意）"
    BACKPAY = "backpay", "补交"
    PREPAY = "prepay", "预交（经支部同意）"


class PaymentKind(models.TextChoices):
    DUE = "due", "应交党费"
    VOLUNTARY = "voluntary", "自愿多交"


class DuesPayment(ScopedModel):
    """One month of dues received (kind=due: at most one per member and month), or a voluntary extra."""

    member = models.ForeignKey("members.Member", verbose_name="党员", on_delete=models.PROTECT,
                               related_name="dues_payments")
    organization = models.ForeignKey("orgs.Organization", verbose_name="收缴党组织", on_delete=models.PROTECT,
                                     related_name="dues_payments")
    org_path = models.CharField(max_length=255, editable=False)
    assessment = models.ForeignKey(DuesAssessment, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="payments")
    kind = models.CharField("类型", max_length=16, choices=PaymentKind.choices, default=PaymentKind.DUE)
    month = models.DateField("所属月份")  # first day of the month
    amount_fen = models.PositiveBigIntegerField("金额（分）")
    method = models.CharField("交纳方式", max_length=16, choices=Method.choices)
    proxy_name = models.CharField("代交人", max_length=50, blank=True)
    paid_on = models.DateField("交纳日期")
    collected_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="经手人", null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField("登记时间", auto_now_add=True)
    note = models.CharField("备注", max_length=200, blank=True)

    class Meta:
        verbose_name = "党费交纳记录"
        ordering = ["member_id", "month", "id"]
        constraints = [
            models.UniqueConstraint(fields=["member", "month"], condition=Q(kind="due"), name="dues_one_payment_per_month"),
            models.CheckConstraint(condition=Q(kind="voluntary") | Q(assessment__isnull=False),
                                   name="dues_due_has_assessment"),
        ]
        indexes = [models.Index(fields=["org_path", "month", "kind", "amount_fen"], name="dues_payment_scope")]

    class ScopeMeta:
        path = "org_path"
        member = "member_id"

    def __str__(self):
        return f"{self.member_id} {self.month:%Y-%m} {self.amount_fen}分"


class ReductionStatus(models.TextChoices):
    REQUESTED = "requested", "待上级党委审批"
    APPROVED = "approved", "已批准"
    REJECTED = "rejected", "未批准"


class DuesReduction(ScopedModel):
    """困难党员少交或免交党费: requested by the branch, decided by the next higher 党委 (workflow.py)."""

    assessment = models.ForeignKey(DuesAssessment, on_delete=models.PROTECT, related_name="reductions")
    member = models.ForeignKey("members.Member", verbose_name="党员", on_delete=models.PROTECT,
                               related_name="dues_reductions")
    monthly_fen = models.PositiveIntegerField("申请月交纳额（分）")  # 0 = 免交
    reason = models.CharField("困难情况", max_length=500)
    status = models.CharField("状态", max_length=16, choices=ReductionStatus.choices,
                              default=ReductionStatus.REQUESTED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                     related_name="+")
    requested_at = models.DateTimeField("申请时间", auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField("审批时间", null=True, blank=True)
    decision_note = models.CharField("审批意见", max_length=500, blank=True)

    class Meta:
        verbose_name = "党费减免申请"
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["assessment"], condition=Q(status="requested"),
                                    name="dues_one_open_reduction"),
        ]

    class ScopeMeta:
        path = "member__org_path"
        member = "member_id"

    def __str__(self):
        return f"{self.member_id} 减免申请 {self.get_status_display()}"


class DuesTally(ScopedModel):
    """党费汇总: for the subtree at `org_path`, one counter per (metric, key) — how many rows and how many 分.

    Like members.MemberTally, one row set per organisation holds its WHOLE subtree (orgs.tallies), so the
    statistics of the root of a city read its children's few hundred rows instead of 4.6 million
    assessments, 9.5 million payments and a million accounts (21 s of SQL at 1,000,000 members). Metrics
    (dues/tallies.py): `assessed` (key "YYYY-MM": the assessment's year and first due month; sum = monthly
    amounts), `paid` and `voluntary` (key: the month paid for; by the collecting branch), `account` (key:
    已交至). Kept in the same transaction by every dues service, by members' moves and leaves (the
    assessments and accounts follow the member) and by organisation moves; `manage.py rebuild_dues_tallies`
    recomputes them.
    """

    org_path = models.CharField(max_length=255)
    metric = models.CharField(max_length=16)
    key = models.CharField(max_length=7)
    count = models.BigIntegerField(default=0)
    amount_fen = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "党费汇总"
        constraints = [models.UniqueConstraint(fields=["org_path", "metric", "key"], name="dues_tally_key")]

    class ScopeMeta:
        path = "org_path"
        member = None
        tally_keys = ("metric", "key")
        tally_sums = ("count", "amount_fen")

    def __str__(self):
        return f"{self.org_path} {self.metric} {self.key}: {self.count} / {self.amount_fen}分"
