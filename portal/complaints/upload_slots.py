"""How many photo uploads one client has in flight at once, counted over every worker.

Decoding photos is the most CPU a request can cost (issue 15): a client with as many
connections as there are workers could keep all of them busy. Each upload takes a slot for
its client (its IPv4 address, or its IPv6 /64: see portal/net.py) and gives it back when the
response is made; over PHOTO_UPLOADS_PER_IP slots the upload is refused before its body is
read. With REDIS_URL the slots live in Redis, shared by every worker and machine; each slot
lapses on its own after PHOTO_UPLOAD_SLOT_SECONDS, so a worker killed mid-request never locks
its client out for good. Without Redis (the embedded default, one process) a counter in this
process does.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass

from flask import current_app
from redis import Redis

from portal.net import client_network
from portal.redis_clients import redis_client

log = logging.getLogger(__name__)

# One sorted set per client: a member per upload in flight, scored by when it started (Redis's
# own clock, so the workers' clocks need not agree). In one script, so that two uploads
# arriving together cannot both see a free slot.
_TAKE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('ZADD', KEYS[1], t, ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""
_KEY = "lastmile:photo-uploads:{}"

_local_lock = threading.Lock()
_local: dict[str, int] = {}


class TooManyUploads(Exception):
    """This client already has as many uploads in flight as it may."""


@dataclass(frozen=True)
class Slot:
    client: str
    token: str
    in_redis: bool


def take(client: str) -> Slot:
    """A slot for one upload from the client at address `client`, or TooManyUploads. Give it
    back with `give_back` in a `finally`."""
    client = client_network(client)
    config = current_app.config
    limit = int(config["PHOTO_UPLOADS_PER_IP"])
    if config.get("REDIS_URL"):
        token = uuid.uuid4().hex
        try:
            taken = _redis().eval(
                _TAKE,
                1,
                _KEY.format(client),
                token,
                int(config["PHOTO_UPLOAD_SLOT_SECONDS"]),
                limit,
            )
        except Exception:  # Redis down: count in this process rather than refuse everyone
            log.warning("upload slots: Redis unavailable, counting in this process")
        else:
            if not taken:
                raise TooManyUploads(client)
            return Slot(client, token, in_redis=True)
    with _local_lock:
        if _local.get(client, 0) >= limit:
            raise TooManyUploads(client)
        _local[client] = _local.get(client, 0) + 1
    return Slot(client, "", in_redis=False)


def give_back(slot: Slot) -> None:
    """Free the slot; never raises (a slot Redis kept lapses by itself)."""
    if slot.in_redis:
        try:
            _redis().zrem(_KEY.format(slot.client), slot.token)
        except Exception:
            log.warning("upload slots: could not give a slot back to Redis; it will lapse")
        return
    with _local_lock:
        left = _local.get(slot.client, 0) - 1
        if left > 0:
            _local[slot.client] = left
        else:
            _local.pop(slot.client, None)


def _redis() -> Redis:
    """Short timeouts, so a Redis that hangs delays an upload by a second or two, never a whole
    request timeout."""
    return redis_client(current_app.config["REDIS_URL"], connect_timeout=1, timeout=2)
