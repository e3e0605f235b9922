"""A return's and a case's pages ask for the postcode on their own URL (issue 15, hole 7): the
RMA or case number, which the customer may share, never leads anyone to the parcel's tracking
number."""

from __future__ import annotations

import pytest

from portal.extensions import db
from portal.models import ReturnStatus
from portal.services.returns import LineRequest, ReturnRequest, open_return
from tests.support import factories
from tests.support.pages import csrf_for


@pytest.fixture
def parcel(db):
    factories.make_zone("Stockholm", prefixes=("113",))
    return factories.make_parcel(name="Alva Lindqvist", statuses=factories.DELIVERED)


@pytest.fixture
def ret(parcel):
    ret = open_return(
        parcel, ReturnRequest([LineRequest(sku="TENT-2P", quantity=1, reason="damaged")], "dropoff")
    )
    db.session.commit()
    assert ret.status is ReturnStatus.APPROVED
    return ret


@pytest.fixture
def case(parcel):
    return factories.make_complaint(parcel, type="late")


def post_postcode(client, url: str, postcode: str):
    return client.post(url, data={"csrf_token": csrf_for(client), "postcode": postcode})


def test_a_return_asks_for_the_postcode_without_naming_the_tracking_number(client, parcel, ret):
    tn = parcel.tracking_number
    for url in (f"/r/{ret.rma}", f"/r/{ret.rma}/label"):
        res = client.get(url)
        assert res.status_code == 303, url
        assert res.location == f"/r/{ret.rma}/verify?next={url}", url
        assert tn not in res.location
    page = client.get(f"/r/{ret.rma}/verify?next=/r/{ret.rma}/label")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'name="postcode"' in html
    assert ret.rma in html
    assert tn not in html and "Alva" not in html

    res = post_postcode(client, f"/r/{ret.rma}/verify?next=/r/{ret.rma}/label", "113 48")
    assert res.status_code == 303 and res.location == f"/r/{ret.rma}/label"
    assert client.get(f"/r/{ret.rma}").status_code == 200
    assert client.get(f"/r/{ret.rma}/label").status_code == 200
    # The postcode opened the parcel for this browser too.
    assert "Alva Lindqvist" in client.get(f"/t/{tn}").get_data(as_text=True)


def test_a_case_asks_for_the_postcode_without_naming_the_tracking_number(client, parcel, case):
    tn, number = parcel.tracking_number, case.case_number
    res = client.get(f"/c/{number}")
    assert res.status_code == 303 and res.location == f"/c/{number}/verify?next=/c/{number}"
    # A reply posted by someone who hasn't verified goes the same way, and changes nothing.
    before = len(case.messages)
    res = client.post(f"/c/{number}", data={"body": "Any news?"})
    assert res.status_code == 303 and res.location.startswith(f"/c/{number}/verify")
    assert tn not in res.location
    html = client.get(f"/c/{number}/verify").get_data(as_text=True)
    assert number in html and tn not in html and "Alva" not in html

    res = post_postcode(client, f"/c/{number}/verify?next=/c/{number}", "11348")
    assert res.status_code == 303 and res.location == f"/c/{number}"
    assert client.get(f"/c/{number}").status_code == 200
    db.session.expire_all()
    assert len(db.session.get(type(case), case.id).messages) == before


def test_wrong_postcodes_on_a_return_count_against_the_parcel(app, client, parcel, ret, case):
    url = f"/r/{ret.rma}/verify"
    wrong = post_postcode(client, url, "999 99")
    assert wrong.status_code == 422
    html = wrong.get_data(as_text=True)
    assert "4 more tries" in html and parcel.tracking_number not in html
    for _ in range(3):
        post_postcode(client, f"/c/{case.case_number}/verify", "999 99")
    locked = post_postcode(client, url, "999 99")
    assert locked.status_code == 429
    assert parcel.tracking_number not in locked.get_data(as_text=True)
    # Locked wherever this parcel's postcode is asked for, in any browser.
    for where in (url, f"/c/{case.case_number}/verify", f"/t/{parcel.tracking_number}/verify"):
        res = app.test_client().get(where)
        assert res.status_code == 429 and 'name="postcode"' not in res.get_data(as_text=True)


def test_a_verify_url_only_goes_on_within_the_site(client, ret):
    res = post_postcode(client, f"/r/{ret.rma}/verify?next=//evil.example/x", "113 48")
    assert res.status_code == 303 and res.location == f"/r/{ret.rma}"


def test_unknown_return_and_case_numbers_are_404(client):
    assert client.get("/r/AAAA-AAAA/verify").status_code == 404
    assert client.get("/c/C-AAAAAAAA/verify").status_code == 404
