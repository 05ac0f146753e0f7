"""`manage.py seed_demo_activity`: a few months of activity on top of the demo district, so a newcomer's
`make run` shows meetings, dues, bases, greetings and recruitment cases instead of empty pages. Everything goes through the
services (validated, audited) as a worker's actions would; a second run does nothing."""

import datetime as dt
import decimal

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from dangjian.bases.models import Site
from dangjian.bases.services import site_create, slots_create
from dangjian.core.actors import SYSTEM
from dangjian.core.scoping import system_scope
from dangjian.dues.services import assessment_set, payment_record
from dangjian.meetings.services import theme_day_plan_year
from dangjian.members.models import Member, MemberStatus, Standing
from dangjian.orgs.models import BRANCH_KINDS, Organization
from dangjian.recruitment.demo import seed_cases
from dangjian.recruitment.services import approving_committee

BRANCHES = 3  # the first branches (by tree order) that have members
DUES_BASE_FEN = 650_000  # 6,500.00 元 a month


class Command(BaseCommand):
    help = "在示范区数据上补充会议计划、党费、党建阵地和预约时段（已有阵地时不做任何事）"

    def handle(self, *args, **options):
        today = timezone.localdate()
        with system_scope("seed_demo_activity: demo content for make run"):
            if Site.objects.exists():
                self.stdout.write("已有党建阵地，未补充演示活动数据。")
                return
            root = Organization.objects.filter(parent__isnull=True).order_by("path").first()
            if root is None:
                self.stdout.write("没有党组织：先运行 seed_demo。")
                return
            with transaction.atomic():
                branches = self._branches()
                planned = sum(theme_day_plan_year(actor=SYSTEM, organization=b, year=today.year) for b in branches)
                paid = self._dues(branches[0], today) if branches else 0
                slots = self._bases(root, today)
                cases = self._recruitment(today)
        self.stdout.write(f"主题党日计划 {planned} 次；党费登记 {paid} 人；预约时段 {slots} 个；发展党员档案 {cases} 份。")

    @staticmethod
    def _branches() -> list[Organization]:
        with_members = Member.objects.values_list("organization_id", flat=True).distinct()
        return list(Organization.objects.filter(kind__in=BRANCH_KINDS, is_dissolved=False, pk__in=with_members)
                    .order_by("path")[:BRANCHES])

    @staticmethod
    def _dues(branch: Organization, today: dt.date) -> int:
        """One branch's members assessed for the year, paid on paper up to three months ago (此前已交至) and
        on the platform for the two months after; every fourth member has paid nothing since (in arrears)."""
        members = list(Member.objects.filter(organization=branch).order_by("pk")[:30])
        if today.month <= 3:
            return 0  # early in a year the demo has no history to show
        paper = dt.date(today.year, today.month - 3, 1)
        for i, member in enumerate(members):
            assessment_set(actor=SYSTEM, member=member, year=today.year, category="employed",
                           dues_base_fen=DUES_BASE_FEN + i * 10_000, first_month=1, paid_through=paper)
            if i % 4 != 3:
                payment_record(actor=SYSTEM, member=member, first_month=dt.date(today.year, today.month - 2, 1),
                               months=2, method="theme_day", paid_on=today)
        return len(members)

    @staticmethod
    def _recruitment(today: dt.date) -> int:
        """Six recruitment cases, one per stage, in the first branch whose 党委 may approve 预备党员."""
        for branch in Organization.objects.filter(kind__in=BRANCH_KINDS, is_dissolved=False).order_by("path"):
            members = list(Member.objects.filter(organization=branch, status=MemberStatus.FULL,
                                                 standing=Standing.NORMAL).order_by("pk")[:4])
            if len(members) == 4 and approving_committee(branch) is not None:
                return seed_cases(SYSTEM, branch, members, today)
        return 0

    @staticmethod
    def _bases(root: Organization, today: dt.date) -> int:
        common = {"street": "", "opens_at": dt.time(9), "closes_at": dt.time(17), "open_weekdays": "01234",
                  "contact_name": "阵地管理员", "contact_phone": "010-12345678", "contact_public": True,
                  "requires_approval": True, "is_published": True}
        base = site_create(actor=SYSTEM, organization=root, data=common | {
            "name": "红色教育开放式组织生活基地", "kind": "activity_base", "category": "red",
            "address": "示范区人民路1号", "longitude": decimal.Decimal("116.397500"),
            "latitude": decimal.Decimal("39.908700"), "capacity": 60,
            "services": "主题党日\n党课\n重温入党誓词", "description": "可容纳60人的展厅和报告厅。"})
        site_create(actor=SYSTEM, organization=root, data=common | {
            "name": "示范区党群服务中心", "kind": "service_centre", "category": "",
            "address": "示范区建设路8号", "longitude": decimal.Decimal("116.410000"),
            "latitude": decimal.Decimal("39.915000"), "capacity": 120, "requires_approval": False,
            "services": "党员教育\n便民服务\n志愿服务", "description": "区级党群服务中心。"})
        first = today + dt.timedelta(days=1)
        return slots_create(actor=SYSTEM, site=base, first=first, last=first + dt.timedelta(days=13),
                            times=[(dt.time(9), dt.time(11, 30)), (dt.time(14, 30), dt.time(17))])
