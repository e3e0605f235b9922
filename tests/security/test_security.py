"""Security as a user (or an attacker) would meet it, through the real pages and API.

Already covered elsewhere, and not repeated here:
- another parcel's page shows no address to a verified visitor, and API keys read only their
  own merchant's or carrier's parcels (test_tracking_pages, test_api_parcels);
- complaint photos are served only to the verified recipient and agents (test_complaints);
- a merchant's e-mail wording is escaped in the HTML e-mail (test_admin_templates), and a
  note's markup is escaped in the console (test_admin_console);
- the verify form without its CSRF token is a 400 (test_tracking_pages);
- `/lang/<code>?next=` stays on the site for every trick (test_hardening, test_tracking_pages);
- attack-shaped terms in the console's search box (test_admin_console);
- per-IP limits on parcel lookups and per-parcel limits on wrong postcodes (test_tracking_pages).
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
import time_machine
from markupsafe import escape
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Complaint, ParcelNote, Return, ReturnStatus, Role
from portal.services.parcels import find_parcel
from portal.services.photos import Upload
from portal.services.returns import LineRequest, ReturnRequest, open_return
from tests.support import factories, staff
from tests.support.api import baltic_parcel_body
from tests.support.messaging import AUTH_TOKEN, run_worker, signed_post
from tests.support.pages import csrf_for, csrf_token

NOW = factories.DELIVERY_NOW  # Thursday 26 November 2026, 10:00 in Stockholm


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def uploads(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(tmp_path / "uploads"))


def delivered(merchant=None, **kw):
    return factories.make_parcel(
        merchant=merchant,
        statuses=factories.DELIVERED,
        start=NOW - timedelta(days=1),
        **kw,
    )


def approved_return(parcel) -> Return:
    ret = open_return(
        parcel, ReturnRequest([LineRequest(sku="TENT-2P", quantity=1, reason="damaged")], "dropoff")
    )
    db.session.commit()
    assert ret.status is ReturnStatus.APPROVED  # the default policy approves at once
    return ret


def opened_for(app, parcel):
    """A browser that opened the parcel's SMS link (verified for that parcel only)."""
    browser = app.test_client()
    assert browser.get("/l/" + factories.make_link(parcel)).status_code == 303
    return browser


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- one recipient never opens another's parcel (IDOR) ---------------------------------------


@pytest.fixture
def two_recipients(app):
    """Alva's and Bo's delivered parcels (of two shops), Bo's with a return and a case with a
    photo; Alva's browser is verified for hers."""
    factories.make_zone("Stockholm", prefixes=("113", "411"))
    alva = delivered(name="Alva Lindqvist")
    bo = delivered(name="Bo Berg", postcode="411 01", city="Göteborg", email="bo@example.com")
    ret = approved_return(bo)
    case = factories.make_complaint(bo, photos=[Upload("a.jpg", factories.image_bytes())])
    return alva, bo, ret, case, opened_for(app, alva)


def test_a_verified_recipient_cannot_open_another_parcels_pages(two_recipients):
    alva, bo, ret, case, browser = two_recipients
    tn = bo.tracking_number
    page = browser.get(f"/t/{tn}").get_data(as_text=True)
    assert "Bo Berg" not in page and "Surbrunnsgatan" not in page and "Trail tent" not in page
    assert ret.rma not in page and case.case_number not in page
    for url in (f"/t/{tn}/delivery", f"/t/{tn}/return", f"/t/{tn}/complaint"):
        res = browser.get(url)
        assert res.status_code == 303 and res.location.startswith(f"/t/{tn}/verify"), url
    # A return's and a case's pages ask for the postcode on their own URL (issue 15, hole 7).
    for url, check in (
        (f"/r/{ret.rma}", f"/r/{ret.rma}/verify"),
        (f"/r/{ret.rma}/label", f"/r/{ret.rma}/verify"),
        (f"/c/{case.case_number}", f"/c/{case.case_number}/verify"),
    ):
        res = browser.get(url)
        assert res.status_code == 303 and res.location.startswith(check), url
    for url in (
        f"/r/{ret.rma}/label.png",
        f"/r/{ret.rma}/label.svg",
        f"/c/{case.case_number}/photos/{case.photos[0].id}",
    ):
        assert browser.get(url).status_code == 404, url
    # Alva's own pages still open.
    assert "Alva Lindqvist" in browser.get(f"/t/{alva.tracking_number}").get_data(as_text=True)


