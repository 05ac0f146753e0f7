"""`manage.py seed_demo --members N --seed S`: fill an empty database with a realistic demo district."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import time
import unicodedata

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from dangjian.accounts.models import User
from dangjian.core.scoping import system_scope
from dangjian.members import demo
from dangjian.orgs.models import Organization, OrgKind

DEMO_ENV_VAR = "DANGJIAN_DEMO_PASSWORD"
LOGINS_FILE = "demo-logins.txt"
LOGIN_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"  # no 0/O, 1/l/I


class Command(BaseCommand):
    help = (
        "在空数据库中生成演示数据：区委、街道党工委、社区和两新组织、区直机关、学校，党员名册、班子成员和演示账号"
        "（区委、街道党工委、支部、党员本人及系统、安全、审计三员各一个账号）。同一 --seed 生成相同的数据。"
        f"演示账号的密码取自环境变量 {DEMO_ENV_VAR}，未设置时每次随机生成；账号表在结束时打印，"
        f"并写入 VAR_DIR/{LOGINS_FILE}（权限 600），make run 以后启动时可再次显示。"
        "数据库中已有党组织时不做任何改动：加 --if-empty 时只提示并正常退出（make run 每次启动都这样调用），"
        "否则报错退出。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--members", type=int, default=2000, help=f"党员人数（默认 2000，至少 {demo.MIN_MEMBERS}）")
        parser.add_argument("--seed", type=int, default=1, help="随机种子：相同的种子生成相同的数据（默认 1）")
        parser.add_argument("--today", type=dt.date.fromisoformat, default=None,
                            help="参照日期 YYYY-MM-DD，年龄、入党时间和任期按此计算（默认今天）")
        parser.add_argument("--batch-size", type=int, default=2000, help="每批写入的党员数（默认 2000）")
        parser.add_argument("--if-empty", action="store_true",
                            help="数据库不为空时只提示、不报错（供 make run 每次启动时调用）")

    def handle(self, *args, **options):
        started = time.perf_counter()
        members = options["members"]
        if members < demo.MIN_MEMBERS:
            raise CommandError(f"--members 至少为 {demo.MIN_MEMBERS}")
        today = options["today"] or timezone.localdate()
        with system_scope("seed_demo: building the demo district"):
            # Unscoped on purpose: "is the database empty" is a question about the whole platform.
            refusal = None
            if Organization.unscoped.exists():
                refusal = "数据库中已有党组织，未生成演示数据（演示数据只能在空数据库中生成）。"
            elif taken := sorted(User.objects.filter(username__in=demo.DEMO_USERNAMES).values_list("username", flat=True)):
                refusal = f"用户名 {'、'.join(taken)} 已存在，未生成演示数据（演示账号需要这些用户名）。"
            if refusal:
                if not options["if_empty"]:
                    raise CommandError(refusal)
                if options["verbosity"] >= 1:
                    self.stdout.write(refusal)
                return
            password = self._password()
            say = self.stdout.write if options["verbosity"] >= 2 else None
            result = demo.load_district(
                members=members, seed=options["seed"], today=today, district_name=settings.DANGJIAN_DISTRICT_NAME,
                password=password, batch_size=options["batch_size"], progress=say,
            )
        logins_path = self._write_logins(result, options["seed"], today)
        self._print_summary(result, time.perf_counter() - started)
        self._print_logins(result, logins_path)

    def _password(self) -> str:
        from_env = os.environ.get(DEMO_ENV_VAR, "")
        if from_env:
            try:
                validate_password(from_env)
            except ValidationError as e:
                raise CommandError(f"环境变量 {DEMO_ENV_VAR} 中的密码不符合密码规则：{'；'.join(e.messages)}") from None
            return from_env
        # a random password that passes the platform's own rules (checked, so a rule change shows up here)
        while True:
            candidate = "".join(secrets.choice(LOGIN_ALPHABET) for _ in range(14))
            try:
                validate_password(candidate)
            except ValidationError:
                continue
            return candidate

    def _write_logins(self, result: demo.SeedResult, seed: int, today: dt.date):
        path = settings.VAR_DIR / LOGINS_FILE
        lines = [
            f"# 演示账号（seed_demo --members {result.members} --seed {seed}，参照日期 {today.isoformat()}，"
            f"生成于 {timezone.localtime():%Y-%m-%d %H:%M}）",
            "# 仅供演示环境使用；正式上线前请删除演示数据和本文件。",
            *_table(result.logins),
        ]
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write("\n".join(lines) + "\n")
            os.chmod(path, 0o600)  # an existing file keeps its old mode through O_CREAT
        except OSError as e:
            self.stderr.write(self.style.WARNING(f"无法写入 {path}：{e}（账号表见下方）"))
            return None
        return path

    def _print_summary(self, result: demo.SeedResult, seconds: float) -> None:
        kinds = "，".join(f"{OrgKind(k).label} {result.orgs_by_kind[k]}" for k in OrgKind.values if result.orgs_by_kind[k])
        total = sum(result.orgs_by_kind.values())
        self.stdout.write(self.style.SUCCESS("演示数据已生成。"))
        self.stdout.write(f"党组织 {total} 个：{kinds}")
        self.stdout.write(f"党员 {result.members} 名（其中预备党员 {result.probationary} 名），班子成员 {result.seats} 名")
        self.stdout.write(f"用时 {seconds:.1f} 秒")

    def _print_logins(self, result: demo.SeedResult, path) -> None:
        self.stdout.write("")
        self.stdout.write("演示账号：")
        for line in _table(result.logins):
            self.stdout.write("  " + line)
        if path is not None:
            self.stdout.write(f"账号表已保存到 {path}")


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _table(logins: list[demo.DemoLogin]) -> list[str]:
    rows = [("用户名", "角色", "所在组织", "密码")] + [(x.username, x.role_label, x.organization, x.password) for x in logins]
    widths = [max(_width(r[i]) for r in rows) for i in range(4)]
    return ["  ".join(cell + " " * (widths[i] - _width(cell)) for i, cell in enumerate(r)).rstrip() for r in rows]
