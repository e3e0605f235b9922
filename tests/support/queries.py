"""Counting the SQL a request sends: round trips, not time (issue 17).

`count_queries(engine)` listens to `before_cursor_execute`, every statement SQLAlchemy sends
through a cursor, and sorts them:

- `statements`: the app's own statements (SELECT, INSERT, UPDATE, DELETE, …): one round trip
  each, the same number in a test as in production, on SQLite as on PostgreSQL.
- `transactions`: the transactions the app began. Under the test harness
  (tests/support/database.py) every session joins the test's connection with a SAVEPOINT, so a
  transaction shows as SAVEPOINT … RELEASE / ROLLBACK TO; in production each is a BEGIN and a
  COMMIT or ROLLBACK instead (two more round trips on PostgreSQL, where psycopg sends BEGIN on
  its own, outside the cursor events). The harness's savepoint statements are therefore never
  counted as statements; each SAVEPOINT counts one transaction.

Not seen here: the pool's liveness check at checkout (the harness holds one connection for the
whole test, so requests never check one out). tests/integration/test_query_counts.py counts it
on an app of its own, with a real pool.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import event
from sqlalchemy.engine import Engine

# Transaction control, the harness's or the driver's: not the app's reads and writes.
_CONTROL = ("SAVEPOINT", "RELEASE", "ROLLBACK", "COMMIT", "BEGIN")


@dataclass
class Queries:
    sql: list[str] = field(default_factory=list)  # the app's statements, in order
    transactions: int = 0

    @property
    def statements(self) -> int:
        return len(self.sql)

    def __str__(self) -> str:  # what a failing assertion shows
        lines = "\n".join(f"  {n}. {' '.join(s.split())[:160]}" for n, s in enumerate(self.sql, 1))
        return f"{self.statements} statements, {self.transactions} transactions:\n{lines}"


@contextmanager
def count_queries(engine: Engine) -> Iterator[Queries]:
    seen = Queries()

    def before(conn, cursor, statement, parameters, context, executemany) -> None:
        word = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
        if word == "SAVEPOINT" or word == "BEGIN":
            seen.transactions += 1
        elif word not in _CONTROL:
            seen.sql.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)