def test_a_verified_recipient_cannot_post_to_another_parcels_forms(two_recipients):
    _alva, bo, _ret, case, browser = two_recipients
    token = csrf_for(browser)  # a good token for the browser's session, verified for Alva
    before = count(Complaint), count(Return)
    for url, data in (
        (f"/t/{bo.tracking_number}/complaint", {"type": "late", "description": "Where is it?"}),
        (f"/t/{bo.tracking_number}/return", {"method": "dropoff"}),
        (f"/t/{bo.tracking_number}/delivery", {"type": "safe_place", "place": "porch"}),
        (f"/t/{bo.tracking_number}/updates", {"sms": "", "email": ""}),
        (f"/c/{case.case_number}", {"body": "Refund me instead."}),
    ):
        res = browser.post(url, data={"csrf_token": token, **data})
        assert res.status_code == 303 and "/verify" in res.location, url
    assert (count(Complaint), count(Return)) == before
    assert len(db.session.get(Complaint, case.id).messages) == len(case.messages)


def test_a_merchant_key_cannot_read_or_change_another_merchants_returns(two_recipients, client):
    alva, bo, ret, _case, _ = two_recipients
    key = factories.make_api_key(merchant=alva.merchant)
    auth = {"Authorization": f"Bearer {key}"}
    missing = client.get("/api/v1/returns/ACDE-FGHJ", headers=auth)
    theirs = client.get(f"/api/v1/returns/{ret.rma}", headers=auth)
    # Someone else's return reads exactly as one that doesn't exist: no way to probe RMAs.
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json == missing.json
    for action, body in (("received", None), ("refunded", {"amount": "1.00"})):
        res = client.post(f"/api/v1/returns/{ret.rma}/{action}", json=body, headers=auth)
        assert res.status_code == 404 and res.json["error"]["code"] == "return_not_found"
    assert client.get("/api/v1/returns", headers=auth).json["returns"] == []
    res = client.post(
        "/api/v1/returns",
        json={
            "tracking_number": bo.tracking_number,
            "method": "dropoff",
            "items": [{"sku": "TENT-2P", "quantity": 1, "reason": "damaged"}],
        },
        headers=auth,
    )
    assert res.status_code == 404
    db.session.refresh(ret)
    assert ret.status is ReturnStatus.APPROVED and ret.received_at is None


# --- stored XSS renders inert ----------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


def assert_inert(html: str, *payloads: str) -> None:
    for payload in payloads:
        assert payload not in html, payload
        assert str(escape(payload)) in html, payload
    assert "onerror=alert(1)>" not in html and "<script>alert" not in html


