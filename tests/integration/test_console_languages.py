"""The staff console in Swedish as well as English, picked per account (issue 20).

A Swedish agent and a Swedish supervisor walk every console page: each answers in Swedish, and
no English sentence of either catalogue is left on it. The header's form switches the language
for the next page; an unknown code changes nothing; an English account still reads English.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from functools import cache
from html import unescape
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask import Flask, url_for
from sqlalchemy import select

from portal.extensions import db
from portal.models import Account, ClosedDay, PickupPoint, Role, Slot, SlotTemplate
from portal.services.api_keys import create_api_key
from tests.support import factories
from tests.support.staff import login, post

TRANSLATIONS = Path(__file__).resolve().parents[2] / "portal" / "translations"
# The account pages under /admin (security, password) are the accounts area's, in its own
# catalogue: the walk checks they answer in Swedish, not their every word.
NOT_CONSOLE = ("accounts.",)
# Pages that are not HTML (downloads, images, the e-mail preview in its frame) or not the
# console's (the log-in steps come before any account is known).
NOT_PAGES = {
    "accounts.login",
    "accounts.login_code",
    "admin.audit_csv",
    "admin.dashboard_chart",
    "admin.dashboard_csv",
    "admin.message_template_html",
    "admin.network_export",
    "admin.network_export_geojson",
}


@cache
def english_sentences() -> tuple[str, ...]:
    """Every msgid of two words or more, of both catalogues, whose Swedish differs from it:
    on a Swedish page, none of them may show. Texts with placeholders are left out (their
    words are cut up by the values), and so are those Swedish spells the same."""
    found = set()
    for domain in ("console", "messages"):
        with (TRANSLATIONS / f"{domain}.pot").open("rb") as f:
            wanted = {m.id for m in read_po(f) if m.id and isinstance(m.id, str)}
        with (TRANSLATIONS / "sv" / "LC_MESSAGES" / f"{domain}.po").open("rb") as f:
            swedish = {m.id: m.string for m in read_po(f) if m.id and isinstance(m.id, str)}
        for msgid in wanted:
            text = msgid.strip()
            if "%" in text or len(text.split()) < 2:
                continue
            if swedish.get(msgid) and swedish[msgid].strip() != text:
                found.add(text)
    return tuple(sorted(found))


def visible_text(html: str) -> str:
    """What a reader sees: scripts and styles gone, then tags, entities decoded."""
    html = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", html)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def english_left(html: str) -> list[str]:
    text = visible_text(html)
    return [s for s in english_sentences() if s in text]


@pytest.fixture
def world(app):
    """One of everything a console page can show: a parcel with a complaint, a delivered one
    to start a return for, a merchant with a key, a zone with slots, points and a closed day."""
    merchant = factories.make_merchant()
    # A Swedish recipient: what the portal wrote to them (the case's thread) is Swedish too.
    parcel = factories.make_parcel(merchant=merchant, language="sv")
    factories.make_complaint(parcel)
    delivered = factories.make_parcel(merchant=merchant)
    factories.add_events(
        delivered, ("evt-delivered", "delivered", datetime.now(UTC) - timedelta(days=1))
    )
    target = factories.make_agent("target@example.com")
    create_api_key(merchant=merchant)
    zone = factories.make_delivery_zone()
    db.session.add(
        ClosedDay(
            zone_id=zone.id, day=datetime.now(UTC).date() + timedelta(days=40), reason="Lager"
        )
    )
    db.session.commit()
    return {
        "tn": parcel.tracking_number,
        "delivered_tn": delivered.tracking_number,
        "merchant_id": merchant.id,
        "account_id": target.id,
        "zone_id": zone.id,
        "template_id": db.session.scalars(select(SlotTemplate.id)).first(),
        "slot_id": db.session.scalars(select(Slot.id)).first(),
        "point_id": db.session.scalars(select(PickupPoint.id)).first(),
        "trigger": "parcel_created",
        "channel": "sms",
        "language": "sv",
    }


def console_pages(app: Flask, world: dict) -> list[tuple[str, str]]:
    """(endpoint, URL) of every console page a GET opens."""
    pages = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or "GET" not in rule.methods:
            continue
        if rule.endpoint in NOT_PAGES:
            continue
        values = {name: world[name] for name in rule.arguments}
        if rule.endpoint == "admin.start_return":
            values["tn"] = world["delivered_tn"]
        with app.test_request_context():
            pages.append((rule.endpoint, url_for(rule.endpoint, **values)))
    return sorted(pages)


def swedish(role: Role, email: str) -> Account:
    account = factories.make_agent(email, role=role)
    account.language = "sv"
    db.session.commit()
    return account


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR])
def test_every_console_page_speaks_swedish_to_a_swedish_account(app, client, world, role):
    login(client, swedish(role, f"{role.value}.sv@example.com"))
    pages = console_pages(app, world)
    assert len(pages) > 20  # the walk really covers the console
    opened, failures = 0, []
    for endpoint, url in pages:
        res = client.get(url)
        if res.status_code == 403 and role is Role.AGENT:
            continue  # a supervisor's page: the walk as a supervisor reads it
        html = res.get_data(as_text=True)
        if res.status_code != 200:
            failures.append(f"{url} -> {res.status_code}")
            continue
        opened += 1
        if '<html lang="sv">' not in html:
            failures.append(f"{url}: not lang=sv")
        left = [] if endpoint.startswith(NOT_CONSOLE) else english_left(html)
        if left:
            failures.append(f"{url}: English left: {left}")
    assert failures == [], "\n".join(failures)
    assert opened >= (8 if role is Role.AGENT else 25)


def test_swedish_pages_say_it_in_swedish(client, world):
    login(client, swedish(Role.SUPERVISOR, "boss.sv@example.com"))
    search = visible_text(client.get("/admin/").get_data(as_text=True))
    assert "Hitta ett paket" in search
    assert "Granskningslogg" in search and "Köer" in search and "Översikt" in search
    assert "Logga ut" in search
    parcel = visible_text(client.get(f"/admin/parcels/{world['tn']}").get_data(as_text=True))
    assert "Interna anteckningar" in parcel
    assert "Reklamationer" in parcel and "Tillbaka till sökningen" in parcel
    agents = visible_text(client.get("/admin/agents").get_data(as_text=True))
    assert "Personalkonton" in agents and "Skapa konto" in agents
    zones = visible_text(client.get("/admin/network").get_data(as_text=True))
    assert "Utlämningsställen och paketskåp" in zones


def test_the_security_page_speaks_swedish(client):
    login(client, swedish(Role.AGENT, "tvasteg.sv@example.com"))
    page = client.get("/admin/security").get_data(as_text=True)
    assert '<html lang="sv">' in page
    text = visible_text(page)
    assert "Tvåstegsinloggning" in text and "Slå på tvåstegsinloggning" in text
    assert "Kod från appen" in text
    assert "Turn two-step log-in on" not in text and english_left(page) == []


def test_codes_read_as_words_and_numbers_as_swedish_writes_them(client, world):
    login(client, swedish(Role.SUPERVISOR, "ord.sv@example.com"))
    parcel = visible_text(client.get(f"/admin/parcels/{world['tn']}").get_data(as_text=True))
    assert "awaiting_customer" not in parcel and "in_transit" not in parcel
    points = client.get("/admin/network/points").get_data(as_text=True)
    assert 'value="closed"' in points and ">Stängda</option>" in points


def test_a_refusal_and_a_confirmation_come_in_swedish(client, world):
    login(client, swedish(Role.AGENT, "agent.sv@example.com"))
    url = f"/admin/parcels/{world['tn']}"
    res = post(client, f"{url}/notes", {"body": "   "})
    assert res.status_code == 422
    assert "Skriv anteckningen." in visible_text(res.get_data(as_text=True))
    res = post(client, f"{url}/notes", {"body": "Ringde mottagaren."})
    assert res.status_code == 303
    assert "Anteckningen har lagts till." in visible_text(client.get(url).get_data(as_text=True))


def test_the_header_form_switches_the_language_for_the_next_page(client):
    account = factories.make_agent("switch@example.com")
    login(client, account)
    page = client.get("/admin/queues").get_data(as_text=True)
    assert '<html lang="en">' in page and "Returns awaiting approval" in page

    res = post(client, "/admin/account/language", {"language": "sv", "next": "/admin/queues"})
    assert res.status_code == 303 and res.location.endswith("/admin/queues")
    page = client.get(res.location).get_data(as_text=True)
    assert '<html lang="sv">' in page
    assert "Returer som väntar på godkännande" in visible_text(page)
    assert english_left(page) == []
    assert db.session.get(Account, account.id).language == "sv"

    # An unknown code changes nothing: the page comes back as it was.
    res = post(client, "/admin/account/language", {"language": "xx", "next": "/admin/queues"})
    assert res.status_code == 303
    assert '<html lang="sv">' in client.get("/admin/queues").get_data(as_text=True)
    assert db.session.get(Account, account.id).language == "sv"

    # Back to English.
    post(client, "/admin/account/language", {"language": "en", "next": "/admin/"})
    assert "Find a parcel" in client.get("/admin/").get_data(as_text=True)


def test_an_english_agent_still_reads_english(app, client, world):
    swedish(Role.AGENT, "colleague.sv@example.com")  # a colleague's choice is theirs alone
    login(client, factories.make_agent("english@example.com"))
    page = client.get("/admin/").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Find a parcel" in page and "Hitta ett paket" not in page
    parcel = client.get(f"/admin/parcels/{world['tn']}").get_data(as_text=True)
    assert "Internal notes" in parcel and "Interna anteckningar" not in parcel


def test_a_supervisor_picks_a_new_accounts_language(client):
    login(client, factories.make_agent("boss@example.com", role=Role.SUPERVISOR))
    page = client.get("/admin/agents").get_data(as_text=True)
    assert re.search(r'<select [^>]*name="language"', page)
    assert 'value="sv">Svenska</option>' in page and 'value="en">English</option>' in page

    res = post(
        client,
        "/admin/agents",
        {"email": "ny@example.com", "name": "Nils Ny", "role": "agent", "language": "sv"},
    )
    assert res.status_code == 303, res.get_data(as_text=True)[:500]
    made = db.session.scalars(select(Account).where(Account.email == "ny@example.com")).one()
    assert made.language == "sv"
    listing = visible_text(client.get("/admin/agents").get_data(as_text=True))
    assert "ny@example.com Nils Ny Agent Yes Off Never No Svenska" in listing

    # Without a choice (an older form), the account takes the default.
    res = post(
        client, "/admin/agents", {"email": "old@example.com", "name": "Olle", "role": "agent"}
    )
    assert res.status_code == 303
    made = db.session.scalars(select(Account).where(Account.email == "old@example.com")).one()
    assert made.language == "en"

    # A code outside CONSOLE_LANGUAGES is refused, and no account is made.
    res = post(
        client,
        "/admin/agents",
        {"email": "bad@example.com", "name": "Bo", "role": "agent", "language": "xx"},
    )
    assert res.status_code == 422
    assert (
        db.session.scalars(select(Account).where(Account.email == "bad@example.com")).first()
        is None
    )


@pytest.mark.parametrize(
    ("language", "asked"),
    [
        ("nb", "Send oss gjerne bilder av den skadde varen og av esken."),
        ("fi", "Lähetäthän kuvat vaurioituneesta tuotteesta ja pakkauksesta."),
        ("en", "Please send photos of the damaged item and of the box."),
    ],
)
def test_asking_for_photos_starts_in_the_customers_language(client, language, asked):
    """A Swedish agent's "ask for photos" text goes to the customer: in the parcel's language."""
    parcel = factories.make_parcel(language=language)
    factories.make_complaint(parcel)
    login(client, swedish(Role.AGENT, "sv-agent@example.com"))
    page = client.get(f"/admin/parcels/{parcel.tracking_number}").get_data(as_text=True)
    assert asked in html.unescape(page)
