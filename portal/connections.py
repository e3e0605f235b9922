"""PostgreSQL connections checked for life as the pool hands them out, without a round trip.

`pool_pre_ping` sends a statement on every checkout: with psycopg outside a transaction that is
a BEGIN and a SELECT 1, two waits on the server per request before the request's own first
statement (issue 17). A server that ends a connection (a restart, `pg_terminate_backend`, an
idle timeout of its own) first sends the client a FATAL error and then closes the socket, so an
idle pooled connection whose socket has anything to read is dead: nothing else arrives unasked
on a connection that runs no LISTEN. The check is a `poll()` on the socket, about a
microsecond. Raising DisconnectionError makes SQLAlchemy's pool throw the connection away and
try again with a new one, so the request never sees the dead one.

What the check cannot see is a connection something between the two ends dropped without a
word: a firewall or load balancer that forgets idle connections (and answers the next packet
with a reset, or nothing). The request that meets it gets a 503 (errors.py) and the dead
connection is thrown away for the next one. Where such a middlebox sits between the app and
PostgreSQL, keep the pool's connections younger than its idle timeout
(`LASTMILE_SQLALCHEMY_ENGINE_OPTIONS__pool_recycle`), or turn this off and the ping back on
(`LASTMILE_DATABASE_SOCKET_CHECK=false`, `LASTMILE_SQLALCHEMY_ENGINE_OPTIONS__pool_pre_ping=true`).
"""

from __future__ import annotations

import select

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError


def check_on_checkout(engine: Engine) -> None:
    """Install the socket check on a PostgreSQL engine's pool, with psycopg (the driver we
    ship; other drivers and databases: nothing)."""
    psycopg = engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
    if psycopg and not event.contains(engine, "checkout", _alive):
        event.listen(engine, "checkout", _alive)


def _alive(dbapi_connection, connection_record, connection_proxy) -> None:
    if dbapi_connection.closed or dbapi_connection.broken:
        raise DisconnectionError("the connection was closed")
    poller = select.poll()
    poller.register(dbapi_connection.pgconn.socket, select.POLLIN | select.POLLPRI)
    if poller.poll(0):
        # An idle connection has nothing to read unless the server said goodbye (or hung up).
        raise DisconnectionError("the server ended the connection")
