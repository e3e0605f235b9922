"""The parcel page's 30-second htmx poll answers 304 while its block would be the same, and
shows any change at once; nothing private is kept by a shared cache (issue 17)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal.extensions import db
from portal.models import ChoiceType, ParcelStatus
from portal.services.delivery import ChoiceRequest, choose
from tests.support import factories
from tests.support.pages import parcel_item, post_return, verify
from tests.support.queries import count_queries

NOW = factories.DELIVERY_NOW
POLL = {"HX-Request": "true", "HX-Target": "live"}


@pytest.fixture
def parcel(clock):
    return factories.parcel_going_to_a_pickup_point()


@pytest.fixture
def opened(client, parcel):
    return factories.open_as_recipient(client, parcel)


@pytest.fixture
def stranger(app):
    """Another browser: the parcel's number, no postcode."""
    return app.test_client()


def poll(client, parcel, etag: str | None = None):
    headers = dict(POLL)
    if etag:
        headers["If-None-Match"] = etag
    return client.get(f"/t/{parcel.tracking_number}", headers=headers)


def changed(client, parcel, before):
    """The poll after a change, sending the ETag from before it: the new block."""
    res = poll(client, parcel, before.headers["ETag"])
    assert res.status_code == 200
    assert res.headers["ETag"] != before.headers["ETag"]
    return res.get_data(as_text=True)


def test_an_unchanged_poll_is_304_with_the_same_headers(opened, parcel):
    first = poll(opened, parcel)
    assert first.status_code == 200 and 'id="live"' in first.get_data(as_text=True)
    etag = first.headers["ETag"]
    assert etag.startswith('"') and first.headers["Cache-Control"] == "private, no-cache"
    vary = {v.strip() for v in first.headers["Vary"].split(",")}
    assert {"HX-Request", "HX-Target", "Cookie", "Accept-Language"} <= vary
    for sent in (etag, "W/" + etag, f'"other", {etag}'):  # nginx's gzip makes it weak
        again = poll(opened, parcel, sent)
        assert again.status_code == 304, sent
        assert again.get_data() == b""
        assert again.headers["ETag"] == etag
        assert again.headers["Cache-Control"] == first.headers["Cache-Control"]
        assert {v.strip() for v in again.headers["Vary"].split(",")} == vary


def test_the_unverified_poll_carries_a_validator_too(stranger, parcel):
    first = poll(stranger, parcel)
    assert first.status_code == 200 and "Near Shop" not in first.get_data(as_text=True)
    assert first.headers["Cache-Control"] == "private, no-cache"
    assert poll(stranger, parcel, first.headers["ETag"]).status_code == 304


def test_the_whole_page_has_no_validator_and_is_never_stored(opened, stranger, parcel):
    etag = poll(opened, parcel).headers["ETag"]
    for client in (opened, stranger):
        page = client.get(f"/t/{parcel.tracking_number}", headers={"If-None-Match": etag})
        assert page.status_code == 200 and "ETag" not in page.headers
        assert page.headers["Cache-Control"] == "private, no-store"
        assert "HX-Request" in page.headers["Vary"]


def test_a_new_event_shows_at_once(opened, parcel):
    before = poll(opened, parcel)
    factories.add_events(parcel, ("ofd", "out_for_delivery", NOW - timedelta(minutes=5)))
    assert "Out for delivery" in changed(opened, parcel, before)


def test_a_status_or_eta_change_shows_at_once(opened, parcel):
    before = poll(opened, parcel)
    parcel.status = ParcelStatus.DELIVERY_FAILED
    db.session.commit()
    html = changed(opened, parcel, before)
    assert "status-delivery_failed" in html
    before = poll(opened, parcel)
    parcel.eta_from = datetime(2026, 11, 27, 13, tzinfo=UTC)
    parcel.eta_to = datetime(2026, 11, 27, 15, tzinfo=UTC)
    db.session.commit()
    assert "14:00–16:00" in changed(opened, parcel, before)


def test_a_new_delivery_choice_shows_at_once(opened, parcel, clock):
    before = poll(opened, parcel)
    clock.shift(timedelta(minutes=1))
    kiosk = factories.pickup_point("Far Kiosk")
    choose(parcel, ChoiceRequest(ChoiceType.PICKUP_POINT, pickup_point_id=kiosk.id))
    db.session.commit()
    assert "Far Kiosk" in changed(opened, parcel, before)


def test_a_renamed_pickup_point_shows_at_once(opened, parcel):
    before = poll(opened, parcel)
    near = factories.pickup_point("Near Shop")
    near.name = "Corner Shop"
    db.session.commit()
    assert "Corner Shop" in changed(opened, parcel, before)


def test_a_return_started_shows_at_once(opened, parcel, clock):
    factories.add_events(parcel, ("dlv", "delivered", NOW - timedelta(minutes=5)))
    before = poll(opened, parcel)
    assert poll(opened, parcel, before.headers["ETag"]).status_code == 304
    started = post_return(opened, parcel, {parcel_item(parcel, "SHIRT-M"): (1, "too_small")})
    assert started.status_code == 303, started.get_data(as_text=True)
    changed(opened, parcel, before)  # the block itself doesn't list returns: the page does
    page = opened.get(f"/t/{parcel.tracking_number}", headers={"If-None-Match": "*"})
    assert page.status_code == 200 and "returns-list" in page.get_data(as_text=True)


def test_a_language_switch_shows_at_once(opened, parcel):
    before = poll(opened, parcel)
    opened.get("/lang/sv")
    html = changed(opened, parcel, before)
    assert "What happened" not in html and 'id="live"' in html


def test_verifying_shows_the_details_at_once(stranger, parcel):
    before = poll(stranger, parcel)
    assert "step 1" not in before.get_data(as_text=True)
    verify(stranger, parcel, "113 48")
    html = changed(stranger, parcel, before)
    assert "step 1" in html and "Near Shop" in html


def test_a_verified_sessions_validator_never_opens_its_block_to_another(opened, stranger, parcel):
    verified = poll(opened, parcel)
    assert "Near Shop" in verified.get_data(as_text=True)
    res = poll(stranger, parcel, verified.headers["ETag"])
    assert res.status_code == 200
    html = res.get_data(as_text=True)
    assert "Near Shop" not in html and "step 1" not in html and "Surbrunnsgatan" not in html


def test_a_new_day_gives_a_new_validator(opened, parcel, clock):
    before = poll(opened, parcel)
    clock.shift(timedelta(days=1))
    changed(opened, parcel, before)
    # A new year: the timeline now writes the year of last year's events.
    before = poll(opened, parcel)
    clock.move_to(datetime(2027, 1, 2, 9, tzinfo=UTC))
    assert "Thu 26 Nov, 06:00" in before.get_data(as_text=True)
    assert "Thu, 26 Nov 2026, 06:00" in changed(opened, parcel, before)  # CLDR en_GB yMMMEd


def test_the_304_sends_one_statement_the_full_poll_three(opened, parcel):
    url = f"/t/{parcel.tracking_number}"
    etag = poll(opened, parcel).headers["ETag"]
    db.session.rollback()  # the test's own reads done: only the requests' are counted
    with count_queries(db.engine) as full:
        assert opened.get(url, headers=POLL).status_code == 200
    with count_queries(db.engine) as cheap:
        assert opened.get(url, headers={**POLL, "If-None-Match": etag}).status_code == 304
    # The parcel with its events, choices and returns summed up; then its events and choices.
    assert (full.statements, full.transactions) == (3, 1), full
    assert (cheap.statements, cheap.transactions) == (1, 1), cheap
