"""Two merchants' parcels under one tracking number, after the security review: a carrier names
the merchant to move the right one (so a second merchant can't stop the first one's tracking),
the portal's own number series can't be squatted, and a visitor whose postcode fits several
parcels of a number chooses which to see rather than being shown the newest."""

from __future__ import annotations

import re
from datetime import date
from html import unescape

import pytest
import time_machine
from sqlalchemy import select

from portal import s10
from portal.extensions import db
from portal.models import (
    Complaint,
    DeliveryChoice,
    Parcel,
    ParcelStatus,
    Return,
    ReturnStatus,
    Slot,
)
from portal.models.types import utcnow
from portal.services.returns import LineRequest, ReturnRequest, open_return
from tests.support import factories
from tests.support.api import auth, csrf_token, parcel_body
from tests.support.pages import csrf_for

SHARED = f"RR55500002{s10.check_digit('55500002')}SE"


def event(number: str, event_id: str, code: str = "in_transit", **extra) -> dict:
    return {
        "event_id": event_id,
        "tracking_number": number,
        "code": code,
        "occurred_at": utcnow().isoformat(),
        **extra,
    }


@pytest.fixture
def shops(db):
    """Two merchants shipping with one carrier, each with an API key; and the carrier's key."""
    factories.make_zone("Stockholm", prefixes=("113", "411"))
    carrier = factories.make_carrier("Baltic Express")
    alva_shop = factories.make_merchant("Norrland Outdoor")
    bo_shop = factories.make_merchant("Göta Gear")
    return (
        carrier,
        (alva_shop, factories.make_api_key(merchant=alva_shop)),
        (bo_shop, factories.make_api_key(merchant=bo_shop)),
        factories.make_api_key(carrier=carrier),
    )


def post_events(client, carrier_key: str, *events: dict):
    res = client.post("/api/v1/events", json={"events": list(events)}, headers=auth(carrier_key))
    assert res.status_code == 200, res.json
    return res.json


def status_of(parcel: Parcel) -> ParcelStatus:
    return db.session.get(Parcel, parcel.id).status


# --- carrier events name the merchant -------------------------------------------------------------


def test_a_squatted_number_still_moves_the_parcel_the_carrier_names_the_merchant_of(client, shops):
    carrier, (alva_shop, _), (_, bo_key), carrier_key = shops
    alva = factories.make_parcel(merchant=alva_shop, carrier=carrier, tracking_number=SHARED)
    # Bo's shop creates a parcel under Alva's shop's number with the same carrier.
    squat = client.post(
        "/api/v1/parcels", json=parcel_body(carrier.name, SHARED), headers=auth(bo_key)
    )
    assert squat.status_code == 201, squat.json
    bo = db.session.scalar(select(Parcel).where(Parcel.merchant_id != alva_shop.id))

    # Without a merchant the event is still refused, and the carrier is told what to send.
    out = post_events(client, carrier_key, event(SHARED, "e-1"))
    error = out["results"][0]["error"]
    assert error["code"] == "ambiguous_tracking_number" and error["field"] == "tracking_number"
    assert "`merchant`" in error["message"]
    assert status_of(alva) is ParcelStatus.PENDING

    out = post_events(client, carrier_key, event(SHARED, "e-2", merchant="Norrland Outdoor"))
    assert out["accepted"] == 1, out
    assert status_of(alva) is ParcelStatus.IN_TRANSIT
    assert status_of(bo) is ParcelStatus.PENDING
    out = post_events(client, carrier_key, event(SHARED, "e-3", "delivered", merchant="Göta Gear"))
    assert out["accepted"] == 1, out
    assert status_of(bo) is ParcelStatus.DELIVERED
    assert status_of(alva) is ParcelStatus.IN_TRANSIT


def test_a_carrier_reads_a_shared_number_by_naming_the_merchant(client, shops):
    carrier, (alva_shop, _), (bo_shop, _), carrier_key = shops
    factories.make_parcel(merchant=alva_shop, carrier=carrier, tracking_number=SHARED)
    factories.make_parcel(merchant=bo_shop, carrier=carrier, tracking_number=SHARED)
    url = f"/api/v1/parcels/{SHARED}"

    res = client.get(url, headers=auth(carrier_key))
    assert res.status_code == 409 and res.json["error"]["code"] == "ambiguous_tracking_number"
    res = client.get(url, query_string={"merchant": " Göta Gear "}, headers=auth(carrier_key))
    assert res.status_code == 200, res.json
    assert res.json["merchant"] == "Göta Gear"
    res = client.get(url, query_string={"merchant": "No Such Shop"}, headers=auth(carrier_key))
    assert res.status_code == 404 and res.json["error"]["field"] == "merchant"


