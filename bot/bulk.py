"""Insert any number of rows in one SQL statement, skipping rows whose key is already stored.

A budget check that records thousands of alerts sends its rows as one JSON array bound to a
single parameter. The database unpacks
it (`json_each` on SQLite, `json_populate_recordset` on PostgreSQL), so the statement count
stays the same whatever the number of rows, no bound-parameter limit applies, and SQLAlchemy
compiles one short statement instead of one VALUES group per row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel


def insert_new_rows(
    session: Session,
    model: type[SQLModel],
    rows: Sequence[Mapping[str, Any]],
    *,
    key: Sequence[str],
    returning: Sequence[str],
) -> list[tuple]:
    """Insert `rows` into `model`'s table in the caller's transaction and return the `returning`
    columns of the rows inserted.

    A row whose `key` columns (a unique constraint) match a stored row is skipped. Every row
    must have the same columns. Rows are inserted in the order given; callers sort
    them by key, so two processes inserting overlapping rows lock them in the same order.
    """
    if not rows:
        return []
    table = model.__table__
    dialect = session.get_bind().dialect
    names = list(rows[0])
    processors = [_processor(table.c[name], dialect) for name in names]
    payload = json.dumps([_stored_values(row, names, processors, dialect) for row in rows], default=_json_default)
    quote = dialect.identifier_preparer.quote
    quoted = [quote(name) for name in names]
    key_list = ", ".join(map(quote, key))
    if dialect.name == "postgresql":
        source = (f"SELECT {', '.join(quoted)} "
                  f"FROM json_populate_recordset(NULL::{table.name}, CAST(:rows AS json)) WITH ORDINALITY AS given "
                  "ORDER BY given.ordinality")
    elif dialect.name == "sqlite":
        extracted = [f"json_extract(value, '$[{index}]') AS {name}" for index, name in enumerate(quoted)]
        # Without a WHERE clause, SQLite would parse ON CONFLICT as part of the SELECT's join.
        source = f"SELECT {', '.join(extracted)} FROM json_each(:rows) WHERE true ORDER BY json_each.key"
    else:
        raise NotImplementedError(f"bulk insert is written for SQLite and PostgreSQL, not {dialect.name}")
    statement = sa.text(
        f"INSERT INTO {table.name} ({', '.join(quoted)}) {source} "
        f"ON CONFLICT ({key_list}) DO NOTHING RETURNING {', '.join(map(quote, returning))}"
    ).columns(*[table.c[name] for name in returning])
    return [tuple(row) for row in session.execute(statement, {"rows": payload})]


def _processor(column: sa.Column, dialect) -> Callable[[Any], Any] | None:
    """Return the function that turns a value into the form the column's type stores, or None.

    json_populate_recordset takes a JSON column's value nested as it is. Every other value goes
    through its type's bind processor, so it is stored as an ORM insert stores it.
    """
    if dialect.name == "postgresql" and isinstance(column.type, sa.JSON):
        return None
    return column.type.dialect_impl(dialect).bind_processor(dialect)


def _stored_values(row: Mapping[str, Any], names: list[str], processors: list, dialect) -> list[Any] | dict[str, Any]:
    """Return the row in the form each column type stores (nano-dollars, UTC wall time text
    on SQLite), as a list on SQLite and as an object keyed by column name on PostgreSQL."""
    values = [row[name] if processor is None else processor(row[name]) for name, processor in zip(names, processors)]
    if dialect.name == "postgresql":
        return dict(zip(names, values))
    return values


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} {value!r} in a bulk insert")
