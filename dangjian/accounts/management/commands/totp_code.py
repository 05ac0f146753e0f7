"""`manage.py totp_code USERNAME`: print a user's current second-factor code, for a demo without a phone.

Only with DEBUG=True (the demo's `.env`); never on a production server, where it would make the second
factor worthless to whoever can run commands there. Every use is audited as accounts.totp.code_shown.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dangjian.accounts.models import User
from dangjian.accounts.services import totp_code_show
from dangjian.core.actors import SYSTEM
from dangjian.core.errors import DomainError


class Command(BaseCommand):
    help = ("显示某个账号当前的双因素认证验证码（仅限演示或调试环境，DEBUG=True 时可用），供没有手机时演示登录；"
            "每次使用都记入审计日志。账号须先用密码登录并打开绑定页面，才有密钥。")

    def add_arguments(self, parser):
        parser.add_argument("username", help="用户名")

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("本命令只能在演示或调试环境（DJANGO_DEBUG=true）中使用：生产环境请使用手机上的认证器应用。")
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"没有用户名为 {options['username']} 的账号")
        try:
            code, seconds = totp_code_show(actor=SYSTEM, user=user)
        except DomainError as e:
            raise CommandError(e.message) from None
        self.stdout.write(f"{user.username} 的验证码：{code}（约 {seconds} 秒内有效，只能使用一次）")
