"""Every customer page, console page and e-mail is valid HTML: no error from the Nu Html
Checker (issue 22), beside axe's accessibility check. The pages are fetched with the test client
in the states people meet them in (forms with and without errors, verified and not, signed in
and out, each language) and checked in one run of the checker; its warnings are printed."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale

from portal import s10
from portal.extensions import db
from portal.models import Channel, InboundMessage, Role
from portal.services.accounts import SET_PASSWORD_PATH, password_link_token
from portal.services.links import issue_link
from portal.services.messages import TRIGGERS, render
from portal.services.messages.overrides import sample_context
from portal.services.messages.sandbox import environment, render_text
from tests.browser.test_accessibility import admin_urls
from tests.integration.test_languages import pages as customer_pages
from tests.support import factories, me, vnu
from tests.support.customer import Customer, make_customer
from tests.support.factories import STAFF_PASSWORD
from tests.support.pages import csrf_for
from tests.support.staff import login, post

pytestmark = pytest.mark.slow
_ADDRESSES = itertools.count(1)
LANGUAGES = ("en", "sv", "nb", "da", "fi")
SHARED = f"RR55500003{s10.check_digit('55500003')}SE"  # a number two shops' parcels share


def keep_html(body: str) -> str:
    return body


def visitor(app: Flask) -> FlaskClient:
    """A test client from an address of its own: the walk opens more parcels than one address
    may in a minute (RATELIMIT_LOOKUP)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"192.0.2.{next(_ADDRESSES)}"
    return client


@pytest.fixture
def world(db) -> Customer:
    customer = make_customer()
    customer.links = {
        name: factories.make_link(getattr(customer, name))
        for name in ("on_its_way", "delivered", "second")
    }
    return customer


def customer(app: Flask, world: Customer) -> dict[str, str]:
    """The customer pages of test_languages in every language (the return label, an SVG image,
    left out), and those it doesn't walk: the verify steps of a return and a case, /me signed
    in, the drop-off desk at work, a set-password link and the unsubscribe page."""
    found = {}
    for language in LANGUAGES:
        for name, html in customer_pages(visitor(app), world, language, keep_html).items():
            if name != "label":
                found[f"{language}-{name}"] = html
    client = visitor(app)

    def get(name: str, url: str) -> None:
        found[name] = client.get(url, follow_redirects=True).get_data(as_text=True)

    def send(name: str, url: str, data: dict | None = None, **kw) -> None:
        res = client.post(url, data={"csrf_token": csrf_for(client), **(data or {})}, **kw)
        found[name] = res.get_data(as_text=True)

    get("return-verify", f"/r/{world.ret.rma}/verify")
    send("return-verify-error", f"/r/{world.ret.rma}/verify", {"postcode": "999 99"})
    get("case-verify", f"/c/{world.case.case_number}/verify")
    send("case-verify-error", f"/c/{world.case.case_number}/verify", {"postcode": "999 99"})
    unsubscribe = issue_link(world.on_its_way, purpose="unsubscribe")
    db.session.commit()
    get("unsubscribe", f"/u/{unsubscribe}")
    found["unsubscribed"] = client.post(f"/u/{unsubscribe}").get_data(as_text=True)
    get("unsubscribe-invalid", "/u/not-a-link")

    # One number, two shops' parcels to one postcode: the visitor chooses which to see.
    for shop, carrier in (("Göta Gear", "Nordic Post"), ("Fjäll & Fors", "Baltic Express")):
        factories.make_parcel(
            merchant=factories.make_merchant(shop),
            carrier=factories.make_carrier(carrier),
            tracking_number=SHARED,
        )
    send("choose-verify", f"/t/{SHARED}/verify", {"postcode": "113 48"})
    get("choose", f"/t/{SHARED}/choose")

    me.ask_code(client, me.PHONE)
    get("me-code", "/me/code")
    send("me-code-error", "/me/code", {"code": "1"})
    me.enter(client, me.sent_code(me.PHONE))
    get("me-signed-in", "/me")
    send("me-preferences-error", "/me/preferences", {"choice": "neighbour"})
    get("me-delete", "/me/delete")
    send("me-delete-error", "/me/delete")

    desk = visitor(app)
    kiosk = factories.make_dropoff_account()
    client = desk
    send("dropoff-login-error", "/dropoff/login", {"email": kiosk.email, "password": "wrong"})
    res = client.post(
        "/dropoff/login",
        data={"csrf_token": csrf_for(client), "email": kiosk.email, "password": STAFF_PASSWORD},
    )
    assert res.status_code == 303, res.get_data(as_text=True)[:300]
    get("dropoff", "/dropoff")
    send("dropoff-error", "/dropoff", {"code": "NOTACODE1234"})
    send("dropoff-accepted", "/dropoff", {"code": world.ret.dropoff_code}, follow_redirects=True)
    get("dropoff-password", "/dropoff/password")
    send("dropoff-password-error", "/dropoff/password")

    client = visitor(app)
    link = SET_PASSWORD_PATH + password_link_token(factories.make_agent("nils@example.com"))
    get("set-password", link)
    send("set-password-error", link)
    get("set-password-invalid", "/set-password/not-a-link")
    return found


