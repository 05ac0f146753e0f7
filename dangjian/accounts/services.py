"""Accounts, role grants and API tokens: the system and security administrators' work, audited; and the
login-security services (passwords, lockout, second factor) of DOMAIN-RULES §7.1 身份鉴别."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from dangjian.audit import registry
from dangjian.audit.services import log_action, log_failure
from dangjian.core import crypto
from dangjian.core.errors import Conflict, ValidationFailed
from dangjian.core.permissions import require

from . import policy, throttle, totp
from .models import ApiToken, ConsentRecord, PasswordHistory, RoleGrant, User
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
        "accounts.login.locked": "登录失败次数过多，已锁定",
        "accounts.login.rate_limited": "登录请求过于频繁，已拒绝",
        "accounts.logout": "退出登录",
        "accounts.password.changed": "修改本人密码",
        "accounts.totp.enrolled": "启用双因素认证",
        "accounts.totp.reset": "重置双因素认证",
        "accounts.totp.code_shown": "命令行显示双因素验证码",
        "accounts.keys.rotated": "更换字段加密密钥",
        "accounts.consent.accepted": "同意个人信息保护政策",
        "accounts.consent.declined": "不同意个人信息保护政策",
        "accounts.consent.withdrawn": "撤回个人信息处理同意",
        # Written by web.personal_data (it reads every app's rows, so it sits above them); the person's own
        # account is the target, hence this namespace.
        "accounts.personal_data.exported": "下载本人个人信息",
    }
)


def _check_password(password: str, user: User | None = None, *, field: str = "password", label: str = "密码") -> None:
    try:
        validate_password(password, user)
    except ValidationError as e:
        raise ValidationFailed("密码不符合要求", fields={field: [f"{label}：{m}" for m in e.messages]}) from None


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
    user.save()
    _store_password(user, password, must_change=True)  # the administrator knows it: changed at first login
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
    _store_password(user, password, must_change=True)  # the administrator knows it: changed at next login
    log_action(actor=actor, action="accounts.user.password_set", target=user)  # never the password itself
    return user


def password_change(*, actor: User, old_password: str, new_password: str) -> User:
    """A user changes their own password: the old one first, then complexity and history. Clears the
    first-login and expiry demands. A wrong old password is audited as a failure (after nothing was written)."""
    if not actor.check_password(old_password):
        log_failure(actor=actor, action="accounts.password.changed", target=actor, changes={"reason": "原密码不正确"})
        raise ValidationFailed("原密码不正确", fields={"old_password": ["原密码：不正确"]})
    with transaction.atomic():
        _check_password(new_password, actor, field="new_password", label="新密码")
        _store_password(actor, new_password, must_change=False)
        log_action(actor=actor, action="accounts.password.changed", target=actor)
    return actor


def _store_password(user: User, password: str, *, must_change: bool) -> None:
    """Set the password, restart its age, and keep its hash among the last few (never the password)."""
    user.set_password(password)
    user.password_changed_at = timezone.now()
    user.must_change_password = must_change
    user.save(update_fields=["password", "password_changed_at", "must_change_password"])
    PasswordHistory.objects.create(user=user, password=user.password, created_at=user.password_changed_at)
    keep = PasswordHistory.objects.filter(user=user).order_by("-created_at", "-pk").values_list(
        "pk", flat=True)[:settings.DANGJIAN_PASSWORD_HISTORY]
    PasswordHistory.objects.filter(user=user).exclude(pk__in=list(keep)).delete()


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


# --- Login (views call these outside any transaction; each writes its own entries) ---------------------

def login_succeeded(*, user: User, factor: str = "password") -> None:
    """`factor`: "password", or "totp" when a second-factor code completed the login."""
    throttle.clear_account(username=user.get_username())
    changes = {"factor": factor}
    if factor == "password" and not user.totp_enabled and policy.totp_required(user):
        changes["totp"] = "须先绑定"  # the middleware keeps the user on the enrolment page
    log_action(actor=user, action="accounts.login.succeeded", target=user, changes=changes)


def login_failed(*, username: str, ip: str | None, reason: str = "password") -> bool:
    """Audit a failed attempt and count it against the account and the address. True when this failure
    locked either of them (each lock is audited as accounts.login.locked)."""
    username = throttle.account_key(username)
    _log_login_failure("accounts.login.failed", username, {"reason": reason})
    locks = throttle.record_failure(username=username, ip=ip)
    for lock in locks:
        _log_login_failure("accounts.login.locked", username, {
            "scope": lock.scope, "key": lock.key, "until": timezone.localtime(lock.until).isoformat(timespec="seconds"),
            "minutes": settings.DANGJIAN_LOGIN_LOCKOUT_MINUTES})
    return bool(locks)


def login_refused(*, username: str, reason: str) -> None:
    """An attempt refused before any check ("locked"): audited, not counted."""
    _log_login_failure("accounts.login.failed", throttle.account_key(username), {"reason": reason})


def login_rate_limited(*, ip: str | None) -> None:
    log_failure(actor=None, action="accounts.login.rate_limited", actor_label="匿名用户",
                changes={"ip": throttle.address_key(ip), "per_minute": settings.DANGJIAN_LOGIN_RATE_PER_MINUTE})


def logout_record(*, user: User) -> None:
    log_action(actor=user, action="accounts.logout", target=user)


def _log_login_failure(action: str, username: str, changes: dict) -> None:
    log_failure(actor=None, action=action, changes={"username": username, **changes},
                actor_label=f"{username[:100]}（未登录）")


# --- Consent to the privacy notice (个人信息保护法 第十四、十七、二十九条) ----------------------------------------

@transaction.atomic
def consent_accept(*, actor: User, ip: str | None) -> ConsentRecord:
    """The person agrees to the notice version in force: an append-only record, the version kept on the account
    (what `policy.pending_step` reads), and the audit entry, all in one transaction."""
    version = settings.DANGJIAN_PRIVACY_NOTICE_VERSION
    record = ConsentRecord.objects.create(user=actor, notice_version=version, accepted_at=timezone.now(), ip=ip or "")
    actor.privacy_notice_version = version
    actor.save(update_fields=["privacy_notice_version"])
    log_action(actor=actor, action="accounts.consent.accepted", target=actor, changes={"version": version})
    return record


def consent_decline(*, actor: User) -> None:
    """The person does not agree: nothing of theirs changes, the refusal is audited, and the view logs them out."""
    log_action(actor=actor, action="accounts.consent.declined", target=actor,
               changes={"version": settings.DANGJIAN_PRIVACY_NOTICE_VERSION})


@transaction.atomic
def consent_withdraw(*, actor: User) -> User:
    """撤回同意 (第十五条): the account forgets the agreed version, so the consent page comes first at the next
    login; the acceptance records stay (they prove what was agreed until now). Records the branch keeps under
    its own duties (第十三条) are not erased by this: the notice says so."""
    if not actor.privacy_notice_version:
        raise Conflict("您目前没有有效的同意，无需撤回")
    withdrawn = actor.privacy_notice_version
    actor.privacy_notice_version = ""
    actor.save(update_fields=["privacy_notice_version"])
    log_action(actor=actor, action="accounts.consent.withdrawn", target=actor, changes={"version": withdrawn})
    return actor


# --- Second factor (TOTP) ----------------------------------------------------------------------------

def totp_secret_of(user: User) -> str:
    return crypto.decrypt(user.totp_secret)


@transaction.atomic
def totp_begin(*, actor: User) -> str:
    """The secret a user is about to bind: made once, kept (encrypted) until confirmed or reset, so the
    page can be reloaded without invalidating what the phone has already scanned."""
    if actor.totp_enabled:
        raise Conflict("双因素认证已启用；如需更换手机，请联系安全管理员重置")
    if not actor.totp_secret:
        actor.totp_secret = crypto.encrypt(totp.new_secret())
        actor.totp_last_step = None
        actor.save(update_fields=["totp_secret", "totp_last_step"])
    return totp_secret_of(actor)


@transaction.atomic
def totp_confirm(*, actor: User, code: str) -> User:
    """Bind the second factor once the user proves the authenticator shows the right codes."""
    if actor.totp_enabled:
        raise Conflict("双因素认证已启用")
    if not actor.totp_secret:
        raise Conflict("请先打开绑定页面获取密钥")
    step = totp.matching_step(totp_secret_of(actor), code, after=actor.totp_last_step)
    if step is None:
        raise ValidationFailed("验证码不正确", fields={"code": ["验证码：不正确，请输入认证器上当前显示的6位数字"]})
    actor.totp_confirmed_at = timezone.now()
    actor.totp_last_step = step  # the confirming code cannot log in a second time
    actor.save(update_fields=["totp_confirmed_at", "totp_last_step"])
    log_action(actor=actor, action="accounts.totp.enrolled", target=actor)
    return actor


def totp_verify_login(*, user: User, code: str) -> str | None:
    """Check a login code and use it up: None when it is good, else "totp" (wrong) or "totp_replayed" (a
    code of a step already used). The step is stored with a conditional UPDATE, so the same code (or an
    older one of the window) is refused afterwards, even on another server at the same moment."""
    if not user.totp_enabled:
        return "totp"
    secret = totp_secret_of(user)
    step = totp.matching_step(secret, code, after=user.totp_last_step)
    if step is None:
        return "totp_replayed" if totp.matching_step(secret, code) is not None else "totp"
    won = User.objects.filter(pk=user.pk).filter(Q(totp_last_step__isnull=True) | Q(totp_last_step__lt=step)) \
        .update(totp_last_step=step)
    if not won:
        return "totp_replayed"
    user.totp_last_step = step
    return None


@transaction.atomic
def totp_reset(*, actor, user: User) -> User:
    """安全管理员 removes a user's second factor (lost phone); the user binds a new one at next login."""
    require(actor, "grant.manage")
    if user.pk == getattr(actor, "pk", None):
        raise Conflict("不能重置自己的双因素认证，请由另一位安全管理员操作")
    had = user.totp_enabled
    user.totp_secret, user.totp_confirmed_at, user.totp_last_step = "", None, None
    user.save(update_fields=["totp_secret", "totp_confirmed_at", "totp_last_step"])
    log_action(actor=actor, action="accounts.totp.reset", target=user, changes={"enabled_before": had})
    return user


@transaction.atomic
def totp_code_show(*, actor, user: User, now: float | None = None) -> tuple[str, int]:
    """The code an authenticator would show now (the next one if the current was used), for
    `manage.py totp_code` in a demo or support setting. Audited. Returns (code, seconds it stays valid)."""
    if not user.totp_secret:
        raise Conflict("该账号还没有双因素认证密钥：请先用密码登录，打开绑定页面后再获取验证码")
    current = totp.step_at(now)
    step = current if user.totp_last_step is None or user.totp_last_step < current else user.totp_last_step + 1
    if step > current + totp.SKEW:
        raise Conflict(f"本时间窗的验证码已用过，请 {totp.seconds_left(now)} 秒后再试")
    log_action(actor=actor, action="accounts.totp.code_shown", target=user, actor_label="命令行 manage.py totp_code")
    valid_for = totp.seconds_left(now) + (step - current + totp.SKEW) * totp.PERIOD
    return totp.code_at(totp_secret_of(user), step), valid_for


def _forget_grants(user: User) -> None:
    """Drop the grants cached on this User object, so its next check sees the change."""
    user.__dict__.pop("active_grants", None)


def _user_or_none(actor):
    return actor if isinstance(actor, User) else None
