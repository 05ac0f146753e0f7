"""Reads for the administrators' screens. Accounts and grants are not scoped by organisation: only the
system and security administrators reach these pages, and the views check their capability first."""

from dangjian.core.permissions import load_one

from .models import ApiToken, RoleGrant, User


def user_list():
    return User.objects.order_by("username").prefetch_related("grants__organization")


def access_user(*, user_id: int) -> User:
    return load_one(User.objects.all(), user_id)


def role_grant_list():
    return RoleGrant.objects.filter(revoked_at__isnull=True).select_related("user", "organization").order_by(
        "user__username", "role")


def access_role_grant(*, grant_id: int) -> RoleGrant:
    return load_one(RoleGrant.objects.select_related("user", "organization"), grant_id)


def api_token_list(*, user: User):
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).order_by("-created_at")
