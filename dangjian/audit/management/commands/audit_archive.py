from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from dangjian.audit.selectors import audit_archive_plan
from dangjian.audit.services import ARCHIVE_MAX_ENTRIES, archive_older_than
from dangjian.core.actors import SYSTEM
from dangjian.core.errors import DomainError


def _local(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")


class Command(BaseCommand):
    help = "把超过在线保存期（DANGJIAN_AUDIT_ONLINE_MONTHS）的审计日志归档为文件（每次一段）；--dry-run 只显示将归档的范围。"

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="只显示将归档哪些记录，不写文件、不删除")
        parser.add_argument("--max-entries", type=int, default=ARCHIVE_MAX_ENTRIES, help="本段最多归档的记录数")

    def handle(self, *args, dry_run, max_entries, **options):
        if max_entries < 1:
            raise CommandError("--max-entries 应为正整数")
        if dry_run:
            plan = audit_archive_plan(now=timezone.now(), max_entries=max_entries)
            if plan is None:
                self.stdout.write("没有早于保存期的审计记录，无需归档。")
                return
            self.stdout.write(
                f"将归档 {plan.count} 条审计记录：第 {plan.first_id}–{plan.last_id} 号，"
                f"时间 {_local(plan.first_created_at)} 至 {_local(plan.last_created_at)}（早于 {_local(plan.cutoff)}）。未做任何改动。"
            )
            return
        try:
            segment = archive_older_than(actor=SYSTEM, max_entries=max_entries)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if segment is None:
            self.stdout.write("没有早于保存期的审计记录，无需归档。")
            return
        self.stdout.write(
            f"已归档第 {segment.sequence} 段：{segment.count} 条记录（第 {segment.first_entry_id}–{segment.last_entry_id} 号），"
            f"文件 {segment.file_name}（{segment.file_size} 字节，{segment.file_algorithm} {segment.file_hash}）。"
        )
