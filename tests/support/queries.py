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

Not seen here: what the driver and the pool send on their own (BEGIN, ROLLBACK, a ping), and
the harness holds one connection for the whole test anyway. `count_round_trips(engine)` sees
those, on PostgreSQL, in tests with real connections (marked `committed`): libpq's own trace
of every message each connection the pool hands out meanwhile exchanges with the server.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

from psycopg.pq import Trace
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


@dataclass
class RoundTrips:
    """What the server was asked over the wire: each exchange ends with its ReadyForQuery."""

    trace: list[str] = field(default_factory=list)  # libpq's lines, "F"rom us and "B"ack

    @property
    def count(self) -> int:
        return sum(1 for line in self.trace if line.startswith("B") and "\tReadyForQuery" in line)

    @property
    def transaction_control(self) -> list[str]:
        """BEGIN, COMMIT, ROLLBACK: the driver sends them as simple queries of their own."""
        texts = [
            line.split("\t", 3)[3].strip().strip('"')
            for line in self.trace
            if line.startswith("F") and "\tQuery\t" in line
        ]
        return [t for t in texts if t.split()[0].upper() in _CONTROL]

    @property
    def parsed(self) -> int:
        """Statements the server was sent to parse and plan (none, once psycopg prepared them)."""
        return sum(1 for line in self.trace if line.startswith("F") and "\tParse\t" in line)

    def __str__(self) -> str:
        return f"{self.count} round trips:\n" + "\n".join(self.trace)


@contextmanager
def count_round_trips(engine: Engine) -> Iterator[RoundTrips]:
    seen = RoundTrips()
    traced: list = []
    with ExitStack() as files:

        def checkout(dbapi_connection, record, proxy) -> None:
            out = files.enter_context(tempfile.TemporaryFile("w+"))
            dbapi_connection.pgconn.trace(out.fileno())
            dbapi_connection.pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS)
            traced.append((dbapi_connection, out))

        def checkin(dbapi_connection, record) -> None:  # after the pool's reset (its ROLLBACK)
            if dbapi_connection is not None and not dbapi_connection.closed:
                dbapi_connection.pgconn.untrace()

        event.listen(engine, "checkout", checkout)
        event.listen(engine, "checkin", checkin)
        try:
            yield seen
        finally:
            event.remove(engine, "checkout", checkout)
            event.remove(engine, "checkin", checkin)
            for connection, out in traced:
                if not connection.closed:
                    connection.pgconn.untrace()
                out.seek(0)
                seen.trace.extend(out.read().splitlines())
