"""Reads for the administrators' screens. Accounts and grants are not scoped by organisation: only the
system and security administrators reach these pages, and the views check their capability first."""

from dangjian.core.errors import NotFound

from .models import ApiToken, RoleGrant, User


def user_list():
    return User.objects.order_by("username").prefetch_related("grants__organization")


def access_user(*, user_id: int) -> User:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound()
    return user


def role_grant_list():
    return RoleGrant.objects.filter(revoked_at__isnull=True).select_related("user", "organization").order_by(
        "user__username", "role")


def access_role_grant(*, grant_id: int) -> RoleGrant:
    grant = RoleGrant.objects.select_related("user", "organization").filter(pk=grant_id).first()
    if grant is None:
        raise NotFound()
    return grant


def api_token_list(*, user: User):
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).order_by("-created_at")
