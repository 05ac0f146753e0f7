import hashlib
import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property

from .roles import CAPABILITIES, GLOBAL_CAPABILITIES, Role


class User(AbstractUser):
    display_name = models.CharField("姓名", max_length=50, blank=True)

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
