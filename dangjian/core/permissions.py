"""Capability checks. Services call `require()`; the actor (accounts.User) knows its grants."""

from .errors import NotFound, PermissionDenied


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


def load_one(qs, pk, *, actor=None, capability: str | None = None, org_of=lambda obj: obj.organization):
    """The one way to load an object addressed by id (ARCHITECTURE §5.4): through an already scoped
    queryset, so outside the scope the answer is 404 (never 403, never the object); with `capability`, an
    object inside the scope that the actor may not change answers 403."""
    obj = qs.filter(pk=pk).first()
    if obj is None:
        raise NotFound()
    if capability is not None:
        require(actor, capability, org_of(obj))
    return obj
