"""Reading notifications: a person's inbox, who receives a branch's messages, and the counts for reports."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q

from dangjian.accounts.models import RoleGrant
from dangjian.accounts.roles import WORKER_ROLES
from dangjian.core.scoping import subtree_q

from . import kinds
from .models import Delivery, GreetingMessage, MessageTemplate, Notification, Reply


def inbox(user):
    """The person's own messages, newest first. The addressee is the boundary here, not the organisation
    tree: a worker's inbox holds messages about organisations anywhere, a member's those about themselves,
    so this reads past the subtree scope on purpose and filters by recipient instead."""
    member_id = _member_id(user)
    who = Q(user_id=user.pk) | Q(member_id=member_id) if member_id else Q(user_id=user.pk)
    return Notification.unscoped.filter(who).order_by("-created_at", "-id")


def unread_count(user) -> int:
    return inbox(user).filter(read_at__isnull=True).count()


def inbox_item(user, pk: int) -> Notification | None:
    return inbox(user).filter(pk=pk).first()


def _member_id(user) -> int | None:
    member = getattr(user, "member_or_none", None)
    return member.pk if member is not None else None


def workers_of(org) -> list:
    """The people who look after an organisation's members: active worker grants on the organisation or,
    if nobody holds one there, on the nearest ancestor that has any (a branch without its own account is
    looked after by its 党委). Nearest first, each person once."""
    return workers_of_many([org])[org.path]


def workers_of_many(orgs) -> dict[str, list]:
    """`workers_of` for many organisations in one query per 500 (jobs that remind thousands of branches):
    organisation path → its workers."""
    paths = {org.path for org in orgs}
    ancestors = sorted({p[:i] for p in paths for i in range(4, len(p) + 1, 4)})
    by_level: dict[str, list] = {}
    for i in range(0, len(ancestors), 500):
        grants = (RoleGrant.objects.filter(organization__path__in=ancestors[i:i + 500], role__in=WORKER_ROLES,
                                           revoked_at__isnull=True, user__is_active=True)
                  .select_related("user", "organization").order_by("pk"))
        for grant in grants:
            level = by_level.setdefault(grant.organization.path, [])
            if all(u.pk != grant.user.pk for u in level):
                level.append(grant.user)
    return {path: next((by_level[path[:i]] for i in range(len(path), 0, -4) if path[:i] in by_level), [])
            for path in paths}


def greeting_messages_for(paths) -> dict[str, str]:
    """政治生日寄语 for each organisation path: its own, or the nearest one set above it (one query)."""
    prefixes = {p[:i] for p in paths for i in range(4, len(p) + 1, 4)}
    stored = dict(GreetingMessage.unscoped.filter(org_path__in=prefixes).values_list("org_path", "message"))
    out = {}
    for path in paths:
        out[path] = next((stored[path[:i]] for i in range(len(path), 0, -4) if path[:i] in stored), "")
    return out


def template_list() -> list[dict]:
    """Every kind with its current wording (the district's if edited, the default otherwise)."""
    stored = {t.kind: t for t in MessageTemplate.objects.select_related("updated_by")}
    rows = []
    for kind in kinds.all_kinds():
        template = stored.get(kind.code)
        rows.append({
            "kind": kind,
            "title": template.title if template else kind.title,
            "body": template.body if template else kind.body,
            "edited": template is not None,
            "updated_by": template.updated_by if template else None,
            "updated_at": template.updated_at if template else None,
        })
    return rows


def kind_statistics(*, kind: str, start: dt.datetime, end: dt.datetime, paths=None) -> dict:
    """Messages of one kind created in [start, end) in the scope (or under `paths`), and the replies to
    them: the report's "推送政治生日X条，接收党员回复留言X条"."""
    notifications = Notification.objects.filter(kind=kind, created_at__gte=start, created_at__lt=end)
    replies = Reply.objects.filter(kind=kind, created_at__gte=start, created_at__lt=end)
    if paths is not None:
        notifications = notifications.filter(subtree_q("org_path", paths))
        replies = replies.filter(subtree_q("org_path", paths))
    return {"pushed": notifications.count(), "replies": replies.count()}


def reply_list():
    """Replies from the members in scope, newest first: what the workers of a subtree have received."""
    return Reply.objects.select_related("member__organization", "notification").order_by("-created_at", "-id")


def delivery_list():
    """The push log in scope, newest first."""
    return Delivery.objects.order_by("-created_at", "-id")
