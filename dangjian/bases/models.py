"""党建阵地 (sites), the time slots of a 开放式组织生活基地, and the branches' reservations of them.

A site belongs to the organisation that manages it (scoped by its path). A reservation has two sides: the
branch that booked (`org_path`) and the base's managing organisation (`site_path`); each side sees it
(see selectors.reservations_visible). Capacity is per slot; active reservations hold places.
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from dangjian.core.scoping import ScopedModel


class SiteKind(models.TextChoices):
    SERVICE_CENTRE = "service_centre", "党群服务中心"
    ACTIVITY_BASE = "activity_base", "开放式组织生活基地"
    MODEL_SITE = "model_site", "党建示范点"
    SERVICE_STATION = "service_station", "党群服务站"


class BaseCategory(models.TextChoices):
    BASIC = "basic", "基础型"
    RED = "red", "红色型"
    WELFARE = "welfare", "公益型"
    TECHNOLOGY = "technology", "科技型"


WEEKDAY_LABELS = "一二三四五六日"  # Monday = 0


class Site(ScopedModel):
    organization = models.ForeignKey("orgs.Organization", verbose_name="管理组织", on_delete=models.PROTECT,
                                     related_name="sites")
    org_path = models.CharField(max_length=255, db_index=True)
    name = models.CharField("名称", max_length=100)
    kind = models.CharField("类型", max_length=20, choices=SiteKind.choices)
    category = models.CharField("基地类别", max_length=20, choices=BaseCategory.choices, blank=True)
    address = models.CharField("地址", max_length=200)
    street = models.CharField("所属街道", max_length=50, blank=True, db_index=True)
    longitude = models.DecimalField("经度", max_digits=9, decimal_places=6, null=True, blank=True)
    latitude = models.DecimalField("纬度", max_digits=8, decimal_places=6, null=True, blank=True)
    opens_at = models.TimeField("开放时间（起）", default=dt.time(9, 0))
    closes_at = models.TimeField("开放时间（止）", default=dt.time(17, 0))
    open_weekdays = models.CharField("开放日", max_length=7, default="01234",
                                     help_text="星期几开放：0=周一 … 6=周日")
    hours_note = models.CharField("开放时间说明", max_length=200, blank=True)
    contact_name = models.CharField("联系人", max_length=50, blank=True)
    contact_phone = models.CharField("联系电话", max_length=30, blank=True)
    contact_public = models.BooleanField("公开联系电话", default=False,
                                         help_text="勾选后联系电话在公开页面显示；请填写办公电话，勿公开个人手机")
    capacity = models.PositiveIntegerField("可容纳人数", default=30)
    services = models.TextField("服务项目", blank=True, help_text="每行一项")
    description = models.TextField("简介", blank=True)
    photo = models.FileField("照片", upload_to="bases/photos/", blank=True)
    requires_approval = models.BooleanField("预约需审核", default=True)
    is_published = models.BooleanField("对外公开", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "党建阵地"
        ordering = ["street", "name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(closes_at__gt=F("opens_at")), name="bases_site_hours_order"),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="bases_site_capacity_positive"),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=73, longitude__lte=136),
                name="bases_site_longitude_china"),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=3, latitude__lte=54),
                name="bases_site_latitude_china"),
        ]

    class ScopeMeta:
        path = "org_path"

    def __str__(self):
        return self.name

    @property
    def is_bookable(self) -> bool:
        return self.kind == SiteKind.ACTIVITY_BASE

    @property
    def service_list(self) -> list[str]:
        return [s.strip() for s in self.services.splitlines() if s.strip()]

    @property
    def weekday_labels(self) -> str:
        return "、".join("周" + WEEKDAY_LABELS[int(d)] for d in sorted(self.open_weekdays))

    @property
    def hours_label(self) -> str:
        return f"{self.weekday_labels} {self.opens_at:%H:%M}–{self.closes_at:%H:%M}"

    def is_open(self, day: dt.date, start: dt.time, end: dt.time) -> bool:
        return str(day.weekday()) in self.open_weekdays and self.opens_at <= start and end <= self.closes_at


class Slot(ScopedModel):
    """A time on a day at a base that branches can book, with its number of places."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="slots", verbose_name="基地")
    org_path = models.CharField(max_length=255, db_index=True)  # the managing organisation's
    date = models.DateField("日期")
    starts_at = models.TimeField("开始时间")
    ends_at = models.TimeField("结束时间")
    capacity = models.PositiveIntegerField("名额（人）")
    is_closed = models.BooleanField("已关闭", default=False)
    closed_reason = models.CharField("关闭原因", max_length=200, blank=True)

    class Meta:
        verbose_name = "预约时段"
        ordering = ["date", "starts_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["site", "date", "starts_at"], name="bases_slot_unique_start"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="bases_slot_time_order"),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="bases_slot_capacity_positive"),
        ]
        indexes = [models.Index(fields=["site", "date"])]

    class ScopeMeta:
        path = "org_path"

    def __str__(self):
        return f"{self.date.isoformat()} {self.starts_at:%H:%M}–{self.ends_at:%H:%M}"

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.date, self.starts_at, tzinfo=timezone.get_current_timezone())

    @property
    def end(self) -> dt.datetime:
        return dt.datetime.combine(self.date, self.ends_at, tzinfo=timezone.get_current_timezone())


