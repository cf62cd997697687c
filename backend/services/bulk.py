"""Many-row inserts and id lookups for hot paths, through the ORM's own compiled SQL.

Building a Tortoise object per row (and re-validating every value) costs more than the insert
itself when a push carries hundreds of mutations. Values here were validated by pydantic at
the edge, so they are only converted, the way the field would convert them, then handed to
`executemany` inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from enum import Enum
from functools import cache
from typing import Any

from tortoise import fields
from tortoise.fields.data import CharEnumFieldInstance
from tortoise.models import Model

Convert = Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


def _uuid(value: Any) -> Any:
    return None if value is None else str(value)


def _enum(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _datetime(value: Any) -> Any:
    # Stored in UTC, so that text comparison on SQLite orders the same as time does.
    return value.astimezone(UTC) if isinstance(value, datetime) else value


def _converter(field: fields.Field[Any]) -> Convert:
    if isinstance(field, fields.UUIDField):
        return _uuid
    if isinstance(field, fields.DatetimeField):
        return _datetime
    if isinstance(field, fields.JSONField):
        encoder = field.encoder
        return lambda v: None if v is None else encoder(v)
    if isinstance(field, CharEnumFieldInstance):
        return _enum
    return _same


@cache
def _plan(model: type[Model], connection: str) -> tuple[str, list[str], list[Convert], list[Any]]:
    db = model._meta.db
    executor = db.executor_class(model, db)
    columns: list[str] = executor.regular_columns
    model_fields = [model._meta.fields_map[c] for c in columns]
    defaults = [f.default() if callable(f.default) else f.default for f in model_fields]
    return executor.insert_query, columns, [_converter(f) for f in model_fields], defaults


async def insert_many(model: type[Model], rows: Sequence[Mapping[str, Any]]) -> None:
    if not rows:
        return
    db = model._meta.db
    sql, columns, converters, defaults = _plan(model, db.connection_name)
    values = [
        [
            convert(row.get(c, d))
            for c, convert, d in zip(columns, converters, defaults, strict=True)
        ]
        for row in rows
    ]
    await db.execute_many(sql, values)


async def existing_ids(model: type[Model], ids: Iterable[object]) -> set[str]:
    """Which of these primary keys exist (as strings); one query, however many ids."""
    wanted = [str(i) for i in ids]
    if not wanted:
        return set()
    db = model._meta.db
    table = model._meta.db_table
    pk = model._meta.db_pk_column
    if db.capabilities.dialect == "postgres":
        sql = f'SELECT "{pk}"::text AS id FROM "{table}" WHERE "{pk}"::text = ANY($1::text[])'
        _, rows = await db.execute_query(sql, [wanted])
    else:
        marks = ",".join("?" * len(wanted))
        sql = f'SELECT "{pk}" AS id FROM "{table}" WHERE "{pk}" IN ({marks})'
        _, rows = await db.execute_query(sql, wanted)
    return {str(r["id"]) for r in rows}
