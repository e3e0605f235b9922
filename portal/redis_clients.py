"""Redis clients for the app's own calls (upload slots, /readyz, the queue gauge, the outbox
queue): one per URL and timeouts in each process, so every caller keeps the patience it chose
and reuses pooled connections instead of opening one per call."""

from __future__ import annotations

from functools import lru_cache

from redis import Redis


# A handful of entries in practice: one URL (REDIS_URL) times the few timeouts callers pick.
# The bound only matters when tests point REDIS_URL somewhere else for a while.
@lru_cache(maxsize=16)
def redis_client(url: str, *, connect_timeout: float, timeout: float) -> Redis:
    """The process's shared client for `url` with these socket timeouts (seconds). Its pool is
    thread-safe, survives a fork (redis-py starts a fresh pool in the child) and reconnects
    when Redis drops a connection (a restart), retrying the command on a new one. Callers
    must not change its settings: use `new_redis_client` for that."""
    return new_redis_client(url, connect_timeout=connect_timeout, timeout=timeout)


def new_redis_client(url: str, *, connect_timeout: float, timeout: float) -> Redis:
    """A client of the caller's own, for one that changes it: RQ's Worker lengthens the socket
    timeout of the client it is given, to outwait its blocking wait for the next job."""
    return Redis.from_url(url, socket_connect_timeout=connect_timeout, socket_timeout=timeout)
