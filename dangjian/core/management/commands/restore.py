"""`manage.py restore --from FILE --yes`: put a backup made by `manage.py backup` back (docs/deploy.md)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from dangjian.audit.selectors import audit_chain_verify
from dangjian.core import backup


class Command(BaseCommand):
    help = (
        "用 manage.py backup 生成的备份覆盖当前配置的数据库，然后校验审计日志哈希链。"
        "会丢失备份之后的全部修改：先停止所有应用服务器和后台任务，并加 --yes 确认。"
        "SQLite 按页复制备份文件覆盖数据库文件；PostgreSQL 使用 "
        "pg_restore --clean --if-exists --no-owner（单一事务，失败时数据库保持原样）。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="source", required=True, type=Path, metavar="FILE",
                            help="备份文件（.sqlite3 或 .dump）")
        parser.add_argument("--yes", action="store_true", help="确认覆盖当前数据库")

    def handle(self, *args, **options):
        source = options["source"]
        label = backup.database_label(connection)
        if not source.is_file():
            raise CommandError(f"备份文件不存在：{source}")
        if not options["yes"]:
            raise CommandError(
                f"警告：恢复会用备份 {source} 覆盖 {label} 中的全部数据，备份之后的所有修改（包括审计日志）"
                "都将丢失，且无法撤销。请先停止全部应用服务器和后台任务，确认这正是要恢复的备份，"
                "然后加 --yes 重新运行。未做任何改动。"
            )
        try:
            check = backup.restore_database(connection, source)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"已用备份 {source} 恢复 {label}（{check}）。")
        report = audit_chain_verify()
        if not report.ok:
            where = f"在第 {report.broken_at} 号记录处断链：" if report.broken_at is not None else "不完整："
            raise CommandError(f"恢复已完成，但审计日志{where}{report.reason}（此前 {report.checked} 条完好）。")
        self.stdout.write(f"审计日志完整：共校验 {report.checked} 条记录。")
