"""The hand-off after a commit: the rows a request queued reach Redis from a thread of their own,
so a Redis that accepts connections and never answers costs the request nothing (the queue's
client would wait 5 s a command), and the rows stay queued for the sweeper."""

from __future__ import annotations

import socket
import time

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Notification, NotificationState
from portal.notifications import handoff
from portal.notifications.handoff import drain, finish_handoffs, hand_off
from tests.support import factories
from tests.support.api import parcel_body


def stall_redis(app, monkeypatch) -> socket.socket:
    """Redis's URL pointed at a socket that is listening, so connecting succeeds (the kernel
    accepts into the backlog), and silent."""
    stalled = socket.create_server(("127.0.0.1", 0))
    monkeypatch.setitem(app.config, "REDIS_URL", f"redis://127.0.0.1:{stalled.getsockname()[1]}/0")
    return stalled


def test_a_stalled_redis_does_not_stall_the_request(app, merchant_api, monkeypatch):
    carrier = factories.make_carrier()
    db.session.commit()
    stalled = stall_redis(app, monkeypatch)
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


def test_an_exiting_web_worker_gives_its_hand_offs_a_bounded_wait(app, monkeypatch):
    """gunicorn's worker_exit waits for hand-offs still on their way, but never long: with
    Redis stalled it gives up after its timeout and the rows are left to the sweeper."""
    stalled = stall_redis(app, monkeypatch)
    try:
        with app.test_request_context("/api/v1/parcels", method="POST"):
            hand_off([1, 2])  # from a request: onto the thread's backlog
        started = time.monotonic()
        assert finish_handoffs(timeout=0.3) is False
        assert time.monotonic() - started < 2
    finally:
        stalled.close()
        drain()
    assert finish_handoffs(timeout=1) is True


def test_a_job_or_command_hands_off_before_it_returns(app, redis_queue, monkeypatch):
    """Outside a request (a worker's job, a command) the hand-off is made at once: a plain
    `rq worker` runs each job in a forked child that exits as soon as the job ends."""
    monkeypatch.setattr(handoff._courier, "submit", lambda *a: pytest.fail("went to the thread"))
    hand_off([41, 42])
    assert handoff.queue().count == 1  # one job of both rows, already in Redis
