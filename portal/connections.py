"""PostgreSQL connections checked for life as the pool hands them out, without a round trip.

`pool_pre_ping` sends a statement on every checkout: with psycopg outside a transaction that is
a BEGIN and a SELECT 1, two waits on the server per request before the request's own first
statement (issue 17). A server that ends a connection (a restart, `pg_terminate_backend`, an
idle timeout) first sends the client a FATAL error and then closes the socket, so an idle
pooled connection whose socket has anything to read is dead: nothing else arrives unasked on a
connection that runs no LISTEN. The check is a `poll()` on the socket, about a microsecond.
Raising DisconnectionError makes SQLAlchemy's pool throw the connection away and hand out a new
one (it tries three times), so the request never sees the dead one.

What the check cannot see is a peer that vanished without a word (a cable pulled, a firewall
dropping the connection silently); a ping would hang there too, until TCP gives up. Such a
request fails with a 503 (errors.py) and the dead connection is discarded for the next one.
"""

from __future__ import annotations

import select

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError


def check_on_checkout(engine: Engine) -> None:
    """Install the socket check on a PostgreSQL engine's pool (other databases: nothing)."""
    if engine.dialect.name == "postgresql" and not event.contains(engine, "checkout", _alive):
        event.listen(engine, "checkout", _alive)


def _alive(dbapi_connection, connection_record, connection_proxy) -> None:
    if dbapi_connection.closed or dbapi_connection.broken:
        raise DisconnectionError("the connection was closed")
    poller = select.poll()
    poller.register(dbapi_connection.pgconn.socket, select.POLLIN | select.POLLPRI)
    if poller.poll(0):
        # An idle connection has nothing to read unless the server said goodbye (or hung up).
        raise DisconnectionError("the server ended the connection")
