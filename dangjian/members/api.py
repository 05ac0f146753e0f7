"""/api/v1/members: the roster within the caller's scope, always masked; full values only via `reveal`.

Input is typed here (so OpenAPI documents it and wrong types are refused early), then validated by the
same `MemberForm` the pages and the import use, so every rule and message has one home.
"""

from datetime import date
from typing import Annotated, Literal

from django.http import HttpResponse
from ninja import PatchDict, Query, Router, Schema, Status
from pydantic import StringConstraints

from dangjian.api.errors import invalid
from dangjian.api.schemas import Error, Id, Input, Page, PageQuery
from dangjian.core import codes
from dangjian.core.errors import NotFound
from dangjian.core.permissions import require_somewhere
from dangjian.core.scoping import subtree_q
from dangjian.orgs.models import Organization, Sector
from dangjian.orgs.selectors import access_organization

from . import selectors, services
from .forms import MemberForm, form_errors
from .models import MemberStatus, Standing

router = Router(tags=["党员"])

ERRORS = {400: Error, 401: Error, 403: Error, 404: Error, 409: Error, 422: Error}
AgeBand = Literal[tuple(label for label, _, _ in codes.AGE_BANDS)]
EducationLevel = Literal[tuple(code for code, _ in codes.EDUCATION_LEVELS)]
Text = Annotated[str, StringConstraints(max_length=200)]  # the form enforces each field's own limit


class OrganizationRef(Schema):
    id: int
    name: str


class MemberOut(Schema):
    """Masked by construction: the encrypted columns and digests are simply not fields of this schema."""

    id: int
    name: str
    organization: OrganizationRef
    gender: str
    birth_date: date
    ethnicity: str
    id_number_masked: str
    phone_masked: str
    education: str
    occupation: str
    work_unit: str
    post: str
    status: str
    joined_on: date
    confirmed_on: date | None
    standing: str
    is_mobile: bool
    is_lost_contact: bool


class MemberQuery(PageQuery):
    """Mirrors `selectors.MemberFilters`; `org` is an organisation id (its whole subtree)."""

    q: Annotated[str, StringConstraints(max_length=50)] = ""
    org: Id | None = None
    status: MemberStatus | None = None
    gender: codes.Gender | None = None
    age_band: AgeBand | None = None
    education_level: EducationLevel | None = None
    sector: Sector | None = None


class MemberFields(Input):
    """A member's particulars, types only; which fields are required and every domain rule are `MemberForm`'s
    business. Also the transfers API's incoming member (whose organisation is the transfer's)."""

    name: Text
    id_number: Text
    gender: Text = ""
    birth_date: date | None = None
    ethnicity: Text = codes.HAN
    phone: Text = ""
    education: Text
    occupation: Text
    work_unit: Text = ""
    post: Text = ""
    address: Text = ""
    status: Text
    joined_on: date
    confirmed_on: date | None = None
    standing: Text = Standing.NORMAL
    is_mobile: bool = False
    is_lost_contact: bool = False


class MemberIn(MemberFields):
    organization: Id


class RevealIn(Input):
    field: Literal["id_number", "phone"]


class RevealOut(Schema):
    field: str
    value: str


def _manageable_orgs(actor):
    """The organisations the form may offer: in scope and under a `member.manage` grant. Dissolved ones
    stay in, so the form can say "该组织已撤销" rather than a bare "not a valid choice"."""
    return Organization.objects.filter(subtree_q("path", actor.capability_paths("member.manage")))


def _validated(request, data: dict, *, editing: bool = False) -> dict:
    form = MemberForm(data=data, organizations=_manageable_orgs(request.user), editing=editing)
    if not form.is_valid():
        raise invalid(form_errors(form))
    return form.cleaned_data


@router.get("", response={200: Page[MemberOut], **ERRORS}, summary="党员列表")
def member_list(request, filters: Query[MemberQuery]):
    org = None
    if filters.org:
        try:
            org = access_organization(actor=request.user, org_id=filters.org)
        except NotFound:
            raise NotFound(fields={"org": ["党组织：未找到该组织，或您无权查看"]}) from None
    f = selectors.MemberFilters(
        q=filters.q, org=org, status=filters.status or "", gender=filters.gender or "",
        age_band=filters.age_band or "", education_level=filters.education_level or "", sector=filters.sector or "",
    )
    # The list page's plan (selectors.list_plan): the total from the counters or counted up to the cap, the
    # items through the index the plan names; a whole-district COUNT(*) took 0.1–0.2 s at 1,000,000 members.
    plan = selectors.list_plan(f)
    total, exact = selectors.member_count(filters=f, plan=plan)
    items = selectors.member_slice(filters=f, plan=plan, start=filters.offset, stop=filters.offset + filters.limit)
    return {"total": total, "total_exact": exact, "limit": filters.limit, "offset": filters.offset, "items": items}


@router.get("/{id}", response={200: MemberOut, **ERRORS}, summary="党员详情")
def member_detail(request, id: Id):
    return selectors.access_member(actor=request.user, member_id=id)


@router.post("", response={201: MemberOut, **ERRORS}, summary="新增党员")
def member_create(request, payload: MemberIn):
    require_somewhere(request.user, "member.manage")  # 403 before validating for those who never may
    data = _validated(request, payload.model_dump())
    return Status(201, services.member_create(actor=request.user, data=data))


@router.patch("/{id}", response={200: MemberOut, **ERRORS}, summary="修改党员信息")
def member_update(request, id: Id, payload: PatchDict[MemberIn]):
    """Partial: the stored values fill in what was not sent, and the whole record is validated again.
    ID number and phone are never decrypted for this: left out (or blank), the stored value stands."""
    member = selectors.access_member(actor=request.user, member_id=id, for_write=True)
    current = {f: getattr(member, f) for f in services.PLAIN_FIELDS} | {"organization": member.organization_id}
    data = _validated(request, current | payload, editing=True)
    return services.member_update(actor=request.user, member=member, data=data)


@router.post("/{id}/reveal", response={200: RevealOut, **ERRORS}, summary="查看完整身份证号或手机号码（留痕）")
def member_reveal(request, id: Id, payload: RevealIn, response: HttpResponse):
    member = selectors.access_member(actor=request.user, member_id=id)
    value = services.member_reveal(actor=request.user, member=member, field=payload.field)
    response["Cache-Control"] = "no-store"  # a full ID number must not linger in any cache
    return {"field": payload.field, "value": value}
