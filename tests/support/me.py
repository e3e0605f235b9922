"""Signing in at /me in a test as a recipient does: ask for a code, read it from the outbox
(where the real message waits for the sender), type it."""

from __future__ import annotations

import re

from sqlalchemy import select

from portal.extensions import db
from portal.models import Notification, Recipient, RecipientAddress
from tests.support.pages import csrf_for

PHONE = "+46701234567"


def ask_code(client, address: str):
    return client.post("/me", data={"address": address, "csrf_token": csrf_for(client)})


def sent_code(to: str) -> str:
    """The newest code sent to `to` (E.164 phone or lower-case e-mail address)."""
    body = (
        db.session.execute(
            select(Notification.body)
            .where(Notification.trigger == "sign_in_code", Notification.recipient == to)
            .order_by(Notification.id.desc())
        )
        .scalars()
        .first()
    )
    assert body is not None, f"no code sent to {to}"
    return re.search(r"\b(\d{6})\b", body).group(1)


def enter(client, code: str, remember: bool = False):
    data = {"code": code, "csrf_token": csrf_for(client)}
    if remember:
        data["remember"] = "y"
    return client.post("/me/code", data=data)


def sign_in(client, address: str = PHONE, to: str | None = None, remember: bool = False):
    """Signed in at /me as the owner of `address`; the answer to the code (a 303 to /me)."""
    assert ask_code(client, address).status_code == 303
    res = enter(client, sent_code(to or address), remember)
    assert res.status_code == 303 and res.headers["Location"] == "/me", res.get_data(as_text=True)
    return res


def recipient(address: str = PHONE) -> Recipient:
    return db.session.execute(
        select(Recipient).join(RecipientAddress).where(RecipientAddress.value == address)
    ).scalar_one()
