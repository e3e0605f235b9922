"""The hand-off after a commit: the rows a request queued reach Redis from a thread of their own,
so a Redis that accepts connections and never answers costs the request nothing (the queue's
client would wait 5 s a command), and the rows stay queued for the sweeper."""

from __future__ import annotations

import socket
import time

from sqlalchemy import select

from portal.extensions import db
from portal.models import Notification, NotificationState
from portal.notifications.handoff import drain
from tests.support import factories
from tests.support.api import parcel_body


def test_a_stalled_redis_does_not_stall_the_request(app, merchant_api, monkeypatch):
    carrier = factories.make_carrier()
    db.session.commit()
    # Listening, so connecting succeeds (the kernel accepts into the backlog), and silent.
    stalled = socket.create_server(("127.0.0.1", 0))
    monkeypatch.setitem(app.config, "REDIS_URL", f"redis://127.0.0.1:{stalled.getsockname()[1]}/0")
    try:
        started = time.monotonic()
        res = merchant_api.post(
            "/api/v1/parcels",
            json=parcel_body(carrier.name, phone="+46701234567", email="alva@example.com"),
        )
        took = time.monotonic() - started
    finally:
        stalled.close()  # the hand-off's connection is reset: it gives up and logs
        drain()
    assert res.status_code == 201, res.json
    # A behaviour check, not a benchmark: far under the 5 s the hand-off alone would wait.
    assert took < 2, took
    rows = db.session.execute(select(Notification)).scalars().all()
    assert {n.trigger for n in rows} == {"parcel_created"} and len(rows) == 2
    # Nothing reached a queue: both stay queued, and the sweeper hands them over later.
    assert {n.state for n in rows} == {NotificationState.QUEUED}
