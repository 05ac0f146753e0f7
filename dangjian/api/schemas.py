"""Shared pieces of the API's schemas: ids, pagination, a strict input base."""

from typing import Annotated, Generic, TypeVar

from django.db.models import QuerySet
from ninja import Field, Schema
from pydantic import ConfigDict

# Database ids are 64-bit: a bigger number is refused as bad input instead of overflowing the driver.
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]

T = TypeVar("T")


class Input(Schema):
    """Input schemas refuse unknown keys, so a typo ("birthdate") is an error and not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class PageQuery(Schema):
    limit: int = Field(50, ge=1, le=500)
    # Bounded so a huge number is bad input (422), not an overflow in the database driver (500: schemathesis).
    offset: int = Field(0, ge=0, le=2**31 - 1)


class Page(Schema, Generic[T]):
    total: int
    # False when `total` is a lower bound: a list that counts only up to a cap (the member list: 10,000) says so
    total_exact: bool = Field(True, description="false：total 为计数上限（实际人数不少于 total）")
    limit: int
    offset: int
    items: list[T]


def paginate(qs: QuerySet, page: PageQuery) -> dict:
    """Two queries whatever the page size: the count, then the page (its joins come from the selector)."""
    return {"total": qs.count(), "limit": page.limit, "offset": page.offset,
            "items": list(qs[page.offset:page.offset + page.limit])}


class Error(Schema):
    """The error shape of every non-2xx answer (documented in OpenAPI)."""

    code: str
    message: str
    fields: dict[str, list[str]]