def test_an_event_for_a_merchant_with_no_parcel_under_the_number_changes_nothing(client, shops):
    carrier, (alva_shop, _), _, carrier_key = shops
    alva = factories.make_parcel(merchant=alva_shop, carrier=carrier)
    out = post_events(
        client,
        carrier_key,
        event(alva.tracking_number, "e-1", merchant="Göta Gear"),
        event(alva.tracking_number, "e-2", merchant="No Such Shop"),
        event("RA123456785GB", "e-3", merchant="Norrland Outdoor"),
    )
    assert out["rejected"] == 3, out
    first, second, third = (r["error"] for r in out["results"])
    assert first["code"] == second["code"] == "unknown_parcel"
    assert first["field"] == second["field"] == "merchant"
    # No parcel of the carrier has the number at all: the number is what's wrong.
    assert third["code"] == "unknown_parcel" and third["field"] == "tracking_number"
    assert status_of(alva) is ParcelStatus.PENDING
    # Naming the right merchant on a number only it uses is fine.
    out = post_events(
        client, carrier_key, event(alva.tracking_number, "e-4", merchant=" Norrland Outdoor ")
    )
    assert out["accepted"] == 1, out
    assert status_of(alva) is ParcelStatus.IN_TRANSIT


@pytest.mark.parametrize(
    "merchant, code",
    [
        (5, "string_type"),
        (["Norrland Outdoor"], "string_type"),
        ("", "string_too_short"),
        ("   ", "string_too_short"),
        ("x" * 121, "string_too_long"),
        ("Norrland\x00Outdoor", "value_error"),
    ],
)
def test_a_malformed_merchant_is_refused_naming_the_field(client, shops, merchant, code):
    carrier, (alva_shop, _), _, carrier_key = shops
    alva = factories.make_parcel(merchant=alva_shop, carrier=carrier)
    out = post_events(client, carrier_key, event(alva.tracking_number, "e-1", merchant=merchant))
    assert out["rejected"] == 1, out
    error = out["results"][0]["error"]
    assert error["field"] == "merchant" and error["code"] == code, error
    assert status_of(alva) is ParcelStatus.PENDING


def test_naming_a_squatters_merchant_never_moves_it_with_a_returns_scans(client, shops):
    carrier, (alva_shop, _), (bo_shop, _), carrier_key = shops
    alva = factories.make_parcel(merchant=alva_shop, carrier=carrier, statuses=factories.DELIVERED)
    ret = open_return(
        alva, ReturnRequest([LineRequest(sku="TENT-2P", quantity=1, reason="damaged")], "dropoff")
    )
    db.session.commit()
    # A parcel under the return's number from before the rule (the API refuses it now).
    squatter = factories.make_squatter(ret.return_tracking_number, bo_shop, carrier)
    number = ret.return_tracking_number

    out = post_events(client, carrier_key, event(number, "r-1", "picked_up", merchant="Göta Gear"))
    assert out["results"][0]["error"]["field"] == "merchant", out
    assert status_of(squatter) is ParcelStatus.PENDING
    assert db.session.get(Return, ret.id).status is ReturnStatus.APPROVED
    out = post_events(
        client, carrier_key, event(number, "r-2", "picked_up", merchant="Norrland Outdoor")
    )
    assert out["accepted"] == 1, out
    assert db.session.get(Return, ret.id).status is ReturnStatus.IN_TRANSIT


def test_the_openapi_document_tells_carriers_about_merchant(client):
    doc = client.get("/api/v1/openapi.json").json
    schemas = doc["components"]["schemas"]
    event_in = next(s for name, s in schemas.items() if name.startswith("EventIn"))
    assert "merchant" in event_in["properties"]
    assert "ambiguous_tracking_number" in event_in["properties"]["merchant"]["description"]
    answer = doc["paths"]["/events"]["post"]["responses"]["200"]["description"]
    assert "`merchant`" in answer


# --- the portal's own number series ---------------------------------------------------------------


