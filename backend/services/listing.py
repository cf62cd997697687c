"""Paging, search and field-by-field updates shared by the admin services."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel
from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet

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


def apply_patch(obj: Model, patch: BaseModel) -> tuple[dict[str, Any], dict[str, Any]]:
    """Set the fields the patch names; returns (before, after) of just those fields."""
    changes = patch.model_dump(exclude_unset=True)
    before = snapshot(obj, tuple(changes))
    for name, value in changes.items():
        setattr(obj, name, value)
    return before, snapshot(obj, tuple(changes))
