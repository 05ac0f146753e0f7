from django.core.management.base import BaseCommand, CommandError

from dangjian.audit.selectors import audit_chain_verify


class Command(BaseCommand):
    help = "校验审计日志哈希链，报告第一处断链。"

    def handle(self, *args, **options):
        report = audit_chain_verify()
        if report.ok:
            self.stdout.write(f"审计日志完整：共校验 {report.checked} 条记录。")
            return
        where = f"在第 {report.broken_at} 号记录处断链：" if report.broken_at is not None else "不完整："
        raise CommandError(f"审计日志{where}{report.reason}（此前 {report.checked} 条完好）。")