def test_no_merchant_can_take_a_number_of_the_series_the_portal_issues(app, client, shops):
    carrier, (_, alva_key), (_, bo_key), _ = shops
    prefix, country = app.config["S10_PREFIX"], app.config["S10_COUNTRY"]
    # Alva's shop sends no number and gets one of the portal's series.
    issued = client.post("/api/v1/parcels", json=parcel_body(carrier.name), headers=auth(alva_key))
    assert issued.status_code == 201, issued.json
    number = issued.json["tracking_number"]
    assert number.startswith(prefix) and number.endswith(country)

    # Neither that number nor one the portal has yet to issue can be taken by a merchant.
    serial = "87654321"
    unissued = f"{prefix}{serial}{s10.check_digit(serial)}{country}"
    for taken in (number, unissued):
        res = client.post(
            "/api/v1/parcels", json=parcel_body(carrier.name, taken), headers=auth(bo_key)
        )
        assert res.status_code == 422, res.json
        assert res.json["error"]["code"] == "reserved_tracking_number"
        assert res.json["error"]["field"] == "tracking_number"
    assert db.session.scalar(select(Parcel.id).where(Parcel.tracking_number == unissued)) is None
    # The same letters from another country's post are a merchant's to use.
    foreign = f"{prefix}{serial}{s10.check_digit(serial)}GB"
    res = client.post(
        "/api/v1/parcels", json=parcel_body(carrier.name, foreign), headers=auth(bo_key)
    )
    assert res.status_code == 201, res.json


def test_the_demo_seed_sends_no_number_of_the_portals_own_series(app, db):
    from portal.dev.demo import seed_demo

    made, _keys = seed_demo()
    db.session.commit()
    prefix, country = app.config["S10_PREFIX"], app.config["S10_COUNTRY"]
    assert made
    assert not [
        p.tracking_number
        for p in made
        if p.tracking_number.startswith(prefix) and p.tracking_number.endswith(country)
    ]


# --- a postcode that fits several parcels of a number ---------------------------------------------


def two_parcels(shops, **bo_recipient) -> tuple[Parcel, Parcel]:
    """Parcels from two shops under one number (two carriers, so either can be moved by its
    events): Alva's in transit to 113 48, then Bo's out for delivery, to the same postcode
    unless `bo_recipient` says otherwise."""
    carrier, (alva_shop, _), (bo_shop, _), _ = shops
    older = factories.make_parcel(
        merchant=alva_shop,
        carrier=carrier,
        tracking_number=SHARED,
        statuses=[ParcelStatus.PICKED_UP, ParcelStatus.IN_TRANSIT],
    )
    newer = factories.make_parcel(
        merchant=bo_shop,
        carrier=factories.make_carrier("Nordic Post"),
        tracking_number=SHARED,
        statuses=[ParcelStatus.PICKED_UP, ParcelStatus.OUT_FOR_DELIVERY],
        **bo_recipient,
    )
    return older, newer


def verify(client, url: str, postcode: str):
    return client.post(url, data={"csrf_token": csrf_for(client), "postcode": postcode})


def shown_merchant(client, url: str) -> str:
    html = client.get(url).get_data(as_text=True)
    return re.search(r'<p class="merchant">Your parcel from ([^<]+)</p>', html).group(1)


def test_a_postcode_that_fits_two_parcels_lets_the_visitor_choose(client, shops):
    alva, bo = two_parcels(shops)
    res = verify(client, f"/t/{SHARED}/verify", "113 48")
    assert res.status_code == 303
    assert res.location == f"/t/{SHARED}/choose?next=/t/{SHARED}"

    page = client.get(res.location)
    assert page.status_code == 200
    assert "no-store" in page.headers["Cache-Control"]
    html = page.get_data(as_text=True)
    assert "Which parcel do you want to see?" in html
    for merchant, status in (("Norrland Outdoor", "On its way"), ("Göta Gear", "Out for delivery")):
        assert merchant in html and status in html, (merchant, status)
    assert f'href="/t/{SHARED}?id={alva.id}"' in html
    assert f'href="/t/{SHARED}?id={bo.id}"' in html

    # The visitor passed the check for both: each opens, and stays the one shown.
    assert shown_merchant(client, f"/t/{SHARED}?id={alva.id}") == "Norrland Outdoor"
    assert shown_merchant(client, f"/t/{SHARED}") == "Norrland Outdoor"
    html = client.get(f"/t/{SHARED}/complaint").get_data(as_text=True)
    assert "Norrland Outdoor" in html and "Göta Gear" not in html
    assert shown_merchant(client, f"/t/{SHARED}?id={bo.id}") == "Göta Gear"
    html = client.get(f"/t/{SHARED}").get_data(as_text=True)
    # …with a way back to the choice.
    assert f'href="/t/{SHARED}/choose"' in html and "Choose another parcel" in html