def test_markup_in_every_free_text_field_is_shown_as_text(app, client, monkeypatch):
    factories.make_zone("Stockholm", prefixes=("113",))
    factories.make_carrier("Baltic Express")
    merchant = factories.make_merchant()
    key = factories.make_api_key(merchant=merchant)
    body = baltic_parcel_body(
        recipient={**baltic_parcel_body()["recipient"], "name": f"Alva {SCRIPT}", "language": "en"},
        items=[{"sku": "TENT-2P", "name": f"Tent {IMG}", "quantity": 1, "unit_price": "10.00"}],
    )
    res = client.post("/api/v1/parcels", json=body, headers={"Authorization": f"Bearer {key}"})
    assert res.status_code == 201, res.json
    tn = res.json["tracking_number"]
    parcel = find_parcel(tn)
    factories.add_events(parcel, ("x1", "delivered", NOW - timedelta(hours=1)))

    # The recipient: their page, a complaint whose text is markup, and its case page.
    browser = opened_for(app, parcel)
    assert_inert(browser.get(f"/t/{tn}").get_data(as_text=True), f"Alva {SCRIPT}", f"Tent {IMG}")
    res = browser.post(
        f"/t/{tn}/complaint",
        data={
            "csrf_token": csrf_for(browser),
            "type": "damaged",
            "description": f"Crushed {SCRIPT} and {IMG}",
            "items": [str(parcel.items[0].id)],
        },
        content_type="multipart/form-data",
    )
    assert res.status_code == 303, res.get_data(as_text=True)[:300]
    case_page = browser.get(res.location).get_data(as_text=True)
    assert_inert(case_page, f"Crushed {SCRIPT} and {IMG}")

    # A reply by SMS whose body is markup.
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    sms = {"MessageSid": "SMx1", "From": "+46701234567", "Body": f"Leave it {IMG}"}
    assert signed_post(client, "/hooks/twilio/inbound", sms).status_code == 200

    # The agent: an internal note that is markup, then the console with all of it.
    agent = app.test_client()
    staff.login(agent, factories.make_agent())
    res = staff.post(agent, f"/admin/parcels/{tn}/notes", {"body": f"Note {SCRIPT}"})
    assert res.status_code == 303 and count(ParcelNote) == 1
    console = agent.get(f"/admin/parcels/{tn}").get_data(as_text=True)
    assert_inert(
        console,
        f"Alva {SCRIPT}",
        f"Tent {IMG}",
        f"Crushed {SCRIPT} and {IMG}",
        f"Leave it {IMG}",
        f"Note {SCRIPT}",
    )
    # The search results list the name as text too.
    results = agent.get("/admin/", query_string={"q": "Alva", "go": "list"})
    assert_inert(results.get_data(as_text=True), f"Alva {SCRIPT}")


def test_markup_in_a_message_template_preview_is_shown_as_text(app, client):
    merchant = factories.make_merchant("Nordic Outdoor")
    staff.login(client, factories.make_agent("sara@example.com", role=Role.SUPERVISOR))
    editor = f"/admin/merchants/{merchant.id}/messages/parcel_created/sms/en"
    res = staff.post(client, editor + "/preview", {"body": f"{{{{ link }}}} {IMG}"})
    assert res.status_code == 200
    assert_inert(res.get_data(as_text=True), IMG)
    email = f"/admin/merchants/{merchant.id}/messages/parcel_created/email/en"
    res = staff.post(
        client,
        email + "/preview.html",
        {"subject": f"Hi {SCRIPT}", "body": f"{{{{ link }}}} {{{{ unsubscribe_link }}}} {IMG}"},
    )
    assert res.status_code == 200
    assert_inert(res.get_data(as_text=True), f"Hi {SCRIPT}", IMG)
    assert "script-src" not in res.headers["Content-Security-Policy"] or (
        "'unsafe-inline'" not in res.headers["Content-Security-Policy"]
    )


# --- CSRF ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/t/{tn}/delivery", {"type": "safe_place", "place": "porch"}),
        ("/t/{tn}/complaint", {"type": "late", "description": "Where is it?"}),
        ("/t/{tn}/return", {"method": "dropoff"}),
        ("/t/{tn}/updates", {"sms": "y"}),
        ("/c/{case}", {"body": "More words."}),
    ],
)
def test_a_customer_form_without_its_token_is_refused(app, path, data):
    factories.make_zone("Stockholm", prefixes=("113",))
    parcel = delivered()
    case = factories.make_complaint(parcel, status="awaiting_customer")
    browser = opened_for(app, parcel)
    before = count(Complaint), count(Return), len(case.messages)
    res = browser.post(path.format(tn=parcel.tracking_number, case=case.case_number), data=data)
    assert res.status_code == 400
    assert "This form has expired" in res.get_data(as_text=True)
    db.session.refresh(case)
    assert (count(Complaint), count(Return), len(case.messages)) == before


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/admin/login", {"email": "agent@example.com", "password": factories.STAFF_PASSWORD}),
        ("/admin/parcels/{tn}/notes", {"body": "Forged note"}),
        ("/admin/parcels/{tn}/hold", {}),
        ("/logout", {}),
    ],
)
def test_a_console_form_without_its_token_is_refused(app, path, data):
    parcel = factories.make_parcel()
    agent = app.test_client()
    staff.login(agent, factories.make_agent())
    res = agent.post(path.format(tn=parcel.tracking_number), data=data)
    assert res.status_code == 400
    assert count(ParcelNote) == 0
    assert agent.get(f"/admin/parcels/{parcel.tracking_number}").status_code == 200  # still in


