import hashlib
import secrets

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property

from dangjian.audit.models import AppendOnlyModel
from dangjian.core import crypto

from .roles import CAPABILITIES, GLOBAL_CAPABILITIES, Role


class User(AbstractUser):
    display_name = models.CharField("姓名", max_length=50, blank=True)
    # Login security (DOMAIN-RULES §7.1 身份鉴别; `policy.py` reads these, the services write them).
    must_change_password = models.BooleanField("须修改密码", default=False,
                                               help_text="管理员新建账号或设置密码后，用户登录时须先修改密码")
    password_changed_at = models.DateTimeField("密码修改时间", default=timezone.now)
    totp_secret = models.CharField("双因素认证密钥（加密）", max_length=200, blank=True,
                                   help_text="Base32 密钥，以 core.crypto 加密存储")
    totp_confirmed_at = models.DateTimeField("双因素认证启用时间", null=True, blank=True)
    totp_last_step = models.BigIntegerField("最近使用的验证码时间窗", null=True, blank=True,
                                            help_text="同一时间窗的验证码不能再次使用（防重放）")
    # 适老化: bigger type and controls on every page, kept with the account so it follows the person.
    large_font = models.BooleanField("大字模式", default=False)
    # 个人信息保护法 第十七、二十九条: the version of the privacy notice this person last agreed to, kept on the row
    # so `policy.pending_step` compares it with the setting at no query cost; every acceptance is also a
    # ConsentRecord. Empty: never agreed (or withdrew), so the consent page comes first.
    privacy_notice_version = models.CharField("已同意的个人信息保护政策版本", max_length=20, blank=True)

    class Meta:
        verbose_name = "用户"

    def __str__(self):
        return self.display_name or self.username

    @cached_property
    def active_grants(self) -> list["RoleGrant"]:
        """Grants loaded once per request (the middleware and every check reuse them)."""
        if not self.pk:
            return []
        return list(self.grants.filter(revoked_at__isnull=True).select_related("organization"))

    def has_capability(self, capability: str, path: str | None = None) -> bool:
        """Global capabilities need no organisation; the others need a grant on `path` or an ancestor."""
        if capability in GLOBAL_CAPABILITIES:
            return any(capability in CAPABILITIES[g.role] for g in self.active_grants)
        return path is not None and any(path.startswith(p) for p in self.capability_paths(capability))

    def capability_paths(self, capability: str) -> list[str]:
        """The subtrees on which the user holds `capability`."""
        return [g.organization.path for g in self.active_grants if capability in CAPABILITIES[g.role]]

    @property
    def roles(self) -> set[str]:
        return {g.role for g in self.active_grants}

    @property
    def member_or_none(self):
        """The member record linked to this account (members.Member.user), or None for a worker or administrator
        who is not on the roster. Read through the reverse one-to-one: accounts does not import members."""
        try:
            return self.member
        except ObjectDoesNotExist:
            return None

    @property
    def totp_enabled(self) -> bool:
        return bool(self.totp_secret and self.totp_confirmed_at)


class RoleGrant(models.Model):
    user = models.ForeignKey(User, verbose_name="用户", on_delete=models.PROTECT, related_name="grants")
    role = models.CharField("角色", max_length=24, choices=Role.choices)
    organization = models.ForeignKey("orgs.Organization", verbose_name="党组织", on_delete=models.PROTECT,
                                     related_name="role_grants")
    granted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    granted_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "角色授权"
        constraints = [
            models.UniqueConstraint(fields=["user", "role", "organization"], condition=models.Q(revoked_at__isnull=True),
                                    name="one_live_grant_per_user_role_org"),
        ]

    def __str__(self):
        return f"{self.user} · {self.get_role_display()} · {self.organization}"


class ApiToken(models.Model):
    """A client token for /api/v1. Only its SHA-256 is stored; the token itself is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField("用途", max_length=50)
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def digest_of(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @staticmethod
    def new_token() -> str:
        return "dj_" + secrets.token_urlsafe(32)


class PasswordHistory(models.Model):
    """The hashes of a user's most recent passwords (DANGJIAN_PASSWORD_HISTORY of them): none may be reused."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="password_history")
    password = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "历史密码"
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self):
        return f"{self.user_id} @ {self.created_at:%Y-%m-%d}"


class LoginThrottle(models.Model):
    """A database counter shared by every app server: failed logins per account and per address (lockout),
    and login requests per address (rate limit). One row per (scope, key); `throttle.py` reads and writes it."""

    class Scope(models.TextChoices):
        ACCOUNT = "account", "账号"
        ADDRESS = "address", "来源地址"
        RATE = "rate", "请求频率"

    scope = models.CharField("类别", max_length=10, choices=Scope.choices)
    key = models.CharField("用户名或地址", max_length=190)
    count = models.PositiveIntegerField("次数", default=0)
    window_started_at = models.DateTimeField("计数开始时间", default=timezone.now)
    locked_until = models.DateTimeField("锁定至", null=True, blank=True)

    class Meta:
        verbose_name = "登录限制计数"
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="one_login_throttle_per_scope_key")]

    def __str__(self):
        return f"{self.scope}:{self.key} ×{self.count}"


class ConsentRecord(AppendOnlyModel):
    """One acceptance of one version of the privacy notice (个人信息保护法 第十四、二十九条: consent is given by
    the person, informed, for the notice shown): who, which version, when, from where. Append-only, like the
    audit log it is also written to: the proof of consent is never edited; a withdrawal is a new audit entry
    and an emptied `User.privacy_notice_version`, never a changed record."""

    user = models.ForeignKey(User, verbose_name="用户", on_delete=models.PROTECT, related_name="consents")
    notice_version = models.CharField("个人信息保护政策版本", max_length=20)
    accepted_at = models.DateTimeField("同意时间", default=timezone.now)
    ip = models.CharField("IP地址", max_length=45, blank=True)

    append_only_label = "同意记录"

    class Meta:
        verbose_name = "个人信息处理同意记录"
        ordering = ["user_id", "accepted_at", "id"]
        indexes = [models.Index(fields=["user", "accepted_at"], name="consent_user_time")]

    def __str__(self):
        return f"{self.user_id} · {self.notice_version} @ {self.accepted_at:%Y-%m-%d %H:%M}"


crypto.register_encrypted(User, "totp_secret")  # key rotation re-encrypts second-factor secrets too
