"""Login and the administrators' screens: accounts (系统管理员), role grants (安全管理员), own API tokens."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from dangjian.core.forms import submit
from dangjian.core.permissions import require

from . import selectors, services
from .forms import GrantForm, PasswordForm, TokenForm, UserCreateForm


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        services.login_record(user=form.get_user(), succeeded=True)
        return response

    def form_invalid(self, form):
        services.login_record(user=None, succeeded=False, username=form.data.get("username", ""))
        return super().form_invalid(form)


class LogoutView(auth_views.LogoutView):
    pass


@login_required
def users(request):
    require(request.user, "user.manage")
    form = UserCreateForm(request.POST or None)
    user = submit(request, form, lambda d: services.user_create(actor=request.user, **d))
    if user is not None:
        messages.success(request, f"已创建账号 {user.username}，请由安全管理员授予角色。")
        return redirect("accounts:users")
    page = Paginator(selectors.user_list(), 50).get_page(request.GET.get("page"))
    return render(request, "accounts/users.html", {"form": form, "page_obj": page, "password_form": PasswordForm()})


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
    return render(request, "accounts/grants.html", {"form": form, "page_obj": page})


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
