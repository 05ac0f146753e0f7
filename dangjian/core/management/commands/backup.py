"""`manage.py backup --to DIR`: a checked copy of the configured database (docs/deploy.md)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from dangjian.core import backup


class Command(BaseCommand):
    help = (
        "备份当前配置的数据库到指定目录，文件名为 dangjian-年月日-时分秒，权限 600。"
        "SQLite 使用在线备份接口（网站不必停止），并对副本做 PRAGMA integrity_check；"
        "PostgreSQL 使用 pg_dump --format=custom，并用 pg_restore --list 检查备份文件。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--to", required=True, type=Path, metavar="DIR",
                            help="备份目录（不存在时创建，权限 700）")

    def handle(self, *args, **options):
        try:
            result = backup.backup_database(connection, options["to"])
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"已备份 {backup.database_label(connection)} 到 {result.path}"
            f"（{backup.human_size(result.size)}；校验 {result.check}）。"
        )
