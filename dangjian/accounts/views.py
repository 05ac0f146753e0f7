"""Login and the administrators' screens: accounts (系统管理员), role grants (安全管理员), own API tokens;
and the login-security pages: second-factor step, own password change, consent to the privacy notice,
second-factor enrolment."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from dangjian.core.forms import submit
from dangjian.core.middleware import client_ip
from dangjian.core.permissions import require

from . import policy, privacy, selectors, services, throttle, totp
from .forms import (
    CodeForm,
    GrantForm,
    PasswordChangeForm,
    PasswordForm,
    TokenForm,
    TotpResetForm,
    UserCreateForm,
)
from .models import User

PENDING = "dangjian_login_pending"  # session key: the user who passed the password step, awaiting a code
PENDING_SECONDS = 300
DECLINED = ("您没有同意《个人信息保护政策》，已退出登录。不同意就无法使用本平台；"
            "如有疑问，请联系所在党支部或区委组织部。以后登录时仍可阅读并同意。")
WITHDRAWN = ("您已撤回对《个人信息保护政策》的同意，已退出登录。以后登录时须重新同意才能使用本平台；"
             "党组织依照党内法规保存的党员档案不因撤回而删除。")
SENSITIVE_REQUIRED = "敏感个人信息：请先勾选“单独同意处理我的敏感个人信息”，再点击“同意并继续”。"


def _rate_limited(request, ip):
    """The 429 answer when this address sent too many login requests in the last minute, else None."""
    rate = throttle.count_request(ip=ip)
    if not rate.exceeded:
        return None
    if rate.first_refusal:
        services.login_rate_limited(ip=ip)
    response = render(request, "accounts/too_many.html",
                      {"per_minute": settings.DANGJIAN_LOGIN_RATE_PER_MINUTE}, status=429)
    response["Retry-After"] = "60"
    return response


def _lock_context() -> dict:
    return {"locked": True, "lockout_minutes": settings.DANGJIAN_LOGIN_LOCKOUT_MINUTES}


class LoginView(auth_views.LoginView):
    """Step one: username and password. The same message for an unknown account and a wrong password; a
    locked account or address is refused before the password is even looked at."""

    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        ip = client_ip(request)
        if (refusal := _rate_limited(request, ip)) is not None:
            return refusal
        username = request.POST.get("username", "")
        if throttle.is_locked(username=username, ip=ip):
            services.login_refused(username=username, reason="locked")
            form = self.form_class(request=request, initial={"username": throttle.account_key(username)})
            return self.render_to_response(self.get_context_data(form=form, **_lock_context()))
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        locked = services.login_failed(username=form.data.get("username", ""), ip=client_ip(self.request))
        extra = _lock_context() if locked else {}
        return self.render_to_response(self.get_context_data(form=form, **extra))

    def form_valid(self, form):
        user = form.get_user()
        next_url = self.get_success_url()
        if policy.needs_code_at_login(user):
            self.request.session[PENDING] = {"user": user.pk, "backend": user.backend, "next": next_url,
                                             "at": int(time.time())}
            return redirect("accounts:login_code")
        auth_login(self.request, user)
        services.login_succeeded(user=user)
        return HttpResponseRedirect(next_url)


@sensitive_post_parameters()
@csrf_protect
@never_cache
def login_code(request):
    """Step two for a user with a second factor: the authenticator's current code."""
    pending = request.session.get(PENDING) or {}
    user = None
    if pending and time.time() - pending.get("at", 0) <= PENDING_SECONDS:
        user = User.objects.filter(pk=pending.get("user"), is_active=True).first()
    if user is None or not user.totp_enabled:
        request.session.pop(PENDING, None)
        messages.info(request, "请输入用户名和密码登录（验证码页面已超时）。")
        return redirect("accounts:login")
    form = CodeForm(request.POST or None)
    context = {"form": form}
    if request.method == "POST":
        ip = client_ip(request)
        if (refusal := _rate_limited(request, ip)) is not None:
            return refusal
        if throttle.is_locked(username=user.get_username(), ip=ip):
            services.login_refused(username=user.get_username(), reason="locked")
            request.session.pop(PENDING, None)
            return render(request, "accounts/login_code.html", {**context, **_lock_context()})
        failure = services.totp_verify_login(user=user, code=form.cleaned_data["code"]) if form.is_valid() else "totp"
        if failure is None:
            request.session.pop(PENDING, None)
            auth_login(request, user, backend=pending["backend"])
            services.login_succeeded(user=user, factor="totp")
            return HttpResponseRedirect(pending["next"])
        if services.login_failed(username=user.get_username(), ip=ip, reason=failure):
            request.session.pop(PENDING, None)
            context.update(_lock_context())
        else:
            form.add_error(None, "验证码不正确或已经用过，请输入认证器上最新显示的验证码。")
    return render(request, "accounts/login_code.html", context)


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            services.logout_record(user=request.user)
        return super().post(request, *args, **kwargs)


