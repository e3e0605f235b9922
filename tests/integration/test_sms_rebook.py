"""After a failed delivery the recipient texts back "1" or "2" and the parcel is rebooked."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from sqlalchemy import select

from portal.extensions import db
from portal.models import ChoiceType, Notification, ParcelStatus
from portal.services.delivery import current_choice
from tests.support import factories
from tests.support.messaging import run_worker, signed_post

# Thursday 26 November, 22:30 in Stockholm: quiet hours, yet a reply gets its answer now.
EVENING = factories.DELIVERY_NOW.replace(hour=21, minute=30)
PHONE = "+46701234567"


@pytest.fixture
def failed(app, messaging):
    with time_machine.travel(EVENING - timedelta(hours=10), tick=False):
        factories.make_delivery_zone()
        parcel = factories.make_parcel(language="sv", statuses=[ParcelStatus.IN_TRANSIT])
        factories.add_events(
            parcel,
            ("o", "out_for_delivery", EVENING - timedelta(hours=12)),
            ("f", "delivery_failed", EVENING - timedelta(hours=11)),
        )
    return parcel


def reply(client, body: str, sid: str = "SMreply1"):
    with time_machine.travel(EVENING, tick=False):
        return signed_post(
            client, "/hooks/twilio/inbound", {"MessageSid": sid, "From": PHONE, "Body": body}
        )


def confirmation_sms(parcel) -> Notification:
    return db.session.execute(
        select(Notification).where(
            Notification.parcel_id == parcel.id,
            Notification.trigger == "delivery_changed",
            Notification.channel == "sms",
        )
    ).scalar_one()


def test_the_failed_delivery_sms_offers_the_replies(app, failed, messaging):
    # The carrier's batch queues the message; the worker writes it as it sends it.
    with time_machine.travel(EVENING - timedelta(hours=10), tick=False):
        run_worker(app)
    failed_sms = db.session.execute(
        select(Notification).where(
            Notification.trigger == "delivery_failed", Notification.channel == "sms"
        )
    ).scalar_one()
    assert failed_sms.rendered and failed_sms.state.value == "sent"
    # What the recipient got (after the "parcel created" text) is what the console shows.
    got = messaging.twilio.sent[-1]["data"]["Body"]
    assert got == failed_sms.body
    assert "Svara 1 för nästa lediga tid, 2 för närmaste utlämningsställe" in got


def test_reply_1_books_the_next_free_time_and_confirms_at_once(app, client, failed, messaging):
    res = reply(client, " 1 ")
    assert res.status_code == 200 and "<Message>" not in res.get_data(as_text=True)
    db.session.expire_all()
    choice = current_choice(failed)
    assert choice.type is ChoiceType.SLOT and choice.made_by == "sms"
    assert choice.slot.day == date(2026, 11, 30)  # Monday: Friday's closed at 18:00 today
    sms = confirmation_sms(failed)
    assert sms.not_before is None  # an answer, not news: quiet hours don't hold it back
    assert "Leverans måndag 30 november, 09:00-11:00" in sms.body
    with time_machine.travel(EVENING, tick=False):
        run_worker(app)
    bodies = [r["data"]["Body"] for r in messaging.twilio.sent]
    assert any("måndag 30 november" in b for b in bodies), bodies
    # Twilio retrying the same webhook books nothing more.
    reply(client, "1")
    assert (
        len(
            db.session.execute(
                select(Notification).where(
                    Notification.trigger == "delivery_changed", Notification.channel == "sms"
                )
            ).all()
        )
        == 1
    )


def test_reply_2_sends_it_to_the_nearest_pickup_point(client, failed):
    reply(client, "2")
    db.session.expire_all()
    choice = current_choice(failed)
    assert choice.type is ChoiceType.PICKUP_POINT and choice.pickup_point.name == "Near Shop"
    assert "Utlämningsställe: Near Shop" in confirmation_sms(failed).body


def test_without_a_failed_delivery_the_answer_says_why(app, client, messaging):
    factories.make_delivery_zone()
    with time_machine.travel(EVENING, tick=False):
        factories.make_parcel(
            statuses=[ParcelStatus.IN_TRANSIT], start=EVENING - timedelta(hours=2)
        )
    res = reply(client, "1")
    assert "We have no missed delivery to rebook" in res.get_data(as_text=True)


def test_when_every_time_is_full_the_answer_offers_the_other_way(client, failed):
    from portal.models import Slot

    db.session.execute(Slot.__table__.update().values(booked=Slot.capacity))
    db.session.commit()
    res = reply(client, "1")
    assert "Svara 2 för närmaste utlämningsställe" in res.get_data(as_text=True)
    assert current_choice(failed) is None


def test_a_reply_with_a_nul_character_still_books(app, client, failed, messaging):
    res = reply(client, "1\x00")
    assert res.status_code == 200
    db.session.expire_all()
    assert current_choice(failed).type is ChoiceType.SLOT
