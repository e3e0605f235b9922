"""A worker's claim on the rows of a job: a job slower than its claim (a provider hanging on
every call) never sends a row that another worker took over meanwhile."""

from __future__ import annotations

import contextvars
from collections import Counter
from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import select

from portal.extensions import db
from portal.models import Channel, Notification, NotificationState
from portal.notifications.dispatch import send_notifications
from portal.notifications.handoff import drain
from tests.support import factories
from tests.support.messaging import TwilioRecorder

DAY = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # 10:00 in Stockholm: SMS go at once


class SlowTwilio(TwilioRecorder):
    """Twilio whose first answer comes only after `meanwhile` has happened."""

    def __init__(self, meanwhile) -> None:
        super().__init__()
        self.meanwhile = meanwhile

    def request(self, *args, **kwargs):
        meanwhile, self.meanwhile = self.meanwhile, None
        if meanwhile:
            meanwhile()
        return super().request(*args, **kwargs)


def as_a_worker(app, work):
    """`work` in an app context of its own, as in a worker process of its own."""

    def run():
        with app.app_context():
            try:
                return work()
            finally:
                db.session.remove()

    return contextvars.Context().run(run)


def test_a_row_taken_over_while_a_slow_job_held_it_is_sent_once(app, messaging, carrier):
    with time_machine.travel(DAY, tick=False) as clock:
        for n in (1, 2):
            factories.make_parcel(
                carrier=carrier, phone=f"+4670{n}000000", email=f"r{n}@example.com"
            )
        db.session.commit()
        drain()  # the commit's hand-off made, then undone:
        messaging.redis.flushdb()  # the first worker takes all four rows in one job, below
        rows = list(db.session.execute(select(Notification).order_by(Notification.id)).scalars())
        second_sms = next(
            r.id for r in rows if r.channel is Channel.SMS and r.recipient.endswith("2000000")
        )

        def claim_runs_out():
            # The first SMS hangs past the job's claim; the sweeper hands the rows it still holds
            # to a second worker, which sends one of them.
            clock.shift(timedelta(seconds=app.config["NOTIFY_CLAIM_SECONDS"] + 10))
            assert as_a_worker(app, lambda: send_notifications([second_sms])) == {"sent": 1}

        twilio = SlowTwilio(claim_runs_out)
        app.extensions["twilio_http_client"] = twilio
        outcomes = as_a_worker(app, lambda: send_notifications([r.id for r in rows]))

    assert Counter(r["data"]["To"] for r in twilio.sent) == {"+46701000000": 1, "+46702000000": 1}
    assert sorted(m["To"] for m in messaging.smtp.messages) == ["r1@example.com", "r2@example.com"]
    assert outcomes == {"sent": 3, "skipped": 1}
    db.session.rollback()
    states = db.session.execute(select(Notification.state)).scalars().all()
    assert set(states) == {NotificationState.SENT}
