"""Many-row inserts and id lookups for hot paths, through the ORM's own compiled SQL.

Building a Tortoise object per row (and re-validating every value) costs more than the insert
itself when a push carries hundreds of mutations. Values here were validated by pydantic at
the edge; callers hand over rows already in database form, which go to `executemany` inside
the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

import orjson
from tortoise.models import Model


@cache
def _insert_sql(model: type[Model], columns: tuple[str, ...], dialect: str) -> str:
    projection = model._meta.fields_db_projection
    names = ",".join(f'"{projection[c]}"' for c in columns)
    if dialect == "postgres":
        marks = ",".join(f"${i}" for i in range(1, len(columns) + 1))
    else:
        marks = ",".join("?" * len(columns))
    return f'INSERT INTO "{model._meta.db_table}" ({names}) VALUES ({marks})'


async def insert_rows(
    model: type[Model], columns: tuple[str, ...], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert rows given as tuples in `columns` order, already in database form: ids and enums
    as text, JSON as text (`dump_json`), datetimes aware. Nothing is converted per value."""
    if not rows:
        return
    db = model._meta.db
    await db.execute_many(
        _insert_sql(model, columns, db.capabilities.dialect), [list(r) for r in rows]
    )


def dump_json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


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