# --- open redirects --------------------------------------------------------------------------

EVIL = ["//evil.example", "https://evil.example/x", "/\\evil.example", "javascript:alert(1)"]


def stays_on_site(location: str) -> bool:
    return (
        location.startswith("/")
        and not location.startswith(("//", "/\\"))
        and ("evil" not in location)
    )


@pytest.mark.parametrize("target", EVIL)
def test_log_in_never_sends_staff_off_the_site(app, target):
    agent = factories.make_agent()
    browser = app.test_client()
    url = f"/admin/login?next={target}"
    res = browser.post(
        url, data={"csrf_token": csrf_for(browser), "email": agent.email, "password": staff_pw()}
    )
    assert res.status_code == 303 and stays_on_site(res.location), res.location


def staff_pw() -> str:
    return factories.STAFF_PASSWORD


@pytest.mark.parametrize("target", EVIL)
def test_the_postcode_check_and_signed_links_never_leave_the_site(app, target):
    parcel = factories.make_parcel()
    browser = app.test_client()
    url = f"/t/{parcel.tracking_number}/verify?next={target}"
    res = browser.post(url, data={"csrf_token": csrf_for(browser), "postcode": "11348"})
    assert res.status_code == 303 and stays_on_site(res.location), res.location
    # A link's target is ours, but it is checked again when the link opens.
    token = factories.make_link(parcel, target=target)
    res = app.test_client().get(f"/l/{token}")
    assert res.status_code == 303 and res.location == f"/t/{parcel.tracking_number}"
    res = app.test_client().get(f"/lang/sv?next={target}")
    assert stays_on_site(res.location)


# --- SQL-injection-shaped input --------------------------------------------------------------

SQLI = ["' OR 1=1 --", "RR1' UNION SELECT password_hash FROM account--", "1; DROP TABLE parcel"]
# What a database error would show; the term itself may be shown back in the form, escaped.
LEAKS = re.compile(r"Traceback|sqlite|psycopg|sqlalchemy|syntax error|OperationalError", re.I)


@pytest.mark.parametrize("term", SQLI)
def test_injection_shaped_input_finds_nothing_and_leaks_nothing(app, client, term):
    parcel = factories.make_parcel()
    key = factories.make_api_key(merchant=parcel.merchant)
    auth = {"Authorization": f"Bearer {key}"}
    answers = [
        client.get("/track", query_string={"tn": term}),
        client.get("/track", query_string={"tn": parcel.tracking_number, "postcode": term}),
        client.get(f"/t/{term}"),
        client.get(f"/r/{term}"),
        client.get(f"/c/{term}"),
        client.get(f"/api/v1/parcels/{term}", headers=auth),
        client.get(f"/api/v1/returns/{term}", headers=auth),
        client.get("/api/v1/returns", query_string={"since": term}, headers=auth),
        client.get("/api/v1/manifest", query_string={"date": "2026-11-26", "zone": term}),
        client.get("/api/v1/delivery-options", query_string={"postcode": term}, headers=auth),
    ]
    for res in answers:
        assert 300 <= res.status_code < 500, (res.request.url, res.status_code)
        body = res.get_data(as_text=True)
        assert not LEAKS.search(body), res.request.url
        assert "Alva Lindqvist" not in body and "Surbrunnsgatan" not in body
    # The postcode was wrong: the parcel is still locked for this browser.
    assert "Surbrunnsgatan" not in client.get(f"/t/{parcel.tracking_number}").get_data(as_text=True)


@pytest.mark.parametrize(
    "path",
    [
        "/brand/99999999999999999999.css",
        "/brand/99999999999999999999/logo",
        "/c/C-7KQ4M2XA/photos/99999999999999999999",
    ],
)
def test_ids_past_any_column_are_404_not_500(client, path):
    assert client.get(path).status_code == 404


