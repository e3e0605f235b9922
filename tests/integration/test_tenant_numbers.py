"""Tracking numbers are unique per merchant (issue 15, hole 1): no merchant can squat another's
number or a return's, a carrier event on a number two parcels share is refused rather than
guessed, and the pages, the API and the console never mix the parcels up."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal import s10
from portal.extensions import db
from portal.models import Parcel, ParcelNote, ParcelStatus, Return, ReturnStatus
from portal.models.types import utcnow
from portal.services.returns import LineRequest, ReturnRequest, open_return
from tests.support import factories, staff
from tests.support.api import auth, csrf_token, parcel_body
from tests.support.pages import csrf_for

SHARED = f"RR55500001{s10.check_digit('55500001')}SE"  # a number two merchants both use


@pytest.fixture
def shops(db):
    """Two merchants shipping with one carrier, each with an API key; and the carrier's key."""
    factories.make_zone("Stockholm", prefixes=("113", "411"))
    carrier = factories.make_carrier("Baltic Express")
    alva_shop, bo_shop = (
        factories.make_merchant("Norrland Outdoor"),
        factories.make_merchant("Göta Gear"),
    )
    return (
        carrier,
        (alva_shop, factories.make_api_key(merchant=alva_shop)),
        (bo_shop, factories.make_api_key(merchant=bo_shop)),
        factories.make_api_key(carrier=carrier),
    )


def returned(parcel: Parcel) -> Return:
    """An approved return of the parcel's tent, with its own LR… return tracking number."""
    ret = open_return(
        parcel, ReturnRequest([LineRequest(sku="TENT-2P", quantity=1, reason="damaged")], "dropoff")
    )
    db.session.commit()
    assert ret.status is ReturnStatus.APPROVED
    return ret


def event(number: str, event_id: str, code: str = "in_transit") -> dict:
    return {
        "event_id": event_id,
        "tracking_number": number,
        "code": code,
        "occurred_at": utcnow().isoformat(),
    }


def shared_number(shops) -> tuple[Parcel, Parcel]:
    """Alva's and Bo's parcels under the same number, from two shops and one carrier."""
    carrier, (alva_shop, _), (bo_shop, _), _ = shops
    alva = factories.make_parcel(
        merchant=alva_shop, carrier=carrier, tracking_number=SHARED, name="Alva Lindqvist"
    )
    bo = factories.make_parcel(
        merchant=bo_shop,
        carrier=carrier,
        tracking_number=SHARED,
        name="Bo Berg",
        postcode="411 01",
        city="Göteborg",
        email="bo@example.com",
    )
    return alva, bo


# --- creating parcels ---------------------------------------------------------------------------


def test_a_merchant_cannot_create_a_parcel_under_another_merchants_return_number(client, shops):
    carrier, (alva_shop, _), (_, bo_key), _ = shops
    alva = factories.make_parcel(merchant=alva_shop, carrier=carrier, statuses=factories.DELIVERED)
    ret = returned(alva)

    res = client.post(
        "/api/v1/parcels",
        json=parcel_body(carrier.name, ret.return_tracking_number),
        headers=auth(bo_key),
    )
    assert res.status_code == 422, res.json
    assert res.json["error"]["code"] == "reserved_tracking_number"
    assert res.json["error"]["field"] == "tracking_number"
    # Nor a number of the series return labels are printed from, used or not yet.
    unused = "LR" + "12345678" + "5SE"
    res = client.post(
        "/api/v1/parcels", json=parcel_body(carrier.name, unused), headers=auth(bo_key)
    )
    assert res.status_code == 422 and res.json["error"]["code"] == "reserved_tracking_number"
    assert db.session.scalar(select(Parcel.id).where(Parcel.tracking_number.like("LR%"))) is None


def test_another_merchants_parcel_number_blocks_no_one(client, shops):
    carrier, (_, alva_key), (_, bo_key), _ = shops
    # Bo's shop takes the number first: Alva's shop, whose number it is, still gets it.
    first = client.post(
        "/api/v1/parcels", json=parcel_body(carrier.name, SHARED), headers=auth(bo_key)
    )
    assert first.status_code == 201, first.json
    own = client.post(
        "/api/v1/parcels",
        json=parcel_body(carrier.name, SHARED, name="Alva Lindqvist"),
        headers=auth(alva_key),
    )
    assert own.status_code == 201, own.json
    # Within one merchant a number is still taken once.
    again = client.post(
        "/api/v1/parcels", json=parcel_body(carrier.name, SHARED), headers=auth(alva_key)
    )
    assert again.status_code == 409
    assert again.json["error"]["code"] == "duplicate_tracking_number"


