from django.core.management.base import BaseCommand, CommandError

from dangjian.audit.models import AuditArchive
from dangjian.audit.selectors import archive_orphans, audit_chain_verify


class Command(BaseCommand):
    help = "校验审计日志哈希链（含各归档文件及其与在线日志的衔接），报告第一处断链。"

    def handle(self, *args, **options):
        report = audit_chain_verify()
        if report.ok:
            segments = AuditArchive.objects.count()
            where = f"（其中 {segments} 个归档段，归档文件均与登记相符）" if segments else ""
            self.stdout.write(f"审计日志完整：共校验 {report.checked} 条记录{where}。")
            for name in archive_orphans():
                self.stdout.write(f"提示：归档文件 {name} 未登记为任何归档段（归档中断时留下，其中的记录仍在线或已在其他段中），核对后可删除。")
            return
        where = f"在第 {report.broken_at} 号记录处断链：" if report.broken_at is not None else "不完整："
        raise CommandError(f"审计日志{where}{report.reason}（此前 {report.checked} 条完好）。")