@login_required
def security(request):
    """账号安全: password age and the second factor, for every user."""
    user = request.user
    return render(request, "accounts/security.html", {
        "expires_at": policy.password_expires_at(user),
        "totp_required": policy.totp_required(user),
        "totp_enabled": user.totp_enabled,
        "consent": user.consents.order_by("-accepted_at", "-id").first(),
    })


@sensitive_post_parameters()
@login_required
def password_change(request):
    """A user's own password change; where the first-login and expiry demands send the user."""
    reason = policy.pending_step(request.user)
    form = PasswordChangeForm(request.POST or None)
    user = submit(request, form, lambda d: services.password_change(
        actor=request.user, old_password=d["old_password"], new_password=d["new_password"]))
    if user is not None:
        update_session_auth_hash(request, user)
        messages.success(request, "密码已修改。")
        return redirect("web:home")
    return render(request, "accounts/password_change.html", {
        "form": form, "reason": reason if reason in (policy.PASSWORD_INITIAL, policy.PASSWORD_EXPIRED) else None,
        "max_age_days": settings.DANGJIAN_PASSWORD_MAX_AGE_DAYS,
    })


@never_cache
@login_required
def consent(request):
    """《个人信息保护政策》 with 同意并继续 / 不同意: at first login and whenever the notice's version changes
    (LoginPolicyMiddleware keeps the person here until then). Agreeing needs the separate tick for the
    sensitive data (第二十九条 单独同意); declining logs the person out."""
    user = request.user
    if not policy.consent_needed(user):
        return redirect("web:privacy")  # already agreed to this version: the notice is on the public page
    context = {"notice": privacy.notice_facts(), "renewed": bool(user.privacy_notice_version)}
    if request.method == "POST":
        decision = request.POST.get("decision")
        if decision == "decline":
            services.consent_decline(actor=user)
            auth_logout(request)
            messages.info(request, DECLINED)
            return redirect("accounts:login")
        if decision == "accept" and request.POST.get("sensitive") == "1":
            services.consent_accept(actor=user, ip=client_ip(request))
            messages.success(request, "您已同意《个人信息保护政策》。")
            return redirect("web:home")
        context["error"] = SENSITIVE_REQUIRED if decision == "accept" else "请选择“同意并继续”或“不同意”。"
        return render(request, "accounts/consent.html", context, status=400)
    return render(request, "accounts/consent.html", context)


@login_required
@require_POST
def consent_withdraw(request):
    """撤回同意 from the account page: recorded, then the person is logged out (the platform cannot be used
    without consent; the next login asks again)."""
    services.consent_withdraw(actor=request.user)
    auth_logout(request)
    messages.info(request, WITHDRAWN)
    return redirect("accounts:login")


