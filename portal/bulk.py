"""Writing many rows in one statement, for the carrier's event batches.

On PostgreSQL each column goes as one array and `unnest` turns the arrays back into rows, so the
statement is a few hundred bytes whatever the batch size (a VALUES list of 1000 rows would be
thousands of parameters to send, convert and parse every time). SQLite takes the rows as an
executemany, which SQLAlchemy folds into multi-row INSERTs.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from sqlalchemy import Column, Table, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from portal.extensions import db


def insert_new(
    table: Table, rows: list[dict], *, unique: Sequence[str], returning: Sequence[Column]
) -> list:
    """Insert `rows` (all with the same keys), skipping any that collide on the `unique`
    columns; the `returning` columns of the rows that went in."""
    if not rows:
        return []
    names = tuple(rows[0])
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = _unnest_insert(table, names, tuple(unique), tuple(returning))
        params = {f"a_{name}": [row[name] for row in rows] for name in names}
        return list(db.session.execute(stmt, params))
    stmt = (
        sqlite.insert(table)
        .on_conflict_do_nothing(index_elements=list(unique))
        .returning(*returning)
    )
    return list(db.session.execute(stmt, rows))


@functools.cache
def _unnest_insert(
    table: Table, names: tuple[str, ...], unique: tuple[str, ...], returning: tuple[Column, ...]
):
    # Built once per shape, so SQLAlchemy's compiled cache serves every later batch.
    arrays = [
        func.unnest(bindparam(f"a_{name}", type_=postgresql.ARRAY(table.c[name].type)))
        for name in names
    ]
    return (
        postgresql.insert(table)
        .from_select(list(names), select(*arrays))
        .on_conflict_do_nothing(index_elements=list(unique))
        .returning(*returning)
    )


def update_by_id(table: Table, rows: list[dict]) -> None:
    """Set each row's columns (all rows with the same keys, one of them "id") on the row with
    that id, in one statement on PostgreSQL."""
    if not rows:
        return
    names = tuple(rows[0])
    if db.session.get_bind().dialect.name == "postgresql":
        params = {f"a_{name}": [row[name] for row in rows] for name in names}
        db.session.execute(_unnest_update(table, names), params)
        return
    stmt = (
        update(table)
        .where(table.c.id == bindparam("a_id"))
        .values({name: bindparam(f"a_{name}") for name in names if name != "id"})
    )
    db.session.execute(stmt, [{f"a_{k}": v for k, v in row.items()} for row in rows])


@functools.cache
def _unnest_update(table: Table, names: tuple[str, ...]):
    arrays = select(
        *(
            func.unnest(bindparam(f"a_{name}", type_=postgresql.ARRAY(table.c[name].type))).label(
                name
            )
            for name in names
        )
    ).subquery("v")
    return (
        update(table)
        .where(table.c.id == arrays.c.id)
        .values({name: arrays.c[name] for name in names if name != "id"})
    )