def test_the_track_form_with_a_postcode_that_fits_two_parcels_offers_the_choice(client, shops):
    two_parcels(shops)
    res = client.get("/track", query_string={"tn": SHARED, "postcode": "11348"})
    assert res.status_code == 303 and res.location == f"/t/{SHARED}/choose"
    html = client.get(res.location).get_data(as_text=True)
    assert "Norrland Outdoor" in html and "Göta Gear" in html


def test_the_choice_leads_on_to_the_page_the_visitor_set_out_for(client, shops):
    _alva, bo = two_parcels(shops)
    res = client.get(f"/t/{SHARED}/complaint")
    assert res.status_code == 303
    res = verify(client, res.location, "113 48")
    assert res.location == f"/t/{SHARED}/choose?next=/t/{SHARED}/complaint"
    html = client.get(res.location).get_data(as_text=True)
    link = f"/t/{SHARED}/complaint?id={bo.id}"
    assert f'href="{link}"' in html
    page = client.get(link).get_data(as_text=True)
    assert "Göta Gear" in page and "Norrland Outdoor" not in page


def test_an_id_the_visitor_has_not_unlocked_opens_nothing(client, shops):
    alva, bo = two_parcels(shops, name="Bo Berg", postcode="411 01", city="Göteborg")
    # Nobody verified: an id opens neither parcel.
    for url in (f"/t/{SHARED}?id={bo.id}", f"/t/{SHARED}/delivery?id={bo.id}"):
        res = client.get(url)
        assert res.status_code == 303 and res.location.startswith(f"/t/{SHARED}/verify"), url
    assert verify(client, f"/t/{SHARED}/verify", "113 48").location == f"/t/{SHARED}"
    # Alva proved her postcode, not Bo's: Bo's id is ignored, and only hers is listed.
    html = client.get(f"/t/{SHARED}?id={bo.id}").get_data(as_text=True)
    assert "Alva Lindqvist" in html and "Bo Berg" not in html and "Göteborg" not in html
    assert "Choose another parcel" not in html
    res = client.get(f"/t/{SHARED}/choose")
    assert res.status_code == 303 and res.location == f"/t/{SHARED}"
    assert alva.id  # the one she unlocked
    # Malformed ids are ignored too, never a 500.
    for raw in ("x", "-1", "١", "9" * 30, ""):
        assert client.get(f"/t/{SHARED}", query_string={"id": raw}).status_code == 200, raw


def test_the_choice_page_without_an_unlocked_parcel_asks_for_the_postcode(client, shops):
    two_parcels(shops)
    res = client.get(f"/t/{SHARED}/choose")
    assert res.status_code == 303 and res.location == f"/t/{SHARED}/verify"
    assert client.get("/t/RR12345678X/choose").status_code == 404
    res = client.get(f"/t/{SHARED.lower()}/choose")
    assert res.status_code == 301 and res.location == f"/t/{SHARED}/choose"


def test_the_choice_page_speaks_swedish(client, shops):
    two_parcels(shops)
    client.get("/track", query_string={"tn": SHARED, "postcode": "113 48"})
    html = client.get(
        f"/t/{SHARED}/choose", headers={"Accept-Language": "sv-SE,sv;q=0.9"}
    ).get_data(as_text=True)
    assert '<html lang="sv">' in html
    assert "Vilket paket vill du se?" in html
    assert "Ditt paket från Norrland Outdoor" in html
    assert f"spårningsnumret {SHARED}" in html


# --- two tabs, two parcels of a number ------------------------------------------------------------
# A page about one parcel of a shared number keeps acting on that parcel, whatever another tab of
# the same session opened since: its poll, its forms and its links all name the parcel.


def href(html: str, text: str) -> str:
    """Where the link (or button-like link) reading `text` goes."""
    found = re.search(rf'<a [^>]*href="([^"]+)"[^>]*>{re.escape(text)}</a>', html)
    assert found, text
    return unescape(found.group(1))


def poll_url(html: str) -> str:
    return unescape(re.search(r'data-hx-get="([^"]+)"', html).group(1))


def polled_status(client, url: str) -> str:
    """The status heading an htmx poll of `url` brings."""
    res = client.get(url, headers={"HX-Request": "true", "HX-Target": "live"})
    assert res.status_code == 200
    return re.search(r'<h2 id="status-heading"[^>]*>([^<]+)</h2>', res.get_data(as_text=True))[1]