class ReservationStatus(models.TextChoices):
    REQUESTED = "requested", "待审核"
    APPROVED = "approved", "已预约"
    CHECKED_IN = "checked_in", "已签到"
    CANCELLED = "cancelled", "已取消"
    REJECTED = "rejected", "未通过"
    NO_SHOW = "no_show", "未到场"
    WAITING = "waiting", "候补中"
    OFFERED = "offered", "候补待确认"
    EXPIRED = "expired", "候补已失效"


# Reservations that hold places of their slot (an offer holds them until its deadline).
HOLDING = (ReservationStatus.REQUESTED, ReservationStatus.APPROVED, ReservationStatus.CHECKED_IN,
           ReservationStatus.OFFERED)
# What the statistics count as a booking received (受理): every booking, not the waiting-list entries.
RECEIVED = (ReservationStatus.REQUESTED, ReservationStatus.APPROVED, ReservationStatus.CHECKED_IN,
            ReservationStatus.CANCELLED, ReservationStatus.REJECTED, ReservationStatus.NO_SHOW)


class Reservation(ScopedModel):
    """网上预约: a branch books N places of a slot, or queues for them on the waiting list."""

    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="reservations", verbose_name="时段")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="reservations", verbose_name="基地")
    branch = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="base_reservations",
                               verbose_name="预约党组织")
    org_path = models.CharField(max_length=255, db_index=True)  # the branch's
    site_path = models.CharField(max_length=255, db_index=True)  # the base's managing organisation's
    people = models.PositiveIntegerField("预约人数")
    purpose = models.CharField("活动内容", max_length=100)
    contact_name = models.CharField("联系人", max_length=50)
    contact_phone = models.CharField("联系电话", max_length=30)
    status = models.CharField("状态", max_length=16, choices=ReservationStatus.choices)
    requested_at = models.DateTimeField("提交时间")
    offer_expires_at = models.DateTimeField("候补答复期限", null=True, blank=True)
    attended = models.PositiveIntegerField("实到人数", null=True, blank=True)
    checked_in_at = models.DateTimeField("签到时间", null=True, blank=True)
    note = models.CharField("说明", max_length=200, blank=True)
    meeting = models.ForeignKey("meetings.Meeting", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+", verbose_name="会议记录")
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        verbose_name = "网上预约"
        ordering = ["requested_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(people__gte=1), name="bases_reservation_people_positive"),
            models.UniqueConstraint(fields=["slot", "branch"], name="bases_reservation_one_open_per_branch",
                                    condition=Q(status__in=["requested", "approved", "checked_in", "waiting",
                                                            "offered"])),
        ]
        indexes = [models.Index(fields=["slot", "status"]), models.Index(fields=["site_path", "status"])]

    class ScopeMeta:
        path = "org_path"
        copied_paths = ("site_path",)  # the base's side: rewritten when its managing organisation moves

    def __str__(self):
        return f"{self.branch.name} {self.slot}"


class ReservationEvent(ScopedModel):
    """The timeline of a reservation: every transition, dated and attributed."""

    reservation = models.ForeignKey(Reservation, on_delete=models.CASCADE, related_name="events")
    org_path = models.CharField(max_length=255, db_index=True)
    at = models.DateTimeField()
    action = models.CharField(max_length=40)
    status = models.CharField(max_length=16, choices=ReservationStatus.choices)
    actor_label = models.CharField(max_length=100)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["at", "id"]

    class ScopeMeta:
        path = "org_path"
