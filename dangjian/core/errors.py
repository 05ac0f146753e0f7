"""Domain errors. Services raise these; views and the API turn them into a Chinese message.

Every error carries a machine code, a Chinese message for people, and per-field messages that name the
field, so a form, an import row and an API client all see the same reason.
"""


class DomainError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "fields": self.fields}


class ValidationFailed(DomainError):
    code = "invalid"
    status = 422


class RuleViolation(DomainError):
    """A regulation refuses the action; the message names the rule and its article."""

    code = "rule"
    status = 422

    def __init__(self, message: str, *, rule: str, article: str, fields=None):
        super().__init__(f"{message}（{article}）", fields=fields)
        self.rule = rule
        self.article = article

    def as_dict(self) -> dict:
        return {**super().as_dict(), "rule": self.rule, "article": self.article}


class NotFound(DomainError):
    """Also the answer for anything outside the actor's scope: never say it exists."""

    code = "not_found"
    status = 404

    def __init__(self, message: str = "未找到该记录，或您无权查看。", **kw):
        super().__init__(message, **kw)


class PermissionDenied(DomainError):
    code = "forbidden"
    status = 403

    def __init__(self, message: str = "您没有执行此操作的权限。", **kw):
        super().__init__(message, **kw)


class Conflict(DomainError):
    code = "conflict"
    status = 409
