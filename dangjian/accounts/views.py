"""Login and the administrators' screens: accounts (系统管理员), role grants (安全管理员), own API tokens."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from dangjian.core.errors import DomainError
from dangjian.core.forms import apply_domain_error
from dangjian.core.permissions import require

from . import services
from .forms import GrantForm, PasswordForm, TokenForm, UserCreateForm
from .models import RoleGrant, User


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
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_create(actor=request.user, **form.cleaned_data)
        except DomainError as e:
            apply_domain_error(form, e)
        else:
            messages.success(request, f"已创建账号 {user.username}，请由安全管理员授予角色。")
            return redirect("accounts:users")
    page = Paginator(User.objects.order_by("username").prefetch_related("grants__organization"), 50).get_page(
        request.GET.get("page"))
    return render(request, "accounts/users.html", {"form": form, "page_obj": page, "password_form": PasswordForm()})


@login_required
@require_POST
def user_toggle(request, user_id: int):
    require(request.user, "user.manage")
    target = get_object_or_404(User, pk=user_id)
    services.user_set_active(actor=request.user, user=target, active=not target.is_active)
    messages.success(request, f"已{'启用' if target.is_active else '停用'}账号 {target.username}。")
    return redirect("accounts:users")


@login_required
def user_password(request, user_id: int):
    require(request.user, "user.manage")
    target = get_object_or_404(User, pk=user_id)
    form = PasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_set_password(actor=request.user, user=target, password=form.cleaned_data["password"])
        except DomainError as e:
            apply_domain_error(form, e)
        else:
            messages.success(request, f"已为 {target.username} 设置新密码。")
            return redirect("accounts:users")
    return render(request, "accounts/password.html", {"form": form, "target": target})


@login_required
def grants(request):
    require(request.user, "grant.manage")
    form = GrantForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        target = User.objects.filter(username=form.cleaned_data["username"].strip()).first()
        if target is None:
            form.add_error("username", "没有这个用户名")
        else:
            try:
                services.role_grant(actor=request.user, user=target, role=form.cleaned_data["role"],
                                    organization=form.cleaned_data["organization"])
            except DomainError as e:
                apply_domain_error(form, e)
            else:
                messages.success(request, "已授予角色。")
                return redirect("accounts:grants")
    live = RoleGrant.objects.filter(revoked_at__isnull=True).select_related("user", "organization").order_by(
        "user__username", "role")
    page = Paginator(live, 50).get_page(request.GET.get("page"))
    return render(request, "accounts/grants.html", {"form": form, "page_obj": page})


@login_required
@require_POST
def grant_revoke(request, grant_id: int):
    require(request.user, "grant.manage")
    grant = get_object_or_404(RoleGrant, pk=grant_id)
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
    mine = request.user.api_tokens.filter(revoked_at__isnull=True).order_by("-created_at")
    return render(request, "accounts/tokens.html", {"form": form, "plain": plain, "tokens": mine})