def form_action(html: str, path: str) -> str:
    """The action of the page's form that posts to `path` (with whatever query it carries)."""
    found = re.search(rf'<form [^>]*action="({re.escape(path)}(?:\?[^"]*)?)"', html)
    assert found, path
    return unescape(found.group(1))


def two_tabs(client, shops) -> tuple[Parcel, Parcel, str]:
    """Both parcels unlocked with one postcode; Alva's opened in tab 1, then Bo's in tab 2.
    Returns the parcels and tab 1's page."""
    alva, bo = two_parcels(shops)
    client.get("/track", query_string={"tn": SHARED, "postcode": "113 48"})
    tab_1 = client.get(f"/t/{SHARED}?id={alva.id}").get_data(as_text=True)
    assert shown_merchant(client, f"/t/{SHARED}?id={bo.id}") == "Göta Gear"  # tab 2
    return alva, bo, tab_1


def test_a_tab_polls_the_parcel_it_shows_after_another_tab_opened_the_other(client, shops):
    alva, _bo, tab_1 = two_tabs(client, shops)
    assert polled_status(client, poll_url(tab_1)) == "On its way"  # Bo's is out for delivery
    # The fragment's own poll goes on naming the same parcel.
    live = client.get(poll_url(tab_1), headers={"HX-Request": "true", "HX-Target": "live"})
    assert poll_url(live.get_data(as_text=True)) == poll_url(tab_1) == f"/t/{SHARED}?id={alva.id}"


def test_a_tabs_updates_form_changes_its_own_parcel(client, shops):
    alva, bo, tab_1 = two_tabs(client, shops)
    action = form_action(tab_1, f"/t/{SHARED}/updates")
    res = client.post(action, data={"csrf_token": csrf_token(tab_1), "email": "y"})
    assert res.status_code == 303
    assert not db.session.get(Parcel, alva.id).notify_sms
    assert db.session.get(Parcel, bo.id).notify_sms and db.session.get(Parcel, bo.id).notify_email
    # Back on the page it was sent from, not the other parcel's.
    assert res.location.endswith("#updates")
    assert shown_merchant(client, res.location.removesuffix("#updates")) == "Norrland Outdoor"


def test_a_tabs_links_open_its_own_parcels_pages(client, shops):
    _alva, _bo, tab_1 = two_tabs(client, shops)
    for text in ("Change delivery", "Report a problem"):
        page = client.get(href(tab_1, text))
        assert page.status_code == 200, text
        html = page.get_data(as_text=True)
        assert "Norrland Outdoor" in html and "Göta Gear" not in html, text
        # …and their way back leads to it too.
        assert shown_merchant(client, href(html, "Back to your parcel")) == "Norrland Outdoor"


def test_switching_language_in_a_tab_keeps_its_parcel(client, shops):
    _alva, _bo, tab_1 = two_tabs(client, shops)
    res = client.get(href(tab_1, "Svenska"))
    assert res.status_code == 303
    html = client.get(res.location).get_data(as_text=True)
    assert 'lang="sv"' in html
    assert "Norrland Outdoor" in html and "Göta Gear" not in html


def test_a_tabs_complaint_is_filed_for_its_own_parcel(client, shops):
    alva, bo, tab_1 = two_tabs(client, shops)
    form = client.get(href(tab_1, "Report a problem")).get_data(as_text=True)
    assert shown_merchant(client, f"/t/{SHARED}?id={bo.id}") == "Göta Gear"  # tab 2 again
    res = client.post(
        form_action(form, f"/t/{SHARED}/complaint"),
        data={"csrf_token": csrf_token(form), "type": "other", "description": "Wrong colour."},
    )
    assert res.status_code == 303, res.get_data(as_text=True)
    assert [c.parcel_id for c in db.session.scalars(select(Complaint))] == [alva.id]


def test_a_tab_opened_before_the_other_parcel_was_unlocked_keeps_its_parcel(client, shops):
    # Bo's parcel goes to a neighbour's postcode: tab 1 is opened when only Alva's is unlocked.
    two_parcels(shops, postcode="113 50")
    client.get("/track", query_string={"tn": SHARED, "postcode": "113 48"})
    tab_1 = client.get(f"/t/{SHARED}").get_data(as_text=True)
    client.get("/track", query_string={"tn": SHARED, "postcode": "113 50"})
    assert shown_merchant(client, f"/t/{SHARED}") == "Göta Gear"  # tab 2, unlocked last
    assert polled_status(client, poll_url(tab_1)) == "On its way"
    html = client.get(href(tab_1, "Change delivery")).get_data(as_text=True)
    assert "Norrland Outdoor" in html and "Göta Gear" not in html


