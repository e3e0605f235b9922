"""Issue 19: /me, signing in with a one-time code and seeing every parcel addressed to me.

The codes go through the outbox like every message; these tests read them from there."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Notification, ParcelStatus, Recipient, SignInCode
from tests.support import factories
from tests.support.me import PHONE, ask_code, enter, sent_code, sign_in
from tests.support.pages import csrf_for, text
from tests.support.queries import count_queries

S = ParcelStatus


def test_a_code_signs_in_and_shows_every_parcel_addressed_to_me(clock, client):
    mine = factories.make_parcel(statuses=[S.PICKED_UP])
    other_shop = factories.make_parcel(merchant=factories.make_merchant(), phone=PHONE)
    delivered = factories.make_parcel(statuses=[S.PICKED_UP, S.DELIVERED])
    long_ago = factories.make_parcel(
        statuses=[S.DELIVERED], start=factories.DELIVERY_NOW - timedelta(days=100)
    )
    someone_else = factories.make_parcel(phone="+46709999999", email="else@example.com")

    assert "Phone number or e-mail address" in client.get("/me").get_data(as_text=True)
    res = ask_code(client, "070-123 45 67")  # any way the rest of the product reads a number
    assert res.status_code == 303 and res.headers["Location"] == "/me/code"
    page = text(client.get("/me/code").get_data(as_text=True))
    assert "ending …4567" in page
    sign_in_res = enter(client, sent_code(PHONE))
    assert sign_in_res.headers["Location"] == "/me"

    page = text(client.get("/me").get_data(as_text=True))
    numbers = re.findall(r"[A-Z]{2}\d{9}[A-Z]{2}", page)
    # On the way first (newest first), then delivered; nothing older than 90 days, nobody else's.
    assert numbers[:3] == [
        other_shop.tracking_number,
        mine.tracking_number,
        delivered.tracking_number,
    ]
    assert long_ago.tracking_number not in numbers and someone_else.tracking_number not in numbers
    assert "Expected" in page

    # The parcel's page opens verified from here: the address shows, no postcode asked.
    html = client.get(f"/t/{mine.tracking_number}").get_data(as_text=True)
    assert "Surbrunnsgatan 14" in html


def test_an_email_address_signs_in_too(clock, client):
    parcel = factories.make_parcel(phone=None, email="Alva@Example.com")
    sign_in(client, "ALVA@example.com", to="alva@example.com")
    assert parcel.tracking_number in client.get("/me").get_data(as_text=True)


def test_the_answer_is_the_same_for_an_address_nobody_sent_a_parcel_to(clock, client, app):
    factories.make_parcel()
    known = ask_code(client, PHONE)
    known_page = client.get("/me/code").get_data(as_text=True)
    stranger = app.test_client()
    unknown = ask_code(stranger, "+46709876543")
    unknown_page = stranger.get("/me/code").get_data(as_text=True)
    assert (known.status_code, known.headers["Location"]) == (
        unknown.status_code,
        unknown.headers["Location"],
    )
    assert text(known_page).replace("4567", "6543") == text(unknown_page)
    # And both get a code: an address with no parcels signs in to an empty page.
    enter(stranger, sent_code("+46709876543"))
    assert "No parcels on their way to you" in stranger.get("/me").get_data(as_text=True)


def test_a_wrong_code_counts_and_five_end_it(clock, client):
    ask_code(client, PHONE)
    right = sent_code(PHONE)
    wrong = "000000" if right != "000000" else "111111"
    res = enter(client, wrong)
    assert res.status_code == 422
    assert "4 more tries" in text(res.get_data(as_text=True))
    for _ in range(4):
        enter(client, wrong)
    res = enter(client, right)
    assert res.status_code == 422 and "Too many wrong codes" in res.get_data(as_text=True)
    assert "Sign out" not in client.get("/me").get_data(as_text=True)


def test_a_code_expires_after_ten_minutes_and_works_once(clock, client, app):
    ask_code(client, PHONE)
    code = sent_code(PHONE)
    clock.shift(timedelta(minutes=11))
    assert "expired" in enter(client, code).get_data(as_text=True)

    ask_code(client, PHONE)
    code = sent_code(PHONE)
    assert enter(client, code).status_code == 303
    other = app.test_client()
    ask_code(other, PHONE)  # another browser, the same address, the old code
    with other.session_transaction() as session:
        session["me_pending"] = ["phone", PHONE, 0]
    assert enter(other, code).status_code == 422  # used (and replaced by the newer one)


def test_only_the_newest_code_works(clock, client):
    ask_code(client, PHONE)
    first = sent_code(PHONE)
    ask_code(client, PHONE)
    second = sent_code(PHONE)
    if first != second:
        assert enter(client, first).status_code == 422
    assert enter(client, second).status_code == 303


def test_codes_are_stored_hashed_and_their_messages_forget_them_once_sent(clock, client, app):
    ask_code(client, PHONE)
    code = sent_code(PHONE)
    row = db.session.execute(select(SignInCode)).scalar_one()
    assert code not in row.code_hash and len(row.code_hash) == 64


def test_signing_in_starts_a_fresh_session(clock, client):
    parcel = factories.make_parcel(phone="+46709999999", email="else@example.com")
    with client.session_transaction() as session:
        session["verified"] = [parcel.id]  # planted before signing in
        session["lang"] = "sv"
    sign_in(client)
    with client.session_transaction() as session:
        assert "verified" not in session and session["lang"] == "sv"
    assert "Storgatan" not in client.get(f"/t/{parcel.tracking_number}").get_data(as_text=True)


def test_signing_out_ends_the_session(clock, client):
    parcel = factories.make_parcel(statuses=[S.PICKED_UP])
    sign_in(client)
    client.get("/me")
    res = client.post("/me/sign-out", data={"csrf_token": csrf_for(client)})
    assert res.status_code == 303
    assert "Send me a code" in client.get("/me").get_data(as_text=True)
    assert "Surbrunnsgatan" not in client.get(f"/t/{parcel.tracking_number}").get_data(as_text=True)


def test_a_remembered_device_keeps_the_session_for_30_days_idle_and_no_longer(clock, client):
    res = sign_in(client, remember=True)
    assert "Expires=" in res.headers["Set-Cookie"]
    clock.shift(timedelta(days=29))
    assert "Sign out" in client.get("/me").get_data(as_text=True)  # and this visit renews it
    clock.shift(timedelta(days=29))
    assert "Sign out" in client.get("/me").get_data(as_text=True)
    clock.shift(timedelta(days=31))
    assert "Send me a code" in client.get("/me").get_data(as_text=True)


def test_without_remembering_the_cookie_ends_with_the_browser(clock, client):
    res = sign_in(client)
    assert "Expires=" not in res.headers["Set-Cookie"]


def test_a_profile_signed_out_everywhere_ends_every_session(clock, client):
    sign_in(client)
    recipient = db.session.execute(select(Recipient)).scalar_one()
    recipient.session_epoch += 1
    db.session.commit()
    assert "Send me a code" in client.get("/me").get_data(as_text=True)


def test_codes_are_limited_per_address_and_the_answer_does_not_change(clock, client):
    for _ in range(4):
        assert ask_code(client, PHONE).status_code == 303
    sent = (
        db.session.execute(select(Notification).where(Notification.trigger == "sign_in_code"))
        .scalars()
        .all()
    )
    assert len(sent) == 3  # RATELIMIT_ME_CODES_PER_ADDRESS: 3 per 15 minutes


def test_bad_addresses_are_refused_in_place(clock, client):
    res = ask_code(client, "not an address")
    assert res.status_code == 422
    assert "not a phone number or an e-mail address" in text(res.get_data(as_text=True))
    res = ask_code(client, "")
    assert res.status_code == 422


@pytest.mark.parametrize("language", ["sv"])
def test_me_in_swedish(clock, client, language):
    with client.session_transaction() as session:
        session["lang"] = language
    page = text(client.get("/me").get_data(as_text=True))
    assert "Mina leveranser" in page


def test_a_second_address_proved_by_its_own_code_joins_the_profile(clock, client, app):
    by_phone = factories.make_parcel(email=None)
    by_email = factories.make_parcel(phone=None, email="alva@work.example")
    sign_in(client)
    assert by_email.tracking_number not in client.get("/me").get_data(as_text=True)
    res = client.post(
        "/me/addresses", data={"add-address": "alva@work.example", "csrf_token": csrf_for(client)}
    )
    assert res.status_code == 303 and res.headers["Location"] == "/me/code"
    assert enter(client, sent_code("alva@work.example")).status_code == 303
    page = client.get("/me").get_data(as_text=True)
    assert by_phone.tracking_number in page and by_email.tracking_number in page
    # Either address signs in to the same recipient.
    other = app.test_client()
    sign_in(other, "alva@work.example")
    page = other.get("/me").get_data(as_text=True)
    assert by_phone.tracking_number in page and by_email.tracking_number in page
    assert len(db.session.execute(select(Recipient)).scalars().all()) == 1


def test_a_wrong_code_for_a_second_address_adds_nothing(clock, client):
    sign_in(client)
    client.post(
        "/me/addresses", data={"add-address": "x@example.com", "csrf_token": csrf_for(client)}
    )
    code = sent_code("x@example.com")
    assert enter(client, "000000" if code != "000000" else "111111").status_code == 422
    assert "x@example.com" not in client.get("/me").get_data(as_text=True)


def test_the_signed_link_of_a_message_signs_in_at_me_for_its_address(clock, client):
    parcel = factories.make_parcel()  # its parcel_created SMS and e-mail, each with a link
    sms = db.session.execute(
        select(Notification).where(
            Notification.parcel_id == parcel.id, Notification.channel == "sms"
        )
    ).scalar_one()
    mail = db.session.execute(
        select(Notification).where(
            Notification.parcel_id == parcel.id, Notification.channel == "email"
        )
    ).scalar_one()
    sms_link = re.search(r"/l/(\S+)", sms.body).group(0)
    assert sms_link not in mail.body  # one link per address: each proves its own
    client.get(sms_link)
    page = text(client.get("/me").get_data(as_text=True))
    assert "Continue as …4567" in page
    res = client.post("/me/continue", data={"csrf_token": csrf_for(client)})
    assert res.status_code == 303
    page = client.get("/me").get_data(as_text=True)
    assert parcel.tracking_number in page and "Sign out" in page
    assert "alva@example.com" not in page  # the e-mail address was not proved by this link


def test_asking_for_a_code_does_the_same_work_for_known_and_unknown_addresses(clock, app):
    """Timing that could tell who has parcels here would come from different work: the same
    statements, in the same order, for an address with parcels and a profile and for one
    nobody ever sent anything to."""
    factories.make_parcel()
    first = app.test_client()
    sign_in(first)  # a profile, a code already used, parcels: all that could be looked up
    db.session.rollback()
    seen = []
    for address in (PHONE, "+46709876543"):
        browser = app.test_client()
        token = csrf_for(browser)
        db.session.rollback()
        with count_queries(db.engine) as queries:
            res = browser.post("/me", data={"address": address, "csrf_token": token})
        assert res.status_code == 303
        seen.append([re.sub(r"\d+", "N", " ".join(sql.split())) for sql in queries.sql])
    assert seen[0] == seen[1]


def test_a_code_asked_for_to_add_someones_number_never_signs_them_in(clock, client, app):
    """The attack: signed in as A, ask to add the victim's number; the victim, meanwhile
    signing in, types the code that arrives. It must neither sign the victim in to A nor move
    the victim's profile into A, and it must not cancel the victim's own sign-in code."""
    victims_parcel = factories.make_parcel(phone="+46709999999", email="victim@example.com")
    victim = app.test_client()
    sign_in(victim, "+46709999999")  # the victim has a profile
    victim.post("/me/sign-out", data={"csrf_token": csrf_for(victim)})
    ask_code(victim, "+46709999999")
    victims_code = sent_code("+46709999999")

    sign_in(client)  # the attacker, A
    client.post(
        "/me/addresses", data={"add-address": "+46709999999", "csrf_token": csrf_for(client)}
    )
    adding_code = sent_code("+46709999999")
    add_message = db.session.execute(
        select(Notification.body).order_by(Notification.id.desc()).limit(1)
    ).scalar_one()
    assert "adds this address to someone's Lastmile profile" in add_message

    if adding_code != victims_code:
        assert enter(victim, adding_code).status_code == 422  # not a sign-in code
    assert enter(victim, victims_code).status_code == 303  # theirs still works
    page = victim.get("/me").get_data(as_text=True)
    assert victims_parcel.tracking_number in page and "+46701234567" not in page
    assert len(db.session.execute(select(Recipient)).scalars().all()) == 2


def test_a_message_link_signs_in_only_for_a_while_and_not_for_everything(clock, client):
    parcel = factories.make_parcel()
    sms = db.session.execute(
        select(Notification).where(
            Notification.parcel_id == parcel.id, Notification.channel == "sms"
        )
    ).scalar_one()
    link = re.search(r"/l/(\S+)", sms.body).group(0)
    client.get(link)
    clock.shift(timedelta(minutes=16))
    assert "Continue as" not in client.get("/me").get_data(as_text=True)  # too long ago
    client.get(link)
    client.post("/me/continue", data={"csrf_token": csrf_for(client)})
    page = text(client.get("/me").get_data(as_text=True))
    assert parcel.tracking_number in page
    assert "sign out and sign in with a code" in page  # adding, export and delete need a code
    assert client.get("/me/data.json").status_code == 303
    res = client.post(
        "/me/preferences",
        data={"delivery": "none", "notify_sms": "y", "csrf_token": csrf_for(client)},
    )
    assert res.status_code == 303 and res.headers["Location"] == "/me"
    res = client.post(
        "/me/addresses", data={"add-address": "mine@example.com", "csrf_token": csrf_for(client)}
    )
    assert res.status_code == 303 and res.headers["Location"] == "/me"
    sent = db.session.execute(
        select(Notification).where(Notification.recipient == "mine@example.com")
    ).first()
    assert sent is None


def test_a_deleted_profile_is_not_made_again_by_an_old_message_link(clock, client, app):
    parcel = factories.make_parcel()
    sign_in(client)
    res = client.post("/me/delete", data={"understand": "y", "csrf_token": csrf_for(client)})
    assert res.status_code == 303
    sms = db.session.execute(
        select(Notification).where(
            Notification.parcel_id == parcel.id, Notification.channel == "sms"
        )
    ).scalar_one()
    other = app.test_client()
    other.get(re.search(r"/l/(\S+)", sms.body).group(0))  # still opens the parcel …
    assert "Continue as" not in other.get("/me").get_data(as_text=True)  # … not the profile
    assert db.session.execute(select(Recipient)).first() is None


def test_too_many_wrong_codes_in_a_day_lock_the_address_whatever_the_ip(
    clock, client, app, monkeypatch
):
    # The per-IP and per-address limits aside (as from many addresses, over many windows).
    monkeypatch.setitem(app.config, "RATELIMIT_ENABLED", False)
    for _ in range(3):
        ask_code(client, PHONE)
        for _ in range(5):
            enter(client, "000000")
    ask_code(client, PHONE)
    code = sent_code(PHONE)
    res = enter(client, code)
    assert res.status_code == 422
    assert "Too many wrong codes for this address today" in text(res.get_data(as_text=True))
    clock.shift(timedelta(days=1, minutes=1))
    ask_code(client, PHONE)
    assert enter(client, sent_code(PHONE)).status_code == 303


def test_retention_forgets_sign_in_codes_and_their_addresses_after_a_day(clock, client, app):
    ask_code(client, "+46709876543")
    clock.shift(timedelta(days=1, hours=1))
    result = app.test_cli_runner().invoke(args=["retention", "run"])
    assert result.exit_code == 0, result.output
    assert "sign_in_codes: 2" in result.output  # the code and its message
    assert db.session.execute(select(SignInCode)).first() is None
    message = db.session.execute(
        select(Notification).where(Notification.trigger == "sign_in_code")
    ).scalar_one()
    assert (message.recipient, message.body) == ("[removed]", "")


def test_an_address_given_up_can_be_removed_but_not_the_last_one(clock, client):
    by_email = factories.make_parcel(phone=None, email="old@example.com")
    sign_in(client)
    client.post(
        "/me/addresses", data={"add-address": "old@example.com", "csrf_token": csrf_for(client)}
    )
    enter(client, sent_code("old@example.com"))
    assert by_email.tracking_number in client.get("/me").get_data(as_text=True)
    recipient = db.session.execute(select(Recipient)).scalar_one()
    old = next(a for a in recipient.addresses if a.value == "old@example.com")
    res = client.post(f"/me/addresses/{old.id}/remove", data={"csrf_token": csrf_for(client)})
    assert res.status_code == 303
    page = client.get("/me").get_data(as_text=True)
    assert "Removed." in page and by_email.tracking_number not in page
    last = db.session.execute(select(Recipient)).scalar_one().addresses[0]
    client.post(f"/me/addresses/{last.id}/remove", data={"csrf_token": csrf_for(client)})
    page = text(client.get("/me").get_data(as_text=True))
    assert "This is your only address: delete the profile instead." in page


def test_signing_out_everywhere_ends_the_other_devices_sessions(clock, client, app):
    phone = app.test_client()
    sign_in(phone)
    sign_in(client)
    res = client.post("/me/sign-out-everywhere", data={"csrf_token": csrf_for(client)})
    assert res.status_code == 303
    assert "Send me a code" in phone.get("/me").get_data(as_text=True)
    assert "Send me a code" in client.get("/me").get_data(as_text=True)
    sign_in(phone)  # and a new sign-in works as before
    assert "Sign out" in phone.get("/me").get_data(as_text=True)


def test_a_message_link_shows_only_the_parcels_of_the_address_it_went_to(clock, client, app):
    by_email = factories.make_parcel(phone=None, email="alva@work.example")
    by_phone = factories.make_parcel(email=None)
    owner = app.test_client()
    sign_in(owner)
    owner.post(
        "/me/addresses", data={"add-address": "alva@work.example", "csrf_token": csrf_for(owner)}
    )
    enter(owner, sent_code("alva@work.example"))
    mail = db.session.execute(
        select(Notification).where(
            Notification.parcel_id == by_email.id, Notification.channel == "email"
        )
    ).scalar_one()
    client.get(re.search(r"/l/([A-Za-z0-9_-]+)", mail.body).group(0))
    client.post("/me/continue", data={"csrf_token": csrf_for(client)})
    page = client.get("/me").get_data(as_text=True)
    assert by_email.tracking_number in page and by_phone.tracking_number not in page


def test_odd_digits_in_the_preferences_form_are_refused_not_a_crash(clock, client):
    sign_in(client)
    for field in ("pickup_point", "quiet_start"):
        data = {"delivery": "pickup_point", "notify_sms": "y", field: "²"}
        res = client.post("/me/preferences", data=data | {"csrf_token": csrf_for(client)})
        assert res.status_code == 422, field
