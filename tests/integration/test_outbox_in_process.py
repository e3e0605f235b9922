"""The embedded default without Redis: a request's messages go out on a thread of this process,
which outlives the request and so must hold nothing of it but its id (for the log lines)."""

from __future__ import annotations

import pytest
from flask import Flask, g, has_app_context, has_request_context

from portal import logs
from portal.notifications import handoff


@pytest.fixture
def sender_sees(app: Flask, monkeypatch) -> list[dict]:
    """What the sender thread finds around it when it sends, one entry per hand-off."""
    seen: list[dict] = []

    def send_all(ids: list[int]) -> dict[str, int]:
        seen.append(
            {
                "ids": ids,
                "request": has_request_context(),
                "app": has_app_context(),
                "request_id": logs.request_id.get(),
                "writer": g.get("sqlite_writer"),
            }
        )
        return {}

    monkeypatch.setitem(app.config, "REDIS_URL", None)
    monkeypatch.setattr(handoff, "send_and_close", send_all)
    yield seen
    handoff.drain()


def test_the_sender_thread_carries_the_request_id_and_nothing_else_of_the_request(app, sender_sees):
    with app.test_request_context("/t/RR123456785SE", method="POST"):
        token = logs.request_id.set("checkout-4711")
        try:
            handoff.dispatch([1, 2])
        finally:
            logs.request_id.reset(token)
    handoff.dispatch([3])  # a command's hand-off, with no request around it
    handoff.drain()

    assert sender_sees == [
        # An app context of its own (writing to SQLite), the request's id, no request.
        {
            "ids": [1, 2],
            "request": False,
            "app": True,
            "request_id": "checkout-4711",
            "writer": True,
        },
        # The same thread's next job starts clean: the last one's id does not linger.
        {"ids": [3], "request": False, "app": True, "request_id": None, "writer": True},
    ]
