"""Paging, search and field-by-field updates shared by the admin services."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel
from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet

from backend.errors import ValidationFailed
from backend.schemas.common import ListQuery

M = TypeVar("M", bound=Model)


async def paginate(
    query: QuerySet[M], listing: ListQuery, search: tuple[str, ...], order: str = "id"
) -> tuple[list[M], int]:
    if not listing.include_inactive:
        query = query.filter(is_active=True)
    if listing.q:
        condition = Q()
        for name in search:
            condition |= Q(**{f"{name}__icontains": listing.q})
        query = query.filter(condition)
    total = await query.count()
    rows = await query.order_by(order).offset(listing.offset).limit(listing.limit)
    return rows, total


def snapshot(obj: Model, fields: tuple[str, ...]) -> dict[str, Any]:
    out = {}
    for name in fields:
        value = getattr(obj, name)
        out[name] = value if isinstance(value, int | str | bool | None) else str(value)
    return out


def patch_changes(obj: Model, patch: BaseModel, exclude: set[str] | None = None) -> dict[str, Any]:
    """The fields a patch sets, refusing `null` for a column that cannot be empty.

    A patch's fields are all optional, so `null` passes its schema; it used to reach the
    database (a 500, or a misleading conflict). Refused here, before anything is set.
    """
    changes = patch.model_dump(exclude_unset=True, exclude=exclude)
    fields = obj._meta.fields_map
    for name, value in changes.items():
        if value is None and name in fields and not fields[name].null:
            raise ValidationFailed.field(name, "missing")
    return changes


def apply_patch(obj: Model, patch: BaseModel) -> tuple[dict[str, Any], dict[str, Any]]:
    """Set the fields the patch names; returns (before, after) of just those fields."""
    changes = patch_changes(obj, patch)
    before = snapshot(obj, tuple(changes))
    for name, value in changes.items():
        setattr(obj, name, value)
    return before, snapshot(obj, tuple(changes))
