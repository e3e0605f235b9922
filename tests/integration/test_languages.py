"""Every customer page and every message, rendered in every customer language, is wholly in
that language (issue 20): no string of the code comes out in English (a catalogue gap, or a
string never marked for translation), and no English sentence of the English rendering is left
in the other languages' rendering."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale

from portal.config import Config
from portal.models import Channel
from portal.services.label_keys import label_key
from portal.services.messages import TRIGGERS, render
from portal.services.messages.overrides import sample_context
from tests.support import factories
from tests.support.customer import Customer, make_customer
from tests.support.pages import csrf_for, text

ROOT = Path(__file__).resolve().parents[2]
OTHER = [code for code in Config.LANGUAGES if code != "en"]
# Words only an English sentence has: a fragment of the English page holding one of them, and
# found again on another language's page, is English left untranslated (names, addresses and
# products hold none of them).
ENGLISH = re.compile(
    r"\b(the|your|you|we|our|this|that|is|are|was|will|with|and|for|from|to|of|can|has|"
    r"have|not|when|here|it|choose|parcel|parcels|delivery|return|pickup)\b"
)


@cache
def english_strings() -> tuple[str, ...]:
    """The fragments of every customer msgid a page could show, placeholders cut out."""
    with (ROOT / "portal/translations/messages.pot").open("rb") as f:
        ids = [m.id for m in read_po(f) if m.id]
    out = set()
    for msgid in ids:
        for one in msgid if isinstance(msgid, tuple) else (msgid,):
            for piece in re.split(r"%\(\w+\)[sd]|<[^>]+>", one):
                piece = " ".join(piece.split()).strip(" .,:;!?()")
                if len(piece.split()) >= 3 and ENGLISH.search(piece):
                    out.add(piece)
    return tuple(sorted(out))


@cache
def same_in(language: str) -> frozenset[str]:
    """Fragments the language writes just as English does (rare: a product name, say)."""
    with (ROOT / f"portal/translations/{language}/LC_MESSAGES/messages.po").open("rb") as f:
        return frozenset(m.id for m in read_po(f) if m.id and m.string == m.id)


def leaks(english_page: str, page: str, language: str) -> list[str]:
    found = [s for s in english_strings() if s in page and s not in same_in(language)]
    # Whole sentences of the English rendering left as they were: strings never marked.
    for sentence in re.split(r"(?<=[.!?:])\s+|\s{2,}", english_page):
        sentence = sentence.strip()
        if len(sentence.split()) >= 4 and ENGLISH.search(sentence) and sentence in page:
            found.append(sentence)
    return sorted(set(found))


@pytest.fixture
def world(db) -> Customer:
    return make_customer()


def pages(client, world: Customer, language: str, read=text) -> dict[str, str]:
    """Every customer page's visible text (or what `read` makes of its HTML), in `language`:
    forms with and without errors, unverified, verified, the return, the complaint, /me and the
    drop-off desk."""
    client.get(f"/lang/{language}")
    tn, delivered = world.on_its_way.tracking_number, world.delivered.tracking_number
    seen: dict[str, str] = {}

    def get(name: str, url: str) -> None:
        seen[name] = read(client.get(url, follow_redirects=True).get_data(as_text=True))

    def post(name: str, url: str, data: dict | None = None) -> None:
        response = client.post(url, data={"csrf_token": csrf_for(client), **(data or {})})
        seen[name] = read(response.get_data(as_text=True))

    get("home", "/")
    get("home-error", "/track?tn=RA123456784GB")
    get("parcel-unverified", f"/t/{tn}")
    get("verify", f"/t/{tn}/verify")
    post("verify-error", f"/t/{tn}/verify", {"postcode": "999 99"})
    get("link-invalid", "/l/not-a-link")
    get("not-found", "/t/RR000000000SE")
    get("co2", "/about/co2")
    get("parcel-verified", f"/l/{world.links['on_its_way']}")
    get("delivery", f"/t/{tn}/delivery")
    post("delivery-error", f"/t/{tn}/delivery", {"choice": "neighbour"})
    get("parcel-delivered", f"/l/{world.links['delivered']}")
    get("return-start", f"/t/{delivered}/return")
    post("return-start-error", f"/t/{delivered}/return")
    get("return", f"/r/{world.ret.rma}")
    get("label-page", f"/r/{world.ret.rma}/label")
    get("label", f"/r/{world.ret.rma}/label.svg?k={label_key(world.ret)}")
    get("complaint", f"/t/{delivered}/complaint")
    post("complaint-error", f"/t/{delivered}/complaint")
    get("parcel-with-case", f"/l/{world.links['second']}")
    get("case", f"/c/{world.case.case_number}")
    get("me", "/me")
    post("me-error", "/me")
    get("dropoff-login", "/dropoff/login")
    return seen


@pytest.fixture
def linked(world: Customer) -> Customer:
    world.links = {
        name: factories.make_link(getattr(world, name))
        for name in ("on_its_way", "delivered", "second")
    }
    return world


def test_every_customer_page_is_wholly_in_each_language(app, linked):
    english = pages(app.test_client(), linked, "en")
    assert english["delivery"].count("Choose") or english["delivery"]  # the pages rendered
    problems = {}
    for language in OTHER:
        for name, page in pages(app.test_client(), linked, language).items():
            if found := leaks(english[name], page, language):
                problems[(language, name)] = found
    assert problems == {}


def test_the_return_label_is_in_the_recipients_language(app, linked):
    client = app.test_client()
    client.get("/l/" + linked.links["delivered"])
    url = f"/r/{linked.ret.rma}/label.svg?k={label_key(linked.ret)}"
    for language, heading, send_to in [
        ("en", "RETURN", "Send to:"),
        ("fi", "PALAUTUS", "Vastaanottaja:"),
        ("da", "RETUR", "Sendes til:"),
    ]:
        client.get(f"/lang/{language}")
        label = client.get(url).get_data(as_text=True)
        assert f">{heading}<" in label and f">{send_to}<" in label


def test_the_pages_say_which_language_they_are_in(client, linked):
    for language in OTHER:
        client.get(f"/lang/{language}")
        html = client.get(f"/t/{linked.on_its_way.tracking_number}").get_data(as_text=True)
        assert f'<html lang="{language}">' in html


def test_the_check_catches_an_english_sentence(linked):
    """The leak check itself: a sentence of the English page found on another page fails."""
    english = "Choose how your parcel arrives. Nordic Outdoor"
    assert leaks(english, "Velg hvordan Choose how your parcel arrives.", "nb")
    assert not leaks(english, "Velg hvordan pakken kommer. Nordic Outdoor", "nb")


@pytest.mark.parametrize("language", OTHER)
def test_every_message_is_wholly_in_each_language(app, db, language):
    merchant = factories.make_merchant("Nordic Outdoor")
    problems = {}
    with app.test_request_context():
        for trigger in TRIGGERS:
            for channel in (Channel.SMS, Channel.EMAIL):
                english = render(
                    trigger, channel, "en", sample_context(merchant, trigger, channel, "en")
                )
                with force_locale(language):
                    context = sample_context(merchant, trigger, channel, language)
                message = render(trigger, channel, language, context)
                for part in ("subject", "body"):
                    if message[part] and (
                        found := leaks(text(english[part] or ""), text(message[part]), language)
                    ):
                        problems[(trigger, channel.value, part)] = found
                if message["body_html"]:
                    assert f'lang="{language}"' in message["body_html"]
    assert problems == {}
