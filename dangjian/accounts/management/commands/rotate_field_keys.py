"""Re-encrypt personal fields with the current key and (--rehash) recompute lookup digests."""

from django.core.management.base import BaseCommand

from dangjian.core.actors import SYSTEM
from dangjian.core.context import origin

from ...keys import field_keys_rotate, rows_under_old_keys


class Command(BaseCommand):
    help = ("用 DANGJIAN_FIELD_KEYS 的第一个密钥重新加密身份证号、手机号等字段；--rehash 重算检索摘要"
            "（更换 DANGJIAN_LOOKUP_KEY 或开启国密模式之后）；--check 只报告仍由旧密钥加密的记录数")

    def add_arguments(self, parser):
        parser.add_argument("--rehash", action="store_true", help="同时重算检索摘要")
        parser.add_argument("--check", action="store_true", help="只统计仍由旧密钥加密的记录")
        parser.add_argument("--batch", type=int, default=2000)

    def handle(self, *args, rehash, check, batch, **options):
        if check:
            left = rows_under_old_keys()
            for label, n in sorted(left.items()):
                self.stdout.write(f"{label}: {n}")
            self.stdout.write("可以移除旧密钥。" if not any(left.values()) else "仍有记录由旧密钥加密，先运行本命令。")
            return
        with origin("command"):
            done = field_keys_rotate(actor=SYSTEM, rehash=rehash, batch=batch)
        for label, n in sorted(done.items()):
            self.stdout.write(f"{label}: {n}")
        self.stdout.write(f"完成：重新加密 {sum(v for k, v in done.items() if not k.endswith('.digest'))} 项。")