def test_each_merchant_reads_only_its_own_parcel_under_a_shared_number(client, shops):
    _, (_, alva_key), (_, bo_key), carrier_key = shops
    alva, _bo = shared_number(shops)
    mine = client.get(f"/api/v1/parcels/{SHARED}", headers=auth(alva_key))
    assert mine.status_code == 200 and mine.json["recipient"]["name"] == "Alva Lindqvist"
    theirs = client.get(f"/api/v1/parcels/{SHARED}", headers=auth(bo_key))
    assert theirs.status_code == 200 and theirs.json["recipient"]["name"] == "Bo Berg"
    # The carrier moves both: it is told the number is ambiguous, not shown one of them.
    both = client.get(f"/api/v1/parcels/{SHARED}", headers=auth(carrier_key))
    assert both.status_code == 409
    assert both.json["error"]["code"] == "ambiguous_tracking_number"
    # Another merchant's number answers exactly like a missing one.
    other = factories.make_parcel(merchant=alva.merchant, carrier=alva.carrier)
    missing = client.get(f"/api/v1/parcels/{other.tracking_number}", headers=auth(bo_key))
    unknown = client.get("/api/v1/parcels/RA123456785GB", headers=auth(bo_key))
    assert missing.status_code == unknown.status_code == 404
    assert missing.json == unknown.json


def test_a_return_through_the_api_is_for_the_callers_own_parcel(client, shops):
    carrier, (alva_shop, _), (bo_shop, bo_key), _ = shops
    # Two carriers: one carrier's events on a number it carries twice would be refused.
    other = factories.make_carrier("Nordic Post")
    for shop, by, name in ((alva_shop, other, "Alva Lindqvist"), (bo_shop, carrier, "Bo Berg")):
        factories.make_parcel(
            merchant=shop,
            carrier=by,
            tracking_number=SHARED,
            name=name,
            statuses=factories.DELIVERED,
        )
    res = client.post(
        "/api/v1/returns",
        json={
            "tracking_number": SHARED,
            "method": "dropoff",
            "items": [{"sku": "TENT-2P", "quantity": 1, "reason": "damaged"}],
        },
        headers=auth(bo_key),
    )
    assert res.status_code == 201, res.json
    ret = db.session.scalar(select(Return))
    assert ret.merchant_id == bo_shop.id and ret.parcel.recipient_name == "Bo Berg"


# --- carrier events -------------------------------------------------------------------------------


def test_an_event_on_a_number_two_parcels_of_the_carrier_share_is_refused(client, shops):
    *_, carrier_key = shops
    alva, bo = shared_number(shops)
    res = client.post(
        "/api/v1/events", json={"events": [event(SHARED, "e-1")]}, headers=auth(carrier_key)
    )
    assert res.status_code == 200
    assert res.json["rejected"] == 1 and res.json["accepted"] == 0
    error = res.json["results"][0]["error"]
    assert error["code"] == "ambiguous_tracking_number" and error["field"] == "tracking_number"
    assert "more than one parcel" in error["message"]
    for parcel in (alva, bo):
        assert db.session.get(Parcel, parcel.id).status is ParcelStatus.PENDING


def test_an_event_reaches_the_one_parcel_of_this_carrier_under_a_shared_number(client, shops):
    carrier, (alva_shop, _), (bo_shop, _), carrier_key = shops
    other = factories.make_carrier("Nordic Post")
    alva = factories.make_parcel(merchant=alva_shop, carrier=carrier, tracking_number=SHARED)
    bo = factories.make_parcel(merchant=bo_shop, carrier=other, tracking_number=SHARED)
    res = client.post(
        "/api/v1/events", json={"events": [event(SHARED, "e-1")]}, headers=auth(carrier_key)
    )
    assert res.json["accepted"] == 1, res.json
    assert db.session.get(Parcel, alva.id).status is ParcelStatus.IN_TRANSIT
    assert db.session.get(Parcel, bo.id).status is ParcelStatus.PENDING


def test_a_squatter_parcel_never_catches_a_returns_scans(client, shops):
    carrier, (alva_shop, _), (bo_shop, bo_key), carrier_key = shops
    alva = factories.make_parcel(merchant=alva_shop, carrier=carrier, statuses=factories.DELIVERED)
    ret = returned(alva)
    # A parcel under the return's number from before the rule (the API refuses it now).
    squatter = factories.make_squatter(ret.return_tracking_number, bo_shop, carrier)

    res = client.post(
        "/api/v1/events",
        json={"events": [event(ret.return_tracking_number, "r-1", "picked_up")]},
        headers=auth(carrier_key),
    )
    assert res.json["accepted"] == 1, res.json
    assert db.session.get(Return, ret.id).status is ReturnStatus.IN_TRANSIT
    assert db.session.get(Parcel, squatter.id).status is ParcelStatus.PENDING
    scans = client.get(f"/api/v1/parcels/{ret.return_tracking_number}", headers=auth(bo_key)).json
    assert scans["events"] == []


