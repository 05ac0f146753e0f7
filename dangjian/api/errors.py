"""One error shape for the whole API (ARCHITECTURE §8): `{"code", "message", "fields": {field: [messages]}}`.

Every message is Chinese and names the field ("出生日期：日期格式不正确"), whether the reason came from
pydantic (types, dates, unknown fields), from `MemberForm`, or from a service's `DomainError`. Nothing a
client can send should reach Django's 500 page.
"""

from __future__ import annotations

import json

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser

from dangjian.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from dangjian.members.forms import MemberForm
from dangjian.orgs.models import Organization


class CsrfFailed(PermissionDenied):
    code = "csrf"

    def __init__(self):
        super().__init__("CSRF 校验失败：请刷新页面后重试（接口客户端请使用令牌认证）。")


class Unauthenticated(DomainError):
    code = "unauthenticated"
    status = 401

    def __init__(self):
        super().__init__("请先登录，或在 Authorization 头中提供有效的接口令牌（Bearer）。")


class BodyNotJson(ValueError):
    """Raised by `JsonParser`; ninja wraps it in an HttpError(400) and we recognise it by this cause."""


class JsonParser(Parser):
    def parse_body(self, request):
        try:
            return json.loads(request.body)
        except ValueError as e:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
            raise BodyNotJson(str(e)) from e


# Field labels per resource (the first path segment after /api/v1/): the same key can mean different
# things ("name" is 姓名 for a member, 组织名称 for an organisation). Form and model labels are reused so
# the API says what the pages say.
_COMMON = {
    "body": "请求内容", "id": "编号", "limit": "每页条数", "offset": "起始位置",
    "q": "查询条件", "field": "字段",
}
LABELS: dict[str, dict[str, str]] = {
    "organizations": {f.name: str(f.verbose_name) for f in Organization._meta.fields}
    | {"parent": "上级组织", "under": "上级组织"} | _COMMON,
    "members": {name: str(f.label) for name, f in MemberForm.base_fields.items()}
    | {"org": "党组织", "age_band": "年龄段", "education_level": "学历层次", "sector": "领域"} | _COMMON,
    "meetings": {"organization": "党组织", "title": "会议名称", "kinds": "会议类型", "starts_at": "会议时间", "place": "地点",
                 "agenda": "议程", "chair": "主持人", "recorder": "记录人", "held_at": "实际召开时间", "minutes": "会议记录",
                 "observers": "列席人员", "attendance": "出席情况", "resolutions": "决议", "members": "应到人员",
                 "member_ids": "应到人员", "org": "党组织", "start": "起始日期", "end": "截止日期", "status": "状态",
                 "kind": "会议类型"} | _COMMON,
    "dues": {"year": "年度", "category": "交纳类别", "dues_base_fen": "月交纳基数", "first_month": "起始月份",
             "paid_through": "此前已交至", "months": "月数", "method": "交纳方式", "proxy_name": "代交人",
             "consent": "支部同意", "paid_on": "交纳日期", "voluntary_fen": "自愿多交", "monthly_fen": "申请月交纳额",
             "reason": "困难情况", "decision": "审批结果", "note": "备注", "assessment": "年度核定", "org": "党组织",
             "min_months": "欠交月数", "from_month": "起始月份", "to_month": "截止月份"} | _COMMON,
}

_DATE = "日期格式不正确，应为 YYYY-MM-DD 格式的有效日期"
# pydantic error type → Chinese reason; `{…}` are filled from the error's ctx.
REASONS = {
    "missing": "必须填写",
    "string_type": "应为文字",
    "string_too_short": "不能为空",
    "string_too_long": "不能超过{max_length}个字",
    "int_type": "应为整数", "int_parsing": "应为整数", "int_from_float": "应为整数",
    "bool_type": "应为 true 或 false", "bool_parsing": "应为 true 或 false",
    "date_type": _DATE, "date_parsing": _DATE, "date_from_datetime_parsing": _DATE,
    "date_from_datetime_inexact": _DATE,
    "enum": "不是可选的值（可选：{expected}）", "literal_error": "不是可选的值（可选：{expected}）",
    "greater_than_equal": "不能小于{ge}", "less_than_equal": "不能大于{le}",
    "greater_than": "应大于{gt}", "less_than": "应小于{lt}",
    "extra_forbidden": "不是可识别的字段",
    "dict_type": "应为 JSON 对象", "model_type": "应为 JSON 对象", "model_attributes_type": "应为 JSON 对象",
}


def invalid(fields: dict[str, list[str]]) -> ValidationFailed:
    """A 422 whose message repeats the field messages, so a client showing only `message` is still clear."""
    messages = [m for ms in fields.values() for m in ms]
    return ValidationFailed("提交的内容有误：" + "；".join(messages), fields=fields)


def _resource(request) -> str:
    rest = request.path.split("/api/v1/", 1)[-1]
    return rest.split("/", 1)[0]


def _field(loc) -> str:
    """("body", "payload", "birth_date") → "birth_date"; ("query", "limit") → "limit". Payloads are flat,
    so whatever pydantic appends after the field name (a union member's tag) is dropped."""
    names = [str(part) for part in loc[1:]]
    if names and names[0] == "payload":  # the body as a whole is "body", as for unparseable JSON
        names = names[1:] or ["body"]
    return names[0] if names else str(loc[0])


def _reason(error: dict) -> str:
    template = REASONS.get(error["type"], "格式不正确")
    ctx = dict(error.get("ctx", {}))
    if "expected" in ctx:  # pydantic writes "'a', 'b' or 'c'"
        ctx["expected"] = ctx["expected"].replace(" or ", ", ")
    try:
        return template.format(**ctx)
    except (KeyError, IndexError):
        return template


def validation_fields(request, errors: list[dict]) -> dict[str, list[str]]:
    labels = LABELS.get(_resource(request), _COMMON)
    fields: dict[str, list[str]] = {}
    for error in errors:
        field = _field(error["loc"])
        message = f"{labels.get(field, field)}：{_reason(error)}"
        if message not in fields.setdefault(field, []):
            fields[field].append(message)
    return fields


def install(api) -> None:
    """Register a handler for every exception a request can raise into one error shape."""

    def respond(request, error: DomainError):
        return api.create_response(request, error.as_dict(), status=error.status)

    @api.exception_handler(DomainError)
    def domain_error(request, exc: DomainError):
        return respond(request, exc)

    @api.exception_handler(NinjaValidationError)
    def validation_error(request, exc: NinjaValidationError):
        return respond(request, invalid(validation_fields(request, exc.errors)))

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request, exc):
        return respond(request, Unauthenticated())

    @api.exception_handler(HttpError)
    def http_error(request, exc: HttpError):
        if isinstance(exc.__cause__, BodyNotJson):
            return respond(request, invalid({"body": ["请求内容：不是有效的 JSON"]}))
        if exc.status_code == 403:
            return respond(request, PermissionDenied())
        return api.create_response(request, {"code": "error", "message": str(exc), "fields": {}},
                                   status=exc.status_code)

    @api.exception_handler(Http404)
    def not_found(request, exc):
        return respond(request, NotFound())

    @api.exception_handler(DjangoPermissionDenied)
    def forbidden(request, exc):
        return respond(request, PermissionDenied())
