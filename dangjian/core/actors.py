"""The actor of work nobody clicked: management commands and scheduled jobs."""


class SystemActor:
    is_system = True
    is_authenticated = True
    is_active = True
    pk = None
    id = None
    display_name = "系统"

    def get_username(self) -> str:
        return "system"

    def has_capability(self, capability: str, path: str | None = None) -> bool:
        return True

    def capability_paths(self, capability: str) -> list[str]:
        return [""]  # the empty prefix covers every path

    def __str__(self):
        return "系统"


SYSTEM = SystemActor()


def actor_user(actor):
    """The account that acted, for a foreign key: None for the system (jobs, commands) or nobody signed in."""
    if getattr(actor, "is_authenticated", False) and not getattr(actor, "is_system", False):
        return actor
    return None


def actor_label(actor) -> str:
    """Who acted, as a timeline or record shows it: the person's name (or user name), else 系统."""
    user = actor_user(actor)
    return "系统" if user is None else (getattr(user, "display_name", "") or user.get_username())[:100]
