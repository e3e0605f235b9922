"""Outbox dedupe keys always fit their column (varchar(200)) and still tell messages apart:
fitted once, where notify() builds a recipient's key, before it looks the key up."""

from __future__ import annotations

from portal.models import Channel
from portal.services.messages import DEDUPE_KEY_MAX, notify
from tests.support import factories


def test_a_long_suffix_is_fitted_and_the_same_news_is_still_sent_once(db):
    parcel = factories.make_parcel()
    # A fall-back e-mail's suffix comes from its SMS's key, which resends have grown.
    suffix = "@2026-11-26:sms" + ":resend:0123456789ab" * 12

    [made] = notify(parcel, "delayed", channels=(Channel.EMAIL,), dedupe_suffix=suffix)
    again = notify(parcel, "delayed", channels=(Channel.EMAIL,), dedupe_suffix=suffix)
    other = notify(parcel, "delayed", channels=(Channel.EMAIL,), dedupe_suffix=suffix + "x")

    assert len(made.dedupe_key) <= DEDUPE_KEY_MAX
    assert made.dedupe_key.startswith(f"{parcel.id}:delayed@2026-11-26:sms:resend:")
    assert again == []  # the same key, fitted the same way: already queued
    assert len(other) == 1 and other[0].dedupe_key != made.dedupe_key