def console(app: Flask, world: Customer) -> dict[str, str]:
    """Every console page (the walk of test_accessibility) for an agent in English and a
    supervisor in Swedish, an agent meeting the supervisors' pages as the 403 page; the log-in
    steps with their errors."""
    found = {}
    client = app.test_client()
    found["admin-login"] = client.get("/admin/login").get_data(as_text=True)
    found["admin-login-error"] = post(
        client, "/admin/login", {"email": "nobody@example.com", "password": "x"}
    ).get_data(as_text=True)
    factories.make_complaint(world.delivered, type="late")  # something in the queues
    db.session.add(  # a reply to mark read, on the parcel's page and in the queue
        InboundMessage(
            provider_id="SM-html",
            from_phone=world.on_its_way.recipient_phone,
            body="Leave it by the door",
            parcel_id=world.on_its_way.id,
        )
    )
    agent = factories.make_agent("bo@example.com")
    supervisor = factories.make_agent("sara@example.com", role=Role.SUPERVISOR)
    supervisor.language = "sv"
    db.session.commit()
    urls = [
        *admin_urls(app, world, agent),
        f"/admin/?q={world.delivered.recipient_phone}",
        "/admin/?q=Lindqvist",
        f"/admin/parcels/{world.second.tracking_number}",
        f"/admin/parcels/{SHARED}",  # the choice between two shops' parcels
    ]
    for account in (agent, supervisor):
        client = app.test_client()
        login(client, account)
        for url in urls:
            res = client.get(url)
            if res.mimetype == "text/html":
                found[f"admin-{account.role.value}-{url}"] = res.get_data(as_text=True)
    return found


def emails(app: Flask, world: Customer) -> dict[str, str]:
    """Every trigger's e-mail in every language, and a merchant's own wording in its layout."""
    merchant = world.merchant
    found = {}
    with app.test_request_context():
        for language in LANGUAGES:
            with force_locale(language):
                for trigger in TRIGGERS:
                    context = sample_context(merchant, trigger, Channel.EMAIL, language)
                    html = render(trigger, Channel.EMAIL, language, context)["body_html"]
                    found[f"email-{trigger}-{language}"] = html
                own = render_text(
                    environment(strict=False),
                    "delivered",
                    Channel.EMAIL,
                    language,
                    "Your {{ merchant }} parcel",
                    "Hello,\n\nSee {{ link }}\nor write to us.\n\nBest regards\nThe shop",
                    sample_context(merchant, "delivered", Channel.EMAIL, language),
                )
                found[f"email-own-wording-{language}"] = own["body_html"]
    return found


def test_every_page_and_email_is_valid_html(app, world, tmp_path: Path, capsys):
    pages = customer(app, world) | console(app, world) | emails(app, world)
    found = vnu.check(pages, tmp_path)
    errors = [m for m in found if m.kind == "error"]
    warnings = [m for m in found if m.kind == "warning"]
    with capsys.disabled():
        print(f"\nvnu: {len(pages)} pages, {len(errors)} errors, {len(warnings)} warnings")
        if warnings:
            print(vnu.report(warnings))
    assert len(pages) > 150  # the walk really covers the portal
    assert not errors, vnu.report(errors)


def test_the_home_page_is_described_and_private_pages_say_noindex(app, world):
    client = app.test_client()
    for language in LANGUAGES:
        client.get(f"/lang/{language}")
        home = client.get("/").get_data(as_text=True)
        assert '<meta name="description" content="' in home and 'name="robots"' not in home
    parcel = client.get(f"/l/{world.links['on_its_way']}", follow_redirects=True)
    assert '<meta name="robots" content="noindex, nofollow">' in parcel.get_data(as_text=True)
    login(client, factories.make_agent("eva@example.com"))
    console = client.get("/admin/").get_data(as_text=True)
    assert '<meta name="robots" content="noindex, nofollow">' in console
