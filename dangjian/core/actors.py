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
