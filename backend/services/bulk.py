"""Many-row inserts and id lookups for hot paths, through the ORM's own connection.

Building a Tortoise object per row (and re-validating every value) costs more than the insert
itself when a push carries hundreds of mutations. Values here were validated by pydantic at
the edge; callers hand over rows already in database form, which go to `executemany` inside
the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from functools import cache
from operator import methodcaller
from typing import Any, cast

import orjson
from tortoise import fields
from tortoise.models import Model


def dialect_of(model: type[Model]) -> str:
    return str(model._meta.db.capabilities.dialect)


@cache
def _insert_sql(model: type[Model], columns: tuple[str, ...], dialect: str) -> str:
    projection = model._meta.fields_db_projection
    names = ",".join(f'"{projection[c]}"' for c in columns)
    return (
        f'INSERT INTO "{model._meta.db_table}" ({names}) VALUES ({_marks(len(columns), dialect)})'
    )


def _marks(count: int, dialect: str) -> str:
    if dialect == "postgres":
        return ",".join(f"${i}" for i in range(1, count + 1))
    return ",".join("?" * count)


async def insert_rows(
    model: type[Model], columns: tuple[str, ...], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert rows given as tuples in `columns` order, already in database form: ids and enums
    as text, JSON as text (`dump_json`), datetimes aware (or in `db_datetimes`' form). Nothing is
    converted per value."""
    if not rows:
        return
    db = model._meta.db
    # Rows go as they are (tuples too): the drivers take any sequence of sequences.
    values = cast("list[list[Any]]", rows if isinstance(rows, list) else list(rows))
    await db.execute_many(_insert_sql(model, columns, db.capabilities.dialect), values)


def dump_json(value: Any) -> str | None:
    return None if value is None else json_text(value)


def json_text(value: Any) -> str:
    """`value` as JSON text; inside `written_once()`, an object already written is not again."""
    memo = _written.get()
    if memo is None:
        return orjson.dumps(value).decode()
    hit = memo.get(id(value))
    if hit is not None and hit[0] is value:
        return cast(str, hit[1])
    text = orjson.dumps(value).decode()
    memo[id(value)] = (value, text)
    return text


# Within `written_once()`: object id -> (the object, what it was written as). The object is
# kept so that its id cannot be taken by another while the memo lives.
_written: ContextVar[dict[int, tuple[Any, Any]] | None] = ContextVar("written", default=None)


@contextmanager
def written_once() -> Iterator[None]:
    """Inside, `json_text` and `db_datetime_texts` return what they made before for the same
    object instead of making it again. A push writes each mutation's result (the entity) both
    as the change phones pull and as the answer a replay gets, and its client time both in the
    entity and in the mutation's record: each is formatted once. The objects must not change
    meanwhile (results and datetimes do not)."""
    token = _written.set({})
    try:
        yield
    finally:
        _written.reset(token)


def db_datetimes(model: type[Model]) -> Callable[[datetime], datetime | str]:
    """How `insert_rows` should get aware datetimes for `model`'s database (look it up once).

    SQLite gets the text Tortoise's own adapter would write (ISO 8601 with a space), so a value
    many rows share is made once, not once per row by sqlite3's adapter; PostgreSQL takes the
    datetime itself.
    """
    return _same if dialect_of(model) == "postgres" else _sqlite_text


def db_datetime_texts(model: type[Model]) -> Callable[[datetime], tuple[str, datetime | str]]:
    """Like `db_datetimes`, but each value also as ISO 8601 text for JSON, formatting it once
    (SQLite's form differs from ISO 8601 only in the space between date and time); inside
    `written_once()`, once per datetime object."""
    if dialect_of(model) == "postgres":
        return _iso_and_same
    return _iso_and_sqlite_text


def _iso_and_same(value: datetime) -> tuple[str, datetime | str]:
    return value.isoformat(), value


def _iso_and_sqlite_text(value: datetime) -> tuple[str, datetime | str]:
    memo = _written.get()
    if memo is not None:
        hit = memo.get(id(value))
        if hit is not None and hit[0] is value:
            return cast(tuple[str, str], hit[1])
    iso = value.isoformat()
    texts = iso, f"{iso[:10]} {iso[11:]}"
    if memo is not None:
        memo[id(value)] = (value, texts)
    return texts


def _same(value: datetime) -> datetime:
    return value


_sqlite_text: Callable[[datetime], str] = methodcaller("isoformat", " ")  # no Python frame per row


# How PostgreSQL should read a list of primary keys given as text, so the lookup uses the index.
_PG_ARRAY = {
    fields.UUIDField: "uuid[]",
    fields.IntField: "bigint[]",
    fields.BigIntField: "bigint[]",
}


def _pk_lookup(model: type[Model], columns: str, dialect: str, count: int) -> str:
    table = model._meta.db_table
    pk = model._meta.db_pk_column
    if dialect == "postgres":
        array = _PG_ARRAY.get(type(model._meta.pk), "text[]")
        return f'SELECT {columns} FROM "{table}" WHERE "{pk}" = ANY($1::{array})'
    return f'SELECT {columns} FROM "{table}" WHERE "{pk}" IN ({_marks(count, dialect)})'


async def fetch_by_ids(
    model: type[Model], columns: tuple[str, ...], ids: Iterable[object]
) -> list[dict[str, Any]]:
    """The rows (as dicts of these columns) whose primary key is one of `ids`; one query,
    however many ids. UUID keys come back as text, integer keys as ints."""
    wanted = list(dict.fromkeys(str(i) for i in ids))
    if not wanted:
        return []
    db = model._meta.db
    dialect = db.capabilities.dialect
    projection = model._meta.fields_db_projection
    pk_type = type(model._meta.pk)
    text_pk = dialect == "postgres" and pk_type is fields.UUIDField
    names = ",".join(
        f'"{projection[c]}"::text AS "{c}"'
        if text_pk and c == model._meta.pk_attr
        else f'"{projection[c]}" AS "{c}"'
        for c in columns
    )
    sql = _pk_lookup(model, names, dialect, len(wanted))
    params: list[Any] = wanted
    if pk_type in (fields.IntField, fields.BigIntField):
        params = [int(i) for i in wanted]
    if dialect == "postgres":
        params = [params]
    return [dict(row) for row in await db.execute_query_dict(sql, params)]


async def existing_ids(model: type[Model], ids: Iterable[object]) -> set[str]:
    """Which of these primary keys exist (as strings); one query, however many ids."""
    pk = model._meta.pk_attr
    return {str(row[pk]) for row in await fetch_by_ids(model, (pk,), ids)}