# --- the public pages -----------------------------------------------------------------------------


def verify(client, number: str, postcode: str, url: str | None = None):
    url = url or f"/t/{number}/verify"
    return client.post(url, data={"csrf_token": csrf_for(client), "postcode": postcode})


def test_a_shared_number_shows_no_one_anything_until_a_postcode_picks_the_parcel(client, shops):
    shared_number(shops)
    page = client.get(f"/t/{SHARED}")
    assert page.status_code == 303 and page.location == f"/t/{SHARED}/verify"
    html = client.get(page.location).get_data(as_text=True)
    assert "More than one parcel has the tracking number" in html
    for secret in ("Alva", "Bo Berg", "Stockholm", "Göteborg", "Norrland Outdoor", "Göta Gear"):
        assert secret not in html, secret
    for url in (f"/t/{SHARED}/delivery", f"/t/{SHARED}/return", f"/t/{SHARED}/complaint"):
        res = client.get(url)
        assert res.status_code == 303 and res.location.startswith(f"/t/{SHARED}/verify?next="), url

    wrong = verify(client, SHARED, "999 99")
    assert wrong.status_code == 422
    res = verify(client, SHARED, "41101")
    assert res.status_code == 303 and res.location == f"/t/{SHARED}"
    mine = client.get(f"/t/{SHARED}").get_data(as_text=True)
    assert "Bo Berg" in mine and "Alva" not in mine
    # Every page under the number now acts on Bo's parcel.
    for url in (f"/t/{SHARED}/delivery", f"/t/{SHARED}/complaint"):
        html = client.get(url).get_data(as_text=True)
        assert "Göta Gear" in html and "Norrland Outdoor" not in html, url


def test_the_track_form_with_a_postcode_opens_the_parcel_it_belongs_to(client, shops):
    shared_number(shops)
    res = client.get("/track", query_string={"tn": SHARED})
    assert res.status_code == 303 and res.location == f"/t/{SHARED}/verify"
    res = client.get("/track", query_string={"tn": SHARED, "postcode": "113 48"})
    assert res.location == f"/t/{SHARED}"
    html = client.get(res.location).get_data(as_text=True)
    assert "Alva Lindqvist" in html and "Bo Berg" not in html
    # A second postcode switches to the other parcel of the number.
    client.get("/track", query_string={"tn": SHARED, "postcode": "411 01"})
    html = client.get(f"/t/{SHARED}").get_data(as_text=True)
    assert "Bo Berg" in html and "Alva Lindqvist" not in html


def test_a_signed_link_opens_its_own_parcel_under_a_shared_number(app, shops):
    alva, _bo = shared_number(shops)
    browser = app.test_client()
    assert verify(browser, SHARED, "41101").status_code == 303  # Bo's first
    res = browser.get("/l/" + factories.make_link(alva))
    assert res.status_code == 303 and res.location == f"/t/{SHARED}"
    html = browser.get(f"/t/{SHARED}").get_data(as_text=True)
    assert "Alva Lindqvist" in html and "Bo Berg" not in html


# --- the console ----------------------------------------------------------------------------------


def test_an_agent_chooses_among_the_parcels_a_number_opens(client, shops):
    _alva, bo = shared_number(shops)
    staff.login(client, factories.make_agent())
    page = client.get(f"/admin/parcels/{SHARED}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "More than one parcel has this tracking number" in html
    for shown in ("Norrland Outdoor", "Göta Gear", "Baltic Express", "113 48", "411 01"):
        assert shown in html, shown
    assert f'href="/admin/parcels/{SHARED}?id={bo.id}"' in html

    console = client.get(f"/admin/parcels/{SHARED}?id={bo.id}").get_data(as_text=True)
    assert "Bo Berg" in console and "Alva Lindqvist" not in console
    # Its forms keep the choice, so an action lands on Bo's parcel.
    assert f'action="/admin/parcels/{SHARED}/notes?id={bo.id}"' in console
    # The form's token from the page the test already has in hand.
    res = client.post(
        f"/admin/parcels/{SHARED}/notes?id={bo.id}",
        data={"csrf_token": csrf_token(console), "body": "Called Bo."},
    )
    assert res.status_code == 303 and res.location.endswith(f"?id={bo.id}#notes")
    note = db.session.scalar(select(ParcelNote))
    assert note.parcel_id == bo.id
    # Without a choice nothing is done to either.
    res = staff.post(client, f"/admin/parcels/{SHARED}/notes", {"body": "Which one?"})
    assert res.status_code == 409
    assert len(db.session.scalars(select(ParcelNote)).all()) == 1
    # The search box lists both.
    found = client.get("/admin/", query_string={"q": SHARED}).get_data(as_text=True)
    assert "Alva Lindqvist" in found and "Bo Berg" in found
