"""Every trigger has its SMS and e-mail in English and Swedish, and SMS stay short and GSM-7."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from flask_babel import force_locale

from portal.config import Config
from portal.formatting import eta_window, local_time
from portal.gsm7 import is_gsm7, segments
from portal.localtime import format_day, local_day
from portal.models import Channel
from portal.services.messages import TRIGGERS, render
from portal.services.messages.overrides import sample_context
from tests.support import factories

LANGUAGES = Config.LANGUAGES
LONGEST_LINK = "https://track.lastmile.example/l/AbCdEfGhIjKl"  # a realistic public base URL


@pytest.fixture
def context(db):
    factories.make_zone("Stockholm", prefixes=("113",))
    start = datetime(2026, 11, 25, 13, tzinfo=UTC)
    parcel = factories.make_parcel(eta=(start, start + timedelta(hours=2)))
    parcel.eta_from, parcel.eta_to = start, start + timedelta(hours=2)
    return {
        "parcel": parcel,
        "merchant": "Nordic Outdoor",
        "tracking_number": parcel.tracking_number,
        "link": LONGEST_LINK,
        "eta": "Wednesday 25 November, 14:00–16:00",
        "eta_from_local": "14:00",
        "eta_to_local": "16:00",
        "eta_day": "Wednesday 25 November",
        "pickup_place": "ICA Nära Vasastan",
        "pickup_until": "Wednesday 2 December",
        "pickup_code": "123456",
        "unsubscribe_link": "https://track.lastmile.example/u/XyZ",
        "reply_choices": True,
        # The longest choice line: a pickup point with a long name and address.
        "choice_text": "Pickup point: ICA Nära Vasastan, Surbrunnsgatan 21",
        # Returns: the longest service-point name we know and a refund with öre.
        "rma": "K7QX-94MP",
        "place": "Pressbyrån Odenplan",
        "dropped_off_at": datetime(2026, 12, 31, 13, 5, tzinfo=UTC),  # the longest day name
        "amount": "1249.50",
        "currency": "SEK",
    }


def in_language(context: dict, language: str) -> dict:
    """The context's dates as the language writes them, on the day of the year it writes
    longest ("torsdag den 31. december", "keskiviikko 30. syyskuuta"): the segment count must
    hold for every day."""
    zone = "Europe/Stockholm"
    with force_locale(language):
        day = max(
            (date(2026, 1, 1) + timedelta(days=n) for n in range(365)),
            key=lambda d: len(format_day(d)),
        )
        start = datetime.combine(day, time(13), tzinfo=UTC)
        end = start + timedelta(hours=2)
        return context | {
            "eta": eta_window(start, end, zone),
            "eta_day": local_day(start, zone),
            "eta_from_local": local_time(start, zone),
            "eta_to_local": local_time(end, zone),
            "pickup_until": format_day(day),
            "expected_day": format_day(day),
            "due_day": format_day(day),
        }


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("trigger", TRIGGERS)
def test_sms_is_gsm7_and_short(app, context, trigger, language):
    with app.test_request_context():
        context = in_language(context, language)
        sms = render(trigger, Channel.SMS, language, context)["body"]
    assert LONGEST_LINK in sms
    assert is_gsm7(sms), sms
    # One segment, except messages that name a place, a date and a code, or offer replies.
    longer = {"ready_for_pickup", "delivery_failed", "delivery_changed"}
    assert segments(sms) <= (2 if trigger in longer else 1), (len(sms), sms)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("trigger", TRIGGERS)
def test_email_has_subject_text_and_html_with_unsubscribe(app, context, trigger, language):
    with app.test_request_context():
        mail = render(trigger, Channel.EMAIL, language, context)
    assert mail["subject"] and "Nordic Outdoor" in mail["subject"]
    assert LONGEST_LINK in mail["body"] and context["unsubscribe_link"] in mail["body"]
    assert f'href="{LONGEST_LINK}"' in mail["body_html"]
    assert f'lang="{language}"' in mail["body_html"]
    assert context["unsubscribe_link"] in mail["body_html"]


def test_segment_counting():
    assert segments("a" * 160) == 1 and segments("a" * 161) == 2 and segments("a" * 306) == 2
    assert segments("å" * 160) == 1  # Swedish letters are GSM-7
    assert segments("–" + "a" * 69) == 1 and segments("–" + "a" * 70) == 2  # en dash: UCS-2
    assert segments("€" * 80) == 1 and segments("€" * 81) == 2  # extension chars count twice


@pytest.mark.parametrize(("language", "written"), [("en", "SEK 1,249.50"), ("sv", "1 249,50 kr")])
def test_a_refund_is_written_as_the_customers_language_writes_money(
    app, context, language, written
):
    with app.test_request_context():
        sms = render("return_refunded", Channel.SMS, language, context)["body"]
        mail = render("return_refunded", Channel.EMAIL, language, context)
    assert written in sms  # SMS turn the no-break space into a plain one (GSM-7)
    assert written.replace(" ", "\xa0") in mail["body"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_first_sms_saying_a_standing_preference_applies_is_one_segment(app, context, language):
    # The longest it can be: 40 characters of the choice's words (issue 19).
    context |= {
        "preference_text": "Locker: Box Locker Odenplan, Karlbergsvägen 21",
        "preference_short": "Locker: Box Locker Odenplan, Karlbergsvä",
    }
    with app.test_request_context():
        sms = render("parcel_created", Channel.SMS, language, context)["body"]
    assert "Box Locker Odenplan" in sms and LONGEST_LINK in sms
    assert is_gsm7(sms) and segments(sms) == 1, (len(sms), sms)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("trigger", TRIGGERS)
def test_sms_with_every_variable_filled_stays_within_its_segments(app, db, trigger, language):
    """As the console's preview fills them (a case number, a due day, a withdrawn choice and
    its reason, opening hours …), on the language's longest day, with a full-length link."""
    merchant = factories.make_merchant("Nordic Outdoor")
    with app.test_request_context():
        with force_locale(language):
            filled = sample_context(merchant, trigger, Channel.SMS, language)
        filled = in_language(filled | {"parcel": filled["parcel"]}, language)
        filled["link"] = LONGEST_LINK
        sms = render(trigger, Channel.SMS, language, filled)["body"]
    assert is_gsm7(sms), sms
    longer = {"ready_for_pickup", "delivery_failed", "delivery_changed", "choice_withdrawn"}
    assert segments(sms) <= (2 if trigger in longer else 1), (len(sms), sms)
