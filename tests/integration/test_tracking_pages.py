"""A shopper tracks a parcel: the form, the parcel page, postcode check and signed links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal import create_app
from portal.models import ParcelStatus as S
from tests.support import factories
from tests.support.pages import verify


@pytest.fixture
def parcel(db):
    factories.make_zone("Stockholm", prefixes=("113",))
    return factories.make_parcel(
        name="Alva Lindqvist",
        statuses=[S.PENDING, S.PICKED_UP, S.IN_TRANSIT],
        eta=(datetime(2026, 11, 26, 13, tzinfo=UTC), datetime(2026, 11, 26, 15, tzinfo=UTC)),
    )


def test_home_has_the_track_form(client):
    html = client.get("/").get_data(as_text=True)
    assert '<label for="tn">Tracking number</label>' in html
    assert 'action="/track" method="get"' in html


def test_track_normalises_and_redirects_to_the_parcel(client, parcel):
    messy = parcel.tracking_number.lower()
    messy = f"{messy[:2]} {messy[2:5]}-{messy[5:8]} {messy[8:]}"
    res = client.get("/track", query_string={"tn": messy})
    assert res.status_code == 303
    assert res.headers["Location"] == f"/t/{parcel.tracking_number}"


def test_mistyped_check_digit_is_told_apart_from_unknown_parcel(client):
    typo = client.get("/track", query_string={"tn": "RA123456784GB"})
    assert typo.status_code == 422
    assert "the last digit doesn&#39;t match" in typo.get_data(as_text=True)
    unknown = client.get("/track", query_string={"tn": "RA123456785GB"})
    assert unknown.status_code == 404
    assert "can&#39;t find this parcel yet" in unknown.get_data(as_text=True)
    empty = client.get("/track", query_string={"tn": ""})
    assert empty.status_code == 422
    assert "Enter your tracking number." in empty.get_data(as_text=True)


def test_parcel_page_unverified_shows_status_city_and_timeline_only(client, parcel):
    html = client.get(f"/t/{parcel.tracking_number}").get_data(as_text=True)
    assert "On its way" in html
    assert parcel.merchant.name in html
    assert "Stockholm" in html
    assert 'aria-current="step"' in html
    # ETA in Stockholm local time (UTC+1 in November).
    assert "14:00–16:00" in html
    assert "Alva Lindqvist" not in html
    assert "Surbrunnsgatan" not in html
    assert "Trail tent" not in html
    assert "+46701234567" not in html


def test_timeline_is_newest_first_whatever_order_events_arrived_in(client, parcel):
    t0 = datetime.now(UTC) - timedelta(minutes=30)
    factories.add_events(
        parcel,
        ("late-but-newest", "out_for_delivery", t0 + timedelta(minutes=20)),
        ("early", "in_transit", t0),
        ("middle", "in_transit", t0 + timedelta(minutes=10)),
    )
    verify(client, parcel, "113 48")
    html = client.get(f"/t/{parcel.tracking_number}").get_data(as_text=True)
    timeline = html[html.index('class="timeline"') :]
    order = [timeline.index(f">{label}<") for label in ("Out for delivery", "On its way")]
    assert order == sorted(order)
    assert timeline.index("step 2") < timeline.index("step 1") < timeline.index("step 0")


def test_carrier_free_text_is_only_for_the_verified_recipient(client, parcel):
    assert "step 2" not in client.get(f"/t/{parcel.tracking_number}").get_data(as_text=True)
    verify(client, parcel, "113 48")
    assert "step 2" in client.get(f"/t/{parcel.tracking_number}").get_data(as_text=True)


def test_right_postcode_unlocks_address_and_items(client, parcel):
    res = verify(client, parcel, "11348")
    assert res.status_code == 303
    html = client.get(f"/t/{parcel.tracking_number}").get_data(as_text=True)
    assert "Alva Lindqvist" in html and "Surbrunnsgatan 14" in html and "Trail tent" in html
    assert (
        client.get(f"/t/{parcel.tracking_number}").headers["Cache-Control"] == "private, no-store"
    )


def test_verified_session_does_not_open_another_parcel(client, parcel):
    other = factories.make_parcel(name="Bo Other", postcode="41101")
    verify(client, parcel, "113 48")
    html = client.get(f"/t/{other.tracking_number}").get_data(as_text=True)
    assert "Bo Other" not in html


def test_postcode_on_the_track_form_verifies_in_one_step(client, parcel):
    res = client.get("/track", query_string={"tn": parcel.tracking_number, "postcode": "113-48"})
    assert res.headers["Location"] == f"/t/{parcel.tracking_number}"
    assert "Alva Lindqvist" in client.get(res.headers["Location"]).get_data(as_text=True)


def test_wrong_postcode_says_so_and_counts_down(client, parcel):
    res = verify(client, parcel, "99999")
    assert res.status_code == 422
    html = res.get_data(as_text=True)
    assert "doesn&#39;t match this parcel" in html and "4 more tries" in html
    assert 'aria-invalid="true"' in html


def test_five_wrong_postcodes_lock_the_parcel_for_a_while(client, parcel, app):
    for _ in range(5):
        verify(client, parcel, "99999")
    locked = verify(client, parcel, "113 48")  # even the right one now waits
    assert locked.status_code == 429
    assert "Please wait 15 minutes" in locked.get_data(as_text=True)
    # The headers are those of the limit that was hit (5 wrong postcodes in 15 minutes), not
    # the page's lookup limit: a client waits as long as it must, not a minute.
    assert locked.headers.getlist("X-RateLimit-Limit") == ["5"]
    assert locked.headers["X-RateLimit-Remaining"] == "0"
    assert 800 < int(locked.headers["Retry-After"]) <= 900
    # Another browser (another IP even) is locked out of this parcel too.
    fresh = app.test_client()
    assert verify(fresh, parcel, "113 48").status_code == 429


def test_verify_without_csrf_token_is_refused(client, parcel):
    res = client.post(f"/t/{parcel.tracking_number}/verify", data={"postcode": "11348"})
    assert res.status_code == 400
    assert "This form has expired" in res.get_data(as_text=True)


def test_signed_link_verifies_and_redirects(client, parcel):
    token = factories.make_link(parcel)
    res = client.get(f"/l/{token}")
    assert res.status_code == 303
    assert res.headers["Location"] == f"/t/{parcel.tracking_number}"
    assert "Surbrunnsgatan 14" in client.get(res.headers["Location"]).get_data(as_text=True)


def test_expired_and_unknown_links_get_a_friendly_page_with_the_form(client, parcel):
    token = factories.make_link(parcel, now=datetime.now(UTC) - timedelta(days=31))
    expired = client.get(f"/l/{token}")
    assert expired.status_code == 410
    assert "This link has expired" in expired.get_data(as_text=True)
    assert 'name="tn"' in expired.get_data(as_text=True)
    unknown = client.get("/l/not-a-token")
    assert unknown.status_code == 404
    assert "This link doesn't work" in unknown.get_data(as_text=True)
    assert "Surbrunnsgatan" not in client.get(f"/t/{parcel.tracking_number}").get_data(as_text=True)


def test_lowercase_url_redirects_to_canonical(client, parcel):
    res = client.get(f"/t/{parcel.tracking_number.lower()}")
    assert res.status_code == 301
    assert res.headers["Location"] == f"/t/{parcel.tracking_number}"


@pytest.mark.parametrize("page", ["", "/delivery", "/return", "/complaint"])
def test_unknown_parcel_pages_are_404_with_the_form(client, page):
    res = client.get(f"/t/RA123456785GB{page}")
    assert res.status_code == 404
    html = res.get_data(as_text=True)
    assert 'name="tn"' in html and "We can&#39;t find this parcel yet" in html
    bad = client.get(f"/t/RA123456784GB{page}")
    assert "the last digit doesn&#39;t match" in bad.get_data(as_text=True)


@pytest.mark.parametrize("page", ["/delivery", "/return", "/complaint"])
def test_recipient_pages_redirect_a_typed_number_and_ask_for_the_postcode(client, parcel, page):
    typed = parcel.tracking_number.lower()
    res = client.get(f"/t/{typed}{page}")
    assert res.status_code == 301 and res.location == f"/t/{parcel.tracking_number}{page}"
    res = client.get(f"/t/{parcel.tracking_number}{page}")
    assert res.status_code == 303 and "/verify?next=" in res.location


def test_htmx_poll_gets_only_the_live_fragment(client, parcel):
    res = client.get(
        f"/t/{parcel.tracking_number}", headers={"HX-Request": "true", "HX-Target": "live"}
    )
    html = res.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="live"')
    assert "<html" not in html and "On its way" in html
    assert 'data-hx-trigger="every 30s"' in html


def test_terminal_parcel_does_not_poll(client):
    done = factories.make_parcel(statuses=[S.PENDING, S.DELIVERED])
    html = client.get(f"/t/{done.tracking_number}").get_data(as_text=True)
    assert "Delivered" in html and "data-hx-trigger" not in html


def test_pages_send_security_headers(client):
    res = client.get("/")
    csp = res.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert res.headers["X-Content-Type-Options"] == "nosniff"
    assert res.headers["Referrer-Policy"] == "same-origin"


def test_swedish_from_accept_language_and_switcher(client, parcel):
    html = client.get("/", headers={"Accept-Language": "sv-SE,sv;q=0.9"}).get_data(as_text=True)
    assert '<html lang="sv">' in html and "Spårningsnummer" in html
    client.get("/lang/en?next=/")
    html = client.get("/", headers={"Accept-Language": "sv"}).get_data(as_text=True)
    assert '<html lang="en">' in html


def test_recipient_language_is_used_on_their_parcel_page(client):
    swedish = factories.make_parcel(language="sv", statuses=[S.PENDING, S.IN_TRANSIT])
    html = client.get(f"/t/{swedish.tracking_number}", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert "På väg" in html


def test_language_switcher_refuses_open_redirects(client):
    assert client.get("/lang/sv?next=//evil.example/x").headers["Location"] == "/"
    assert client.get("/lang/sv?next=https://evil.example").headers["Location"] == "/"


def test_lookups_are_rate_limited_per_ip_with_a_readable_page(app, parcel):
    app.config["RATELIMIT_LOOKUP"] = "3 per minute"
    try:
        c = app.test_client()
        codes = [c.get(f"/t/{parcel.tracking_number}").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        assert "Too many tries" in c.get("/track?tn=x").get_data(as_text=True)
    finally:
        app.config["RATELIMIT_LOOKUP"] = "60 per minute"


def test_healthz_reports_database(client):
    assert client.get("/healthz").status_code == 200


def test_healthz_is_503_when_the_database_is_down():
    broken = create_app(
        {
            "ENV_NAME": "test",
            "SECRET_KEY": "x" * 40,
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1:9/none",
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 1}},
        }
    )
    res = broken.test_client().get("/healthz")
    assert res.status_code == 503
    assert res.json["database"] == "unreachable"
