"""Registered audit action codes, namespaced `<app>.<entity>.<verb>`, with the Chinese label shown to people."""

_ACTIONS: dict[str, str] = {}


def register(actions: dict[str, str]) -> dict[str, str]:
    for code, label in actions.items():
        if _ACTIONS.get(code, label) != label:
            raise ValueError(f"audit action {code} registered twice with different labels")
        _ACTIONS[code] = label
    return actions


def label(code: str) -> str:
    return _ACTIONS.get(code, code)


def is_registered(code: str) -> bool:
    return code in _ACTIONS


def all_actions() -> dict[str, str]:
    return dict(sorted(_ACTIONS.items()))


register(
    {
        "audit.log.searched": "查询审计日志",
        "audit.log.exported": "导出审计日志",
        "audit.archived": "归档审计日志",
        "audit.archive.downloaded": "下载审计日志归档文件",
        "audit.archive.searched": "查询审计日志归档",
    }
)
