"""The ready-for-pickup SMS and e-mail: the last day the parcel is kept, never a day its
pickup point is closed, and that day's opening hours; and the variables previews offer."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from portal.extensions import db
from portal.models import Channel, ChoiceType
from portal.services.delivery import ChoiceRequest, choose
from portal.services.messages import TRIGGERS, context_keys
from portal.services.messages import overrides as message_templates
from portal.services.network import closures
from tests.support import factories
from tests.support.messaging import run_worker

C = ChoiceType


def stockholm(day: date, hour: int = 10) -> datetime:
    """`hour` o'clock in Stockholm on a winter `day` (UTC+1)."""
    return datetime(day.year, day.month, day.day, hour - 1, tzinfo=UTC)


# Where the `clock` fixture (tests/conftest.py) starts.
pytestmark = pytest.mark.clock(stockholm(date(2026, 11, 26)))


def at_near_shop(carrier, clock, *, language: str = "en", chosen_on: date):
    """A parcel whose recipient chose Near Shop (Mo-Fr 08-20, Sa 10-16, closed on holidays)."""
    clock.move_to(stockholm(chosen_on))
    factories.make_delivery_zone(today=chosen_on)
    parcel = factories.make_parcel(carrier=carrier, language=language)
    near = factories.pickup_point("Near Shop")
    choose(parcel, ChoiceRequest(C.PICKUP_POINT, pickup_point_id=near.id), now=stockholm(chosen_on))
    db.session.commit()
    return parcel


def ready(carrier_api, clock, parcel, day: date) -> None:
    """The carrier scans the parcel in at the point at 10:00 on `day`."""
    clock.move_to(stockholm(day))
    res = carrier_api.post(
        "/api/v1/events",
        json={
            "events": [
                factories.event_json(
                    parcel, f"ready-{day}", "ready_for_pickup", stockholm(day), location="Depot"
                )
            ]
        },
    )
    assert res.status_code == 200, res.get_json()


def sms_body(messaging, words: str) -> str:
    [sms] = [r for r in messaging.twilio.sent if words in r["data"]["Body"]]
    return sms["data"]["Body"]


def mail_text(messaging, subject_words: str) -> str:
    [mail] = [m for m in messaging.smtp.messages if subject_words in m["Subject"]]
    return mail.get_body(("plain",)).get_content().replace("\r\n", "\n")


def mail_html(messaging, subject_words: str) -> str:
    [mail] = [m for m in messaging.smtp.messages if subject_words in m["Subject"]]
    return mail.get_body(("html",)).get_content()


def test_a_deadline_on_christmas_moves_to_the_next_open_day_with_its_hours(
    app, messaging, carrier, carrier_api, clock
):
    parcel = at_near_shop(carrier, clock, chosen_on=date(2026, 12, 16))
    # Friday 18 December + 7 days is Christmas Day; Saturday 26 is a holiday too, then Sunday.
    ready(carrier_api, clock, parcel, date(2026, 12, 18))
    run_worker(app)
    body = sms_body(messaging, "is ready at")
    assert (
        "is ready at Near Shop, Near Shop street 1 until Monday 28 December "
        "(open 08:00-20:00 that day). Code " in body
    )
    text = mail_text(messaging, "is ready for pickup")
    assert "Collect it at Near Shop, Near Shop street 1 until Monday 28 December.\n" in text
    assert "On Monday 28 December it is open 08:00-20:00.\n" in text
    assert "On Monday 28 December it is open 08:00-20:00." in mail_html(
        messaging, "is ready for pickup"
    )


def test_the_swedish_messages_give_the_last_day_and_its_hours(
    app, messaging, carrier, carrier_api, clock
):
    parcel = at_near_shop(carrier, clock, language="sv", chosen_on=date(2026, 12, 16))
    ready(carrier_api, clock, parcel, date(2026, 12, 18))
    run_worker(app)
    body = sms_body(messaging, "finns att hämta")
    assert (
        "finns att hämta hos Near Shop, Near Shop street 1 till måndag 28 december "
        "(öppet 08:00-20:00 den dagen). Kod " in body
    )
    text = mail_text(messaging, "finns att hämta")
    assert "Hämta det hos Near Shop, Near Shop street 1 senast måndag 28 december." in text
    assert "Den dagen är det öppet 08:00-20:00." in text


def test_a_saturday_deadline_gives_saturdays_hours(app, messaging, carrier, carrier_api, clock):
    parcel = at_near_shop(carrier, clock, chosen_on=date(2026, 11, 26))
    ready(carrier_api, clock, parcel, date(2026, 11, 28))  # Saturday: kept to Saturday 5 Dec
    run_worker(app)
    assert "until Saturday 5 December (open 10:00-16:00 that day)" in sms_body(
        messaging, "is ready at"
    )


def test_a_closure_while_the_parcel_waits_moves_the_deadline_past_it(
    app, messaging, carrier, carrier_api, clock
):
    parcel = at_near_shop(carrier, clock, chosen_on=date(2026, 11, 26))
    ready(carrier_api, clock, parcel, date(2026, 11, 27))  # kept to Friday 4 December
    # The point closes for a few days after the parcel arrived (which keeps its place there);
    # the message, written when it is sent, knows.
    closures.close_point(
        factories.pickup_point("Near Shop"),
        closed_from=date(2026, 12, 3),
        closed_until=date(2026, 12, 8),
        reason="Renovation",
        now=stockholm(date(2026, 11, 27)),
    )
    db.session.commit()
    run_worker(app)
    assert "until Wednesday 9 December (open 08:00-20:00 that day)" in sms_body(
        messaging, "is ready at"
    )


def test_without_a_chosen_point_the_message_names_where_the_carrier_left_it(
    app, messaging, carrier, carrier_api, clock
):
    factories.make_delivery_zone()
    parcel = factories.make_parcel(carrier=carrier)
    ready(carrier_api, clock, parcel, date(2026, 11, 26))
    run_worker(app)
    body = sms_body(messaging, "is ready at")
    assert "is ready at Depot until Thursday 3 December. Code " in body  # no hours: unknown
    assert "open" not in body.split("Code")[0]


@pytest.mark.parametrize("trigger", TRIGGERS)
def test_previews_offer_every_variable_a_message_may_use(app, trigger):
    merchant = factories.make_merchant()
    with app.test_request_context():
        for channel in (Channel.SMS, Channel.EMAIL):
            for language in app.config["LANGUAGES"]:
                context = message_templates.sample_context(merchant, trigger, channel, language)
                assert set(context) == context_keys(trigger, channel), (channel, language)
                assert all(context[k] not in (None, "") for k in context if "link" not in k)
