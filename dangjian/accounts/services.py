"""Accounts, role grants and API tokens: the system and security administrators' work, audited."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from dangjian.audit import registry
from dangjian.audit.services import log_action, log_failure
from dangjian.core.errors import Conflict, ValidationFailed
from dangjian.core.permissions import require

from .models import ApiToken, RoleGrant, User
from .roles import ADMINISTRATOR_ROLES, Role

registry.register(
    {
        "accounts.user.created": "新建账号",
        "accounts.user.deactivated": "停用账号",
        "accounts.user.activated": "启用账号",
        "accounts.user.password_set": "设置密码",
        "accounts.grant.created": "授予角色",
        "accounts.grant.revoked": "收回角色",
        "accounts.token.created": "创建接口令牌",
        "accounts.token.revoked": "吊销接口令牌",
        "accounts.login.succeeded": "登录成功",
        "accounts.login.failed": "登录失败",
        "accounts.logout": "退出登录",
    }
)


def _check_password(password: str, user: User | None = None) -> None:
    try:
        validate_password(password, user)
    except ValidationError as e:
        raise ValidationFailed("密码不符合要求", fields={"password": [f"密码：{m}" for m in e.messages]}) from None


@transaction.atomic
def user_create(*, actor, username: str, display_name: str, password: str) -> User:
    """系统管理员 creates accounts; roles are granted separately by the 安全管理员."""
    require(actor, "user.manage")
    username = username.strip()
    if not username:
        raise ValidationFailed("请填写用户名", fields={"username": ["用户名：不能为空"]})
    if User.objects.filter(username=username).exists():
        raise ValidationFailed("用户名已存在", fields={"username": ["用户名：该用户名已被使用"]})
    user = User(username=username, display_name=display_name.strip())
    _check_password(password, user)
    user.set_password(password)
    user.save()
    log_action(actor=actor, action="accounts.user.created", target=user, changes={"username": username})
    return user


@transaction.atomic
def user_set_active(*, actor, user: User, active: bool) -> User:
    require(actor, "user.manage")
    if user.pk == getattr(actor, "pk", None):
        raise Conflict("不能停用自己的账号")
    user.is_active = active
    user.save(update_fields=["is_active"])
    log_action(actor=actor, action="accounts.user.activated" if active else "accounts.user.deactivated", target=user)
    return user


@transaction.atomic
def user_set_password(*, actor, user: User, password: str) -> User:
    require(actor, "user.manage")
    _check_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    log_action(actor=actor, action="accounts.user.password_set", target=user)  # never the password itself
    return user


@transaction.atomic
def role_grant(*, actor, user: User, role: str, organization) -> RoleGrant:
    """安全管理员 grants a role over an organisation's subtree. Administrator roles stand alone."""
    require(actor, "grant.manage")
    if role not in Role.values:
        raise ValidationFailed("未知角色", fields={"role": ["角色：请选择有效的角色"]})
    if user.pk == getattr(actor, "pk", None):
        raise Conflict("不能给自己授权")
    User.objects.select_for_update().filter(pk=user.pk).first()  # two grants at once cannot both pass 三员分立
    held = set(RoleGrant.objects.filter(user=user, revoked_at__isnull=True).values_list("role", flat=True))
    if held and (role in ADMINISTRATOR_ROLES or held & ADMINISTRATOR_ROLES) and held != {role}:
        raise ValidationFailed(
            "三员分立：系统管理员、安全管理员、审计管理员不能兼任，也不能与业务角色同时授予同一账号",
            fields={"role": ["角色：该账号已持有其他角色，不能再授予管理员角色（或已是管理员）"]},
        )
    if role in ADMINISTRATOR_ROLES and organization.parent_id is not None:
        raise ValidationFailed("管理员角色须授予在根组织上", fields={"organization": ["党组织：管理员角色请选择区委"]})
    if RoleGrant.objects.filter(user=user, role=role, organization=organization, revoked_at__isnull=True).exists():
        raise Conflict("该账号已在此组织持有该角色")
    grant = RoleGrant.objects.create(user=user, role=role, organization=organization, granted_by=_user_or_none(actor))
    _forget_grants(user)
    log_action(actor=actor, action="accounts.grant.created", target=grant,
               changes={"user": user.username, "role": role, "organization": str(organization)})
    return grant


@transaction.atomic
def role_revoke(*, actor, grant: RoleGrant) -> RoleGrant:
    require(actor, "grant.manage")
    if grant.revoked_at is not None:
        raise Conflict("该授权已收回")
    grant.revoked_at = timezone.now()
    grant.save(update_fields=["revoked_at"])
    _forget_grants(grant.user)
    log_action(actor=actor, action="accounts.grant.revoked", target=grant)
    return grant


@transaction.atomic
def api_token_create(*, actor, user: User, name: str) -> tuple[ApiToken, str]:
    """A user creates a token for themself; the plain token is returned once and never stored."""
    if actor.pk != user.pk:
        require(actor, "user.manage")
    plain = ApiToken.new_token()
    token = ApiToken.objects.create(user=user, name=name.strip() or "接口", digest=ApiToken.digest_of(plain),
                                    prefix=plain[:8])
    log_action(actor=actor, action="accounts.token.created", target=user, changes={"name": token.name, "prefix": token.prefix})
    return token, plain


def login_record(*, user, succeeded: bool, username: str = "") -> None:
    if succeeded:
        log_action(actor=user, action="accounts.login.succeeded", target=user)
    else:
        log_failure(actor=None, action="accounts.login.failed", changes={"username": username[:150]},
                    actor_label=f"{username[:100]}（未登录）")


def _forget_grants(user: User) -> None:
    """Drop the grants cached on this User object, so its next check sees the change."""
    user.__dict__.pop("active_grants", None)


def _user_or_none(actor):
    return actor if isinstance(actor, User) else None