def test_an_api_id_past_any_column_is_404_not_500(merchant_api):
    res = merchant_api.client.delete(
        "/api/v1/webhooks/99999999999999999999",
        headers={"Authorization": f"Bearer {merchant_api.key}"},
    )
    assert res.status_code == 404 and res.json["error"]["code"] == "webhook_not_found"


# --- rate limits -----------------------------------------------------------------------------


def test_log_in_is_limited_per_address_with_a_readable_page(app):
    agent = factories.make_agent()
    browser = app.test_client()
    codes = []
    for n in range(11):
        res = browser.post(
            "/admin/login",
            data={
                "csrf_token": csrf_for(browser),
                "email": "nobody@example.com" if n < 10 else agent.email,
                "password": "wrong password" if n < 10 else staff_pw(),
            },
        )
        codes.append(res.status_code)
    assert codes == [422] * 10 + [429]
    assert "Too many tries" in res.get_data(as_text=True)


def test_the_postcode_check_shares_the_lookup_limit(app, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_LOOKUP", "3 per minute")
    parcel = factories.make_parcel()
    browser = app.test_client()
    url = f"/t/{parcel.tracking_number}/verify"
    pages = [browser.get(url) for _ in range(3)]
    token = csrf_token(pages[0].get_data(as_text=True))
    res = browser.post(url, data={"csrf_token": token, "postcode": "11348"})
    assert [p.status_code for p in pages] == [200, 200, 200] and res.status_code == 429
    assert "Too many tries" in res.get_data(as_text=True)


def test_an_ipv6_client_changing_address_within_its_64_keeps_its_limit(app, monkeypatch):
    """A host picks a fresh IPv6 address in its /64 at will: the limit counts the /64."""
    monkeypatch.setitem(app.config, "RATELIMIT_LOOKUP", "3 per minute")
    parcel = factories.make_parcel()
    url = f"/t/{parcel.tracking_number}"
    browser = app.test_client()
    codes = [
        browser.get(url, environ_base={"REMOTE_ADDR": f"2001:db8:1:2::{n:x}"}).status_code
        for n in range(1, 5)
    ]
    assert codes == [200, 200, 200, 429]
    # The next /64 over is someone else.
    res = browser.get(url, environ_base={"REMOTE_ADDR": "2001:db8:1:3::1"})
    assert res.status_code == 200


def test_an_api_key_over_its_limit_gets_429_in_the_error_shape(app, merchant_api, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_API", "3 per minute")
    codes = [merchant_api.get("/api/v1/webhooks").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    res = merchant_api.get("/api/v1/webhooks")
    assert res.json == {
        "error": {"code": "rate_limited", "message": res.json["error"]["message"], "field": None}
    }
    assert res.headers.get("Retry-After")
    # Another merchant's key is not held up by this one.
    other = factories.make_api_key(merchant=factories.make_merchant())
    res = app.test_client().get("/api/v1/webhooks", headers={"Authorization": f"Bearer {other}"})
    assert res.status_code == 200


def test_guessing_api_keys_is_limited_per_address(app, client, merchant_api, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_API_WRONG_KEYS", "5 per minute")
    codes = [
        client.get("/api/v1/webhooks", headers={"Authorization": f"Bearer lm_mk_guess{n}"})
        for n in range(6)
    ]
    assert [r.status_code for r in codes] == [401] * 5 + [429]
    assert codes[-1].json["error"]["code"] == "rate_limited"
    # A right key from that address is judged by its own limit only (issue 22): a stale worker
    # can't lock its merchant out (keys are 32 random bytes: the limit sheds load, guessing one
    # was never the risk) …
    assert merchant_api.get("/api/v1/webhooks").status_code == 200
    assert (
        client.get("/api/v1/webhooks", headers={"Authorization": "Bearer lm_mk_x"}).status_code
        == 429
    )
    # … wrong keys from there still wait, and callers elsewhere go on.
    other = app.test_client()
    res = other.get(
        "/api/v1/webhooks",
        headers={"Authorization": f"Bearer {merchant_api.key}"},
        environ_base={"REMOTE_ADDR": "192.0.2.7"},
    )
    assert res.status_code == 200


# --- secrets never reach a log ---------------------------------------------------------------


def test_a_full_flow_logs_no_contact_details_tokens_or_keys(app, messaging, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    # The migrations' logging.config.fileConfig (run by the app fixture) disabled every logger
    # that existed then; in production they run in a process of their own. Hear them all.
    for logger in logging.root.manager.loggerDict.values():
        if isinstance(logger, logging.Logger) and logger.disabled:
            monkeypatch.setattr(logger, "disabled", False)
    access = logging.getLogger("werkzeug")
    factories.make_zone("Stockholm", prefixes=("113",))
    factories.make_carrier("Baltic Express")
    merchant = factories.make_merchant()
    merchant_key = factories.make_api_key(merchant=merchant)
    carrier_key = factories.make_api_key(carrier=factories.make_carrier("Other Post"))
    browser = app.test_client()
    seen_urls: list[str] = []

    def call(method: str, url: str, **kw):
        res = browser.open(url, method=method, **kw)
        # What the dev server and gunicorn would print for this request.
        target = res.request.full_path.rstrip("?")
        access.info('%s - - "%s %s HTTP/1.1" %s -', "127.0.0.1", method, target, res.status_code)
        seen_urls.append(target)
        return res

    # The merchant creates the parcel; its carrier moves it; messages go out.
    body = baltic_parcel_body(carrier="Other Post")
    res = call(
        "POST", "/api/v1/parcels", json=body, headers={"Authorization": f"Bearer {merchant_key}"}
    )
    assert res.status_code == 201, res.json
    tn = res.json["tracking_number"]
    event = {
        "event_id": "e1",
        "tracking_number": tn,
        "code": "delivered",
        "occurred_at": (NOW - timedelta(minutes=5)).isoformat(),
    }
    res = call(
        "POST",
        "/api/v1/events",
        json={"events": [event]},
        headers={"Authorization": f"Bearer {carrier_key}"},
    )
    assert res.json["accepted"] == 1
    run_worker(app)
    assert messaging.twilio.sent and messaging.smtp.messages
    token = re.search(r"/l/([A-Za-z0-9_-]+)", messaging.twilio.sent[-1]["data"]["Body"]).group(1)

    # The recipient opens the link, tracks with the postcode, files a complaint.
    assert call("GET", f"/l/{token}").status_code == 303
    call("GET", f"/track?tn={tn}&postcode=113+48")
    page = call("GET", f"/t/{tn}/complaint").get_data(as_text=True)
    res = call(
        "POST",
        f"/t/{tn}/complaint",
        data={"csrf_token": csrf_token(page), "type": "late", "description": "It came late."},
        content_type="multipart/form-data",
    )
    assert res.status_code == 303
    cookie = browser.get_cookie("session").value
    run_worker(app)

    # An agent with two-step log-in finds the parcel by phone and e-mail.
    agent = factories.make_agent(totp=True)
    agent_browser, browser = browser, app.test_client()
    staff.login(browser, agent)
    for q in ("070-123 45 67", "+46701234567", "alva@example.com"):
        assert tn in call("GET", f"/admin/?q={q.replace(' ', '+')}&go=list").get_data(as_text=True)
    staff_cookie = browser.get_cookie("session").value
    del agent_browser

    secrets = {
        "phone (E.164)": "+46701234567",
        "phone (national)": "070-123 45 67",
        "phone (digits)": "701234567",
        "e-mail": "alva@example.com",
        "signed-link token": token,
        "merchant key": merchant_key,
        "carrier key": carrier_key,
        "session cookie": cookie,
        "staff session cookie": staff_cookie,
        "TOTP secret": db.session.get(type(agent), agent.id).totp_secret,
        "Twilio auth token": AUTH_TOKEN,
    }
    # Everything but the stand-in SMTP server's own log (aiosmtpd's "mail.log"): the real one
    # is someone else's server.
    records = [r.getMessage() for r in caplog.records if not r.name.startswith("mail.log")]
    assert any(tn in r for r in records)  # the access log was captured and is useful
    for record in records:
        for what, secret in secrets.items():
            assert secret.lower() not in record.lower(), f"{what} in log: {record}"
        assert "113+48" not in record and "postcode=113" not in record
    assert any(url.startswith("/l/") for url in seen_urls)
