"""Capability checks. Services call `require()`; the actor (accounts.User) knows its grants."""

from .errors import PermissionDenied


def require(actor, capability: str, org=None) -> None:
    """Refuse unless the actor holds `capability` on `org` (a grant on it or an ancestor), or globally."""
    path = org.path if org is not None else None
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.has_capability(capability, path):
        raise PermissionDenied()


def can(actor, capability: str, org=None) -> bool:
    try:
        require(actor, capability, org)
    except PermissionDenied:
        return False
    return True


def require_somewhere(actor, capability: str) -> None:
    """Refuse unless the actor holds `capability` on at least one organisation (e.g. to open a create form)."""
    if not getattr(actor, "is_authenticated", False) or not actor.capability_paths(capability):
        raise PermissionDenied()
