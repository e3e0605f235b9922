"""How many SQL statements each hot request sends (issue 17): round trips, not time.

A regression that adds a query to `/healthz`, the parcel page (unverified, verified, its
htmx poll) or `GET /api/v1/parcels/<tn>` fails here. The numbers are the app's own statements
(tests/support/queries.py): the same on SQLite and PostgreSQL, and the same in production,
where each transaction adds its BEGIN and ROLLBACK (counted here as `transactions`).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from portal.extensions import db
from tests.conftest import ApiClient
from tests.support import factories
from tests.support.pages import parcel_item, post_return
from tests.support.queries import count_queries, count_round_trips

NOW = factories.DELIVERY_NOW


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def parcel(db, frozen):
    """A parcel with everything the page and the API show: carrier events, messages sent, a
    pickup point chosen on the way, then delivered, part of it sent back and a complaint."""
    merchant = factories.make_merchant()
    parcel = factories.parcel_going_to_a_pickup_point(merchant=merchant)
    frozen.shift(timedelta(hours=1))
    factories.add_events(
        parcel,
        ("ofd", "out_for_delivery", NOW + timedelta(minutes=10)),
        ("dlv", "delivered", NOW + timedelta(minutes=40)),
    )
    return parcel


def _return_and_complaint(client, parcel):
    res = post_return(client, parcel, {parcel_item(parcel, "SHIRT-M"): (1, "too_small")})
    assert res.status_code == 303, res.get_data(as_text=True)
    factories.make_complaint(parcel)


@pytest.fixture
def opened(client, parcel):
    factories.open_as_recipient(client, parcel)
    _return_and_complaint(client, parcel)
    return client


def counted(client, url: str, **kwargs):
    db.session.rollback()  # the test's own reads done: only the request's are counted
    # Once first, as a worker has answered before: the predicted delivery's estimates and
    # the zone's closed days are read once per worker every few minutes, not per request.
    client.get(url, **kwargs)
    db.session.rollback()
    with count_queries(db.engine) as queries:
        res = client.get(url, **kwargs)
    assert res.status_code == 200, res.status_code
    return res, queries


@pytest.fixture
def stranger(app):
    """Another browser: the parcel's number, no postcode."""
    return app.test_client()


def test_healthz_sends_one_statement(stranger):
    _, queries = counted(stranger, "/healthz")
    assert (queries.statements, queries.transactions) == (1, 1), queries


def test_unverified_page_reads_the_parcel_and_its_events(stranger, parcel):
    res, queries = counted(stranger, f"/t/{parcel.tracking_number}")
    assert "Surbrunnsgatan" not in res.get_data(as_text=True)  # nothing private read or shown
    # The parcel (with merchant, zone, opt-out joined), its events.
    assert (queries.statements, queries.transactions) == (2, 1), queries


def test_verified_page(opened, parcel):
    res, queries = counted(opened, f"/t/{parcel.tracking_number}")
    page = res.get_data(as_text=True)
    assert "Surbrunnsgatan" in page and "Near Shop" in page and "Linen shirt" in page
    # The parcel, events, items, choices (with slot, point and its zone), returns, cases.
    assert (queries.statements, queries.transactions) == (6, 1), queries


def test_verified_page_of_a_parcel_with_no_choice_return_or_case(client, db):
    bare = factories.make_parcel()
    factories.add_events(bare, ("ifo", "in_transit", NOW - timedelta(hours=2)))
    factories.open_as_recipient(client, bare)
    res, queries = counted(client, f"/t/{bare.tracking_number}")
    assert bare.address_line in res.get_data(as_text=True)
    # The parcel (saying there is none of them to read), its events, its items.
    assert (queries.statements, queries.transactions) == (3, 1), queries


def test_the_poll_reads_only_what_the_live_block_shows(opened, parcel):
    res, queries = counted(
        opened,
        f"/t/{parcel.tracking_number}",
        headers={"HX-Request": "true", "HX-Target": "live"},
    )
    html = res.get_data(as_text=True)
    assert 'id="live"' in html and "Near Shop" in html  # the choice stays in the timeline
    # The parcel, events, choices: no items, returns or cases (not in the live block).
    assert (queries.statements, queries.transactions) == (3, 1), queries


def test_api_get_parcel(app, opened, parcel):
    api = ApiClient(app.test_client(), factories.make_api_key(merchant=parcel.merchant))
    res, queries = counted(api, f"/api/v1/parcels/{parcel.tracking_number}")
    body = res.json
    assert body["events"] and body["notifications"] and body["returns"] and body["complaints"]
    assert body["choice"]["pickup_point"]["name"] == "Near Shop"
    assert body["returns"][0]["items"] and body["carrier"]
    # The key; the parcel (merchant, carrier, zone, items joined); choices (slot, point
    # joined); events; messages; returns (their items joined); cases.
    assert (queries.statements, queries.transactions) == (7, 1), queries


def test_api_get_parcel_with_no_choice_return_or_case(app, db):
    bare = factories.make_parcel()
    api = ApiClient(app.test_client(), factories.make_api_key(merchant=bare.merchant))
    res, queries = counted(api, f"/api/v1/parcels/{bare.tracking_number}")
    body = res.json
    assert body["tracking_number"] == bare.tracking_number and body["items"]
    assert body["notifications"]  # the announcement, sent when the parcel was created
    assert body["choice"] is None
    assert body["choices"] == body["returns"] == body["complaints"] == []
    # The key; the parcel (saying there is nothing else to read); its events; its messages.
    assert (queries.statements, queries.transactions) == (4, 1), queries


def test_an_unchanged_poll_reads_one_statement(opened, parcel):
    url = f"/t/{parcel.tracking_number}"
    poll = {"HX-Request": "true", "HX-Target": "live"}
    etag = opened.get(url, headers=poll).headers["ETag"]
    db.session.rollback()
    with count_queries(db.engine) as queries:
        res = opened.get(url, headers={**poll, "If-None-Match": f"W/{etag}"})
    assert res.status_code == 304, res.status_code
    # The parcel with its events, choices and returns summed up (the validator): nothing else.
    assert (queries.statements, queries.transactions) == (1, 1), queries


@pytest.mark.committed  # real connections from the pool, as in production
def test_on_postgresql_the_hot_reads_send_their_statements_and_nothing_else(
    app, database_url, stranger, parcel
):
    """No ping at checkout (connections.py), no BEGIN and no ROLLBACK (transactions.read_only):
    over the wire, one round trip per statement counted above."""
    if not database_url.startswith("postgresql"):
        pytest.skip("psycopg's wire trace: PostgreSQL only")
    key = factories.make_api_key(merchant=parcel.merchant)
    db.session.commit()
    recipient = factories.open_as_recipient(app.test_client(), parcel)
    api = ApiClient(app.test_client(), key)
    url = f"/t/{parcel.tracking_number}"
    for client, path, headers, expected in [
        (stranger, "/healthz", {}, 1),
        (stranger, url, {}, 2),
        (recipient, url, {}, 4),  # no return or case to read
        (recipient, url, {"HX-Request": "true", "HX-Target": "live"}, 3),
        (api, f"/api/v1/parcels/{parcel.tracking_number}", {}, 5),  # nor here
    ]:
        client.get(path, headers=headers)  # the pool holds a connection: as on a warm worker
        db.session.close()
        with count_round_trips(db.engine) as wire:
            assert client.get(path, headers=headers).status_code == 200
        assert wire.count == expected, f"{path} {headers}: {wire}"
        assert wire.transaction_control == [], wire
