"""District-wide reference data that every app reads. Not scoped: it belongs to no organisation."""

from django.db import models


class DayKind(models.TextChoices):
    HOLIDAY = "holiday", "法定节假日（休）"
    WORKDAY = "workday", "调休上班（班）"


class CalendarDay(models.Model):
    """One day that differs from the plain Monday-to-Friday week, as the 国务院办公厅 notice of the year sets
    it: a weekday off (休) or a weekend day worked (班). `dangjian.core.calendar.work_calendar()` reads them;
    the district administrator keeps them (`dangjian.orgs.calendar_services`)."""

    date = models.DateField("日期", unique=True)
    kind = models.CharField("类别", max_length=10, choices=DayKind.choices)
    name = models.CharField("名称", max_length=30, blank=True, help_text="如：国庆节、国庆节调休")

    class Meta:
        verbose_name = "节假日安排"
        ordering = ["date"]

    def __str__(self):
        return f"{self.date:%Y-%m-%d} {'休' if self.kind == DayKind.HOLIDAY else '班'} {self.name}".rstrip()
