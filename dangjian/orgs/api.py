"""/api/v1/organizations: read the tree within the caller's scope, create and re-describe organisations.

Endpoints only parse input, load through the scoped selectors and call one service (ARCHITECTURE §4).
"""

from datetime import date
from typing import Annotated, Literal

from ninja import Query, Router, Schema, Status
from pydantic import StringConstraints

from dangjian.api.schemas import Error, Id, Input, Page, PageQuery, paginate
from dangjian.core.errors import NotFound

from . import selectors, services
from .models import OrgKind, Sector, UnitCategory

router = Router(tags=["党组织"])

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Subdistrict = Annotated[str, StringConstraints(strip_whitespace=True, max_length=50)]
# Optional choices: one Literal with "" (the model's "not set") rather than a union, so a wrong value
# gets one message listing every choice.
UnitCategoryOrBlank = Literal[("", *UnitCategory.values)]
SectorOrBlank = Literal[("", *Sector.values)]
ERRORS = {400: Error, 401: Error, 403: Error, 404: Error, 409: Error, 422: Error}


class OrganizationOut(Schema):
    id: int
    parent_id: int | None
    depth: int
    name: str
    kind: str
    unit_category: str
    sector: str
    subdistrict: str
    has_approval_authority: bool
    is_dissolved: bool
    dissolved_on: date | None


class OrganizationQuery(PageQuery):
    under: Id | None = None
    kind: OrgKind | None = None
    q: Annotated[str, StringConstraints(max_length=100)] = ""


class OrganizationCreate(Input):
    parent: Id
    name: Name
    kind: OrgKind
    unit_category: UnitCategoryOrBlank = ""
    sector: SectorOrBlank = ""
    subdistrict: Subdistrict = ""
    has_approval_authority: bool = False


class OrganizationPatch(Input):
    """Only the keys sent are changed. The defaults are never validated, so an explicit null is refused
    (every column here is NOT NULL) while a missing key is simply left alone. Moving is not an edit."""

    name: Name = None
    kind: OrgKind = None
    unit_category: UnitCategoryOrBlank = None
    sector: SectorOrBlank = None
    subdistrict: Subdistrict = None
    has_approval_authority: bool = None


def _org_in_scope(request, org_id: int, field: str, *, for_write: bool = False):
    """An organisation named in the input: outside the scope it is 404, with the field named."""
    try:
        return selectors.access_organization(actor=request.user, org_id=org_id, for_write=for_write)
    except NotFound:
        label = {"parent": "上级组织", "under": "上级组织"}[field]
        raise NotFound(fields={field: [f"{label}：未找到该组织，或您无权查看"]}) from None


@router.get("", response={200: Page[OrganizationOut], **ERRORS}, summary="党组织列表")
def organization_list(request, filters: Query[OrganizationQuery]):
    under = _org_in_scope(request, filters.under, "under") if filters.under else None
    qs = selectors.organization_list(under=under, kind=filters.kind or "", q=filters.q)
    return paginate(qs, filters)


@router.get("/{id}", response={200: OrganizationOut, **ERRORS}, summary="党组织详情")
def organization_detail(request, id: Id):
    return selectors.access_organization(actor=request.user, org_id=id)


@router.post("", response={201: OrganizationOut, **ERRORS}, summary="新建党组织")
def organization_create(request, payload: OrganizationCreate):
    data = payload.model_dump()
    parent = _org_in_scope(request, data.pop("parent"), "parent")
    return Status(201, services.organization_create(actor=request.user, parent=parent, **data))


@router.patch("/{id}", response={200: OrganizationOut, **ERRORS}, summary="修改党组织")
def organization_update(request, id: Id, payload: OrganizationPatch):
    org = selectors.access_organization(actor=request.user, org_id=id, for_write=True)
    return services.organization_update(actor=request.user, org=org, **payload.model_dump(exclude_unset=True))