@never_cache
@login_required
def totp_enrol(request):
    """Bind an authenticator: the secret as text and as an otpauth:// link, confirmed with a code."""
    user = request.user
    if user.totp_enabled:
        messages.info(request, "双因素认证已启用。")
        return redirect("accounts:security")
    secret = services.totp_begin(actor=user)
    form = CodeForm(request.POST or None)
    if submit(request, form, lambda d: services.totp_confirm(actor=user, code=d["code"])):
        messages.success(request, "双因素认证已启用：以后登录时，输入密码后还要输入认证器上的验证码。")
        return redirect("web:home")
    return render(request, "accounts/totp_enrol.html", {
        "form": form,
        "secret": totp.grouped(secret),
        "uri": totp.provisioning_uri(secret, account=user.get_username(), issuer=settings.DANGJIAN_TOTP_ISSUER),
        "required": policy.totp_required(user),
        "show_command": settings.DEBUG,
    })


@login_required
@require_POST
def totp_reset(request):
    """安全管理员 resets a user's second factor (a lost phone)."""
    require(request.user, "grant.manage")
    form = TotpResetForm(request.POST)
    target = submit(request, form, lambda d: services.totp_reset(actor=request.user, user=d["username"]))
    if target is not None:
        messages.success(request, f"已重置 {target.username} 的双因素认证，该用户下次登录时须重新绑定。")
    else:
        messages.error(request, "；".join(e for errors in form.errors.values() for e in errors))
    return redirect("accounts:grants")


@login_required
def users(request):
    require(request.user, "user.manage")
    form = UserCreateForm(request.POST or None)
    user = submit(request, form, lambda d: services.user_create(actor=request.user, **d))
    if user is not None:
        messages.success(request, f"已创建账号 {user.username}，请由安全管理员授予角色。")
        return redirect("accounts:users")
    page = Paginator(selectors.user_list(), 50).get_page(request.GET.get("page"))
    return render(request, "accounts/users.html", {"form": form, "page_obj": page})


@login_required
@require_POST
def user_toggle(request, user_id: int):
    require(request.user, "user.manage")
    target = selectors.access_user(user_id=user_id)
    services.user_set_active(actor=request.user, user=target, active=not target.is_active)
    messages.success(request, f"已{'启用' if target.is_active else '停用'}账号 {target.username}。")
    return redirect("accounts:users")


@login_required
def user_password(request, user_id: int):
    require(request.user, "user.manage")
    target = selectors.access_user(user_id=user_id)
    form = PasswordForm(request.POST or None)
    if submit(request, form, lambda d: services.user_set_password(actor=request.user, user=target, password=d["password"])):
        messages.success(request, f"已为 {target.username} 设置新密码。")
        return redirect("accounts:users")
    return render(request, "accounts/password.html", {"form": form, "target": target})


@login_required
def grants(request):
    require(request.user, "grant.manage")
    form = GrantForm(request.POST or None)
    grant = submit(request, form, lambda d: services.role_grant(
        actor=request.user, user=d["username"], role=d["role"], organization=d["organization"]))
    if grant is not None:
        messages.success(request, "已授予角色。")
        return redirect("accounts:grants")
    page = Paginator(selectors.role_grant_list(), 50).get_page(request.GET.get("page"))
    return render(request, "accounts/grants.html", {"form": form, "page_obj": page, "totp_form": TotpResetForm()})


@login_required
@require_POST
def grant_revoke(request, grant_id: int):
    require(request.user, "grant.manage")
    grant = selectors.access_role_grant(grant_id=grant_id)
    services.role_revoke(actor=request.user, grant=grant)
    messages.success(request, "已收回角色。")
    return redirect("accounts:grants")


@login_required
def tokens(request):
    """A worker's own API tokens. The token is shown once, right after creation."""
    form = TokenForm(request.POST or None)
    plain = None
    if request.method == "POST" and form.is_valid():
        _, plain = services.api_token_create(actor=request.user, user=request.user, name=form.cleaned_data["name"])
    mine = selectors.api_token_list(user=request.user)
    return render(request, "accounts/tokens.html", {"form": form, "plain": plain, "tokens": mine})
