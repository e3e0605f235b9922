"""Issue 18: the `parcel_created` SMS and e-mail carry the predicted delivery day when one is
known; the carrier's own window wins, and nothing is said once the journey has ended."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from portal.extensions import db
from portal.gsm7 import is_gsm7, segments
from portal.localtime import format_day
from portal.models import Channel, MessageTemplate, Notification, ParcelStatus
from portal.services.edd import predict_parcel
from portal.services.messages import context, notify, render, set_predictor
from portal.services.messages.overrides import preview
from tests.support import factories

LONGEST_LINK = "https://track.lastmile.example/l/AbCdEfGhIjKl"  # 46 characters, as in production
# Monday 28 September 2026, 10:00 in Stockholm: the parcel ships on Tuesday, and the carrier's
# default (1-3 working days, set by the operator) makes it most likely on Wednesday 30
# September, the longest English day there is ("Wednesday", "September").
MONDAY = datetime(2026, 9, 28, 8, 0, tzinfo=UTC)


@pytest.fixture
def predictor(db) -> Iterator[None]:
    """services/edd's prediction lent to the messages, as the app lends it at start-up, with
    the parcels' carrier's default transit set by the operator (the global default alone is
    no promise a message makes)."""
    carrier = factories.make_carrier()
    carrier.edd_days_min, carrier.edd_days_max = 1, 3
    db.session.flush()
    before = set_predictor(predict_parcel)
    yield
    set_predictor(before)


def created(parcel, channel: str, suffix: str = "") -> Notification:
    return db.session.execute(
        select(Notification).where(
            Notification.parcel_id == parcel.id,
            Notification.trigger == "parcel_created",
            Notification.channel == channel,
            Notification.dedupe_key.like(f"%:parcel_created{suffix}:%"),
        )
    ).scalar_one()


def test_the_app_lends_the_prediction_to_the_messages(app):
    lent = set_predictor(None)
    set_predictor(lent)
    assert lent is predict_parcel


@pytest.mark.clock(MONDAY)
@pytest.mark.parametrize(
    ("language", "day", "earliest", "latest", "sms_words", "mail_words"),
    [
        (
            "en",
            "Wednesday 30 September",
            "Wednesday 30 September",
            "Friday 2 October",
            "your order is packed and expected Wednesday 30 September.",
            "Expected delivery: Wednesday 30 September",
        ),
        (
            "sv",
            "onsdag 30 september",
            "onsdag 30 september",
            "fredag 2 oktober",
            "din beställning är packad och väntas fram onsdag 30 september.",
            "Beräknad leverans: onsdag 30 september",
        ),
    ],
)
def test_the_created_messages_carry_the_expected_day_in_the_recipients_language(
    predictor, clock, language, day, earliest, latest, sms_words, mail_words
):
    parcel = factories.make_parcel(language=language)
    prediction = predict_parcel(parcel, parcel.time_zone)
    assert prediction is not None and prediction.earliest != prediction.latest
    with force_locale(language):
        assert format_day(prediction.most_likely) == day
        assert format_day(prediction.earliest) == earliest
        assert format_day(prediction.latest) == latest

    sms = created(parcel, "sms")
    assert sms.language == language and sms_words in sms.body
    assert is_gsm7(sms.body) and segments(sms.body) == 1, (len(sms.body), sms.body)

    mail = created(parcel, "email")
    between = {"en": "between {} and {}", "sv": "mellan {} och {}"}[language]
    for text in (mail.body, mail.body_html):
        assert mail_words in text
        assert between.format(earliest, latest) in text


@pytest.mark.clock(MONDAY)
def test_a_carriers_window_wins_over_the_prediction(predictor, clock):
    start = datetime(2026, 10, 1, 12, tzinfo=UTC)  # Thursday 1 October, 14:00-16:00 local
    parcel = factories.make_parcel()
    parcel.eta_from, parcel.eta_to = start, start + timedelta(hours=2)  # the carrier's window
    notify(parcel, "parcel_created", dedupe_suffix=":again")

    sms = created(parcel, "sms", ":again")
    assert "expected Thursday 1 October." in sms.body
    assert "September" not in sms.body  # not the prediction's Wednesday 30 September
    mail = created(parcel, "email", ":again")
    assert "Expected: Thursday 1 October, 14:00–16:00." in mail.body
    assert "Expected delivery" not in mail.body and "between" not in mail.body


@pytest.mark.clock(MONDAY)
@pytest.mark.parametrize("language", ["en", "sv"])
def test_once_the_journey_ended_the_message_names_no_day(predictor, clock, language):
    parcel = factories.make_parcel(language=language)
    parcel.status = ParcelStatus.DELIVERED
    assert predict_parcel(parcel, parcel.time_zone) is None

    with force_locale(language):
        values = context(parcel, "parcel_created", "token", {})
    assert values["expected_day"] == values["expected_earliest"] == values["expected_latest"] == ""

    notify(parcel, "parcel_created", dedupe_suffix=":again")
    sms, mail = created(parcel, "sms", ":again"), created(parcel, "email", ":again")
    soon = {"en": "and on its way soon.", "sv": "och skickas snart."}[language]
    assert soon in sms.body and not re.search(r"\b30 (September|september)", sms.body)
    assert "Expected" not in mail.body and "Beräknad" not in mail.body
    assert "Expected" not in mail.body_html and "Beräknad" not in mail.body_html


@pytest.mark.clock(MONDAY)
def test_without_a_lent_prediction_the_message_is_as_before(clock):
    before = set_predictor(None)
    try:
        parcel = factories.make_parcel()
    finally:
        set_predictor(before)
    assert "and on its way soon." in created(parcel, "sms").body
    assert "Expected" not in created(parcel, "email").body


# The longest days the SMS can name: "Wednesday"/"September" in English, "torsdag"/"september"
# in Swedish (and "onsdag 30 september", the day of the example above).
LONGEST_DAYS = [
    ("en", "Wednesday 30 September"),
    ("sv", "torsdag 30 september"),
    ("sv", "onsdag 30 september"),
]


@pytest.mark.parametrize(("language", "day"), LONGEST_DAYS)
@pytest.mark.parametrize("source", ["predicted", "carrier"])
def test_the_sms_stays_one_gsm7_segment_with_the_longest_day(app, db, language, day, source):
    parcel = factories.make_parcel(language=language)
    values = {
        "parcel": parcel,
        "merchant": "Nordic Outdoor",
        "tracking_number": "RR123456785SE",
        "link": LONGEST_LINK,
    }
    if source == "predicted":
        values |= {"expected_day": day, "expected_earliest": day, "expected_latest": day}
    else:
        values |= {"eta_day": day, "eta_from_local": "14:00", "eta_to_local": "16:00"}
    with app.test_request_context():
        sms = render("parcel_created", Channel.SMS, language, values)["body"]
    assert day in sms and LONGEST_LINK in sms
    assert is_gsm7(sms), sms
    assert len(sms) <= 160 and segments(sms) == 1, (len(sms), sms)


@pytest.mark.clock(MONDAY)
def test_a_merchants_own_wording_can_name_the_expected_day(predictor, clock):
    merchant = factories.make_merchant("Nordic Outdoor")
    body = "{{ merchant }}: packed{% if expected_day %}, due {{ expected_day }}{% endif %}. "
    body += "{{ link }}"
    checked = preview(merchant, "parcel_created", "sms", "en", None, body)
    assert not checked.errors, checked.errors
    assert ", due " in checked.text  # the sample parcel's predicted day

    db.session.add(
        MessageTemplate(
            merchant_id=merchant.id,
            trigger="parcel_created",
            channel="sms",
            language="en",
            body=body,
        )
    )
    db.session.flush()
    parcel = factories.make_parcel(merchant=merchant)
    assert created(parcel, "sms").body.startswith(
        "Nordic Outdoor: packed, due Wednesday 30 September. http"
    )


@pytest.mark.clock(MONDAY)
def test_the_global_default_alone_names_no_day(clock):
    before = set_predictor(predict_parcel)
    try:
        parcel = factories.make_parcel()  # a carrier with no default, and no fit at all
        assert predict_parcel(parcel, parcel.time_zone).basis == "default"
        assert "on its way soon" in created(parcel, "sms").body
        assert "Expected delivery" not in created(parcel, "email").body
    finally:
        set_predictor(before)
