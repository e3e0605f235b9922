"""Retention of /me profiles (issue 19): a profile with no parcel and no sign-in for a year gets
one notice, in its language, and is deleted 30 days later unless its owner signs in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Channel, Notification, Recipient, RecipientAddress
from portal.services import retention
from tests.support import factories
from tests.support.me import sign_in

NOW = factories.DELIVERY_NOW
pytestmark = [pytest.mark.clock(NOW), pytest.mark.usefixtures("clock")]
PHONE = "+46709876543"
EMAIL = "sigrid@example.com"


def profile(*addresses: tuple[str, str], seen_days_ago: int = 400, **kw) -> Recipient:
    seen = NOW - timedelta(days=seen_days_ago)
    recipient = Recipient(created_at=seen, last_seen_at=seen, **kw)
    for kind, value in addresses or (("email", EMAIL),):
        recipient.addresses.append(RecipientAddress(kind=kind, value=value, verified_at=seen))
    db.session.add(recipient)
    db.session.commit()
    return recipient


def notices(to: str | None = None) -> list[Notification]:
    query = select(Notification).where(Notification.trigger == retention.PROFILE_NOTICE_TRIGGER)
    if to is not None:
        query = query.where(Notification.recipient == to)
    return list(db.session.scalars(query.order_by(Notification.id)))


def exists(recipient_id: int) -> bool:
    db.session.expire_all()
    return db.session.get(Recipient, recipient_id) is not None


def later(days: int):
    return NOW + timedelta(days=days)


def test_a_profile_with_recent_parcels_is_kept():
    recipient = profile(("phone", PHONE))
    factories.make_parcel(phone=PHONE, email="someone@example.com")  # made now
    db.session.commit()

    report = retention.run(now=later(200))

    assert report.counts["profile_notices"] == 0 and report.counts["profiles_deleted"] == 0
    assert notices() == []
    assert exists(recipient.id) and recipient.inactivity_notice_at is None


def test_a_recently_seen_profile_is_kept():
    recipient = profile(seen_days_ago=100)
    assert retention.run(now=NOW).counts["profile_notices"] == 0
    assert exists(recipient.id) and notices() == []


def test_an_inactive_profile_gets_one_notice_and_goes_30_days_later():
    recipient = profile(("email", EMAIL), ("phone", PHONE))
    rid = recipient.id

    first = retention.run(now=NOW)
    second = retention.run(now=later(1))  # running again sends nothing more

    assert first.counts["profile_notices"] == 1 and second.counts["profile_notices"] == 0
    sent = notices()
    assert [(n.channel, n.recipient) for n in sent] == [(Channel.EMAIL, EMAIL)]  # e-mail first
    assert n_parcel_free(sent) and sent[0].language == "en"
    assert "/me" in sent[0].body and "sign in" in sent[0].body
    assert sent[0].subject == "Your Lastmile profile will be deleted"
    db.session.refresh(recipient)
    assert recipient.inactivity_notice_at == NOW

    assert retention.run(now=later(29)).counts["profiles_deleted"] == 0
    assert exists(rid)

    report = retention.run(now=later(30))
    assert report.counts["profiles_deleted"] == 1
    assert not exists(rid)
    assert not db.session.scalar(
        select(func.count()).where(RecipientAddress.value.in_([EMAIL, PHONE]))
    )
    # The notice keeps neither the address nor its text once the profile is gone.
    db.session.expire_all()
    (gone,) = notices()
    assert (gone.recipient, gone.body, gone.subject) == (retention.MARKER, "", None)


def n_parcel_free(rows: list[Notification]) -> bool:
    return all(n.parcel_id is None for n in rows)


def test_a_profile_with_only_a_phone_gets_an_sms():
    profile(("phone", PHONE))
    retention.run(now=NOW)
    (sms,) = notices()
    assert (sms.channel, sms.recipient, sms.subject) == (Channel.SMS, PHONE, None)
    assert sms.body.startswith("Lastmile: your profile has had no parcels for 12 months")


def test_signing_in_after_the_notice_keeps_the_profile(client, clock):
    recipient = profile(("phone", PHONE))
    rid = recipient.id
    retention.run(now=NOW)
    assert len(notices()) == 1

    clock.shift(timedelta(days=3))
    sign_in(client, PHONE)
    db.session.expire_all()
    assert db.session.get(Recipient, rid).inactivity_notice_at is None

    report = retention.run(now=later(31))
    assert report.counts["profiles_deleted"] == 0 and report.counts["profile_notices"] == 0
    assert exists(rid) and len(notices()) == 1


def test_a_visit_after_the_notice_keeps_the_profile_even_if_the_notice_stayed():
    recipient = profile()
    retention.run(now=NOW)
    recipient.last_seen_at = later(2)
    db.session.commit()

    assert retention.run(now=later(31)).counts["profiles_deleted"] == 0
    assert exists(recipient.id) and recipient.inactivity_notice_at is None


def test_a_parcel_after_the_notice_keeps_the_profile():
    recipient = profile(("phone", PHONE))
    retention.run(now=NOW)
    factories.make_parcel(phone=PHONE)
    db.session.commit()

    assert retention.run(now=later(31)).counts["profiles_deleted"] == 0
    assert exists(recipient.id) and recipient.inactivity_notice_at is None


def test_dry_run_counts_and_writes_nothing():
    due = profile(("email", "due@example.com"))
    noticed = profile()
    noticed.inactivity_notice_at = NOW - timedelta(days=31)
    db.session.commit()

    report = retention.run(now=NOW, dry_run=True)

    assert report.counts["profile_notices"] == 1 and report.counts["profiles_deleted"] == 1
    assert notices() == []
    db.session.expire_all()
    assert db.session.get(Recipient, due.id).inactivity_notice_at is None
    assert db.session.get(Recipient, noticed.id) is not None


def test_the_notice_is_in_the_profiles_language():
    profile(("email", "sv@example.com"), language="sv")
    profile(("email", "en@example.com"))
    retention.run(now=NOW)

    (swedish,) = notices("sv@example.com")
    (english,) = notices("en@example.com")
    deleted_on = later(30)  # Saturday 26 December 2026
    assert deleted_on.strftime("%A") == "Saturday"
    assert swedish.language == "sv" and "lördag 26 december" in swedish.body
    assert english.language == "en" and "Saturday 26 December" in english.body


def test_the_command_prints_both_counts(app):
    profile()
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["retention", "run", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "profile_notices: " in dry.output and "profiles_deleted: " in dry.output
    assert EMAIL not in dry.output