def test_a_post_naming_a_parcel_the_session_has_not_unlocked_changes_nothing(client, shops):
    alva, bo = two_parcels(shops, postcode="411 01", city="Göteborg")
    client.get("/track", query_string={"tn": SHARED, "postcode": "113 48"})
    page = client.get(f"/t/{SHARED}").get_data(as_text=True)
    res = client.post(
        f"/t/{SHARED}/updates?id={bo.id}", data={"csrf_token": csrf_token(page), "email": "y"}
    )
    # Neither Bo's parcel (not unlocked here) nor Alva's (not the one the form named).
    assert res.status_code == 303 and res.location.startswith(f"/t/{SHARED}/verify")
    assert db.session.get(Parcel, alva.id).notify_sms
    assert db.session.get(Parcel, bo.id).notify_sms
    # A page asked for by such an id still shows the visitor's own parcel, as before.
    assert shown_merchant(client, f"/t/{SHARED}?id={bo.id}") == "Norrland Outdoor"


def test_a_number_only_one_parcel_has_keeps_plain_urls(client, shops):
    carrier, (alva_shop, _), _, _ = shops
    alva = factories.make_parcel(
        merchant=alva_shop, carrier=carrier, statuses=[ParcelStatus.IN_TRANSIT]
    )
    number = alva.tracking_number
    client.get("/track", query_string={"tn": number, "postcode": "113 48"})
    html = client.get(f"/t/{number}").get_data(as_text=True)
    assert poll_url(html) == f"/t/{number}"
    assert href(html, "Change delivery") == f"/t/{number}/delivery"
    assert form_action(html, f"/t/{number}/updates") == f"/t/{number}/updates"


def test_a_tabs_delivery_choice_is_made_for_its_own_parcel(client, db):
    with time_machine.travel(factories.DELIVERY_NOW, tick=False):
        factories.make_delivery_zone()
        alva, bo = (
            factories.make_parcel(merchant=factories.make_merchant(), tracking_number=SHARED)
            for _ in range(2)
        )
        client.get("/track", query_string={"tn": SHARED, "postcode": "113 48"})
        tab_1 = client.get(f"/t/{SHARED}?id={alva.id}").get_data(as_text=True)
        page = client.get(href(tab_1, "Change delivery")).get_data(as_text=True)
        client.get(f"/t/{SHARED}/delivery?id={bo.id}")  # tab 2
        slot = db.session.scalars(
            select(Slot).where(Slot.day == date(2026, 11, 27)).order_by(Slot.starts_at)
        ).first()
        res = client.post(
            form_action(page, f"/t/{SHARED}/delivery"),
            data={"csrf_token": csrf_token(page), "choice": "slot", "slot": str(slot.id)},
        )
    assert res.status_code == 303 and res.location == f"/t/{SHARED}/delivery?id={alva.id}"
    assert [c.parcel_id for c in db.session.scalars(select(DeliveryChoice))] == [alva.id]


def test_a_tabs_return_is_opened_for_its_own_parcel(client, shops):
    carrier, (alva_shop, _), (bo_shop, _), _ = shops
    alva, bo = (
        factories.make_parcel(
            merchant=shop, carrier=carrier, tracking_number=SHARED, statuses=factories.DELIVERED
        )
        for shop in (alva_shop, bo_shop)
    )
    client.get("/track", query_string={"tn": SHARED, "postcode": "113 48"})
    tab_1 = client.get(f"/t/{SHARED}?id={alva.id}").get_data(as_text=True)
    start = href(tab_1, "Return items")
    form = client.get(start).get_data(as_text=True)
    assert "Norrland Outdoor" in form and "Göta Gear" not in form
    assert shown_merchant(client, f"/t/{SHARED}?id={bo.id}") == "Göta Gear"  # tab 2
    # The return form posts to the page it is on.
    item = alva.items[0]
    res = client.post(
        start,
        data={
            "csrf_token": csrf_token(form),
            "method": "dropoff",
            f"qty_{item.id}": "1",
            f"reason_{item.id}": "damaged",
        },
    )
    assert res.status_code == 303, res.get_data(as_text=True)
    assert [r.parcel_id for r in db.session.scalars(select(Return))] == [alva.id]
