"""Set-password links: signed, single-use (the link dies once the password changes), mailed
through the outbox, and removed from the stored message once sent."""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid

from flask import current_app, render_template
from flask_babel import get_locale
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import event

from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.models import Account, Channel, Notification, NotificationState
from portal.services.accounts.passwords import check_password_rules, set_own_password
from portal.services.errors import NotFound
from portal.services.messages import enqueue


class PasswordLinkInvalid(NotFound):
    """A set-password link that is forged, used already, replaced by a newer one, too old, or
    for an account deactivated since: one answer for all, as the way on is the same (a new one)."""

    code = "password_link_invalid"


# Where a set-password link leads (the route is portal.accounts.views.set_password; the request
# log redacts what follows, see portal/logs.py).
SET_PASSWORD_PATH = "/set-password/"  # noqa: S105 (a URL path, not a password)
PASSWORD_LINK_TRIGGER = "staff_password_link"  # noqa: S105 (a message kind, not a password)
# What the outbox keeps instead of a set-password link once the e-mail has gone.
LINK_REMOVED = "[link removed once sent]"
_PASSWORD_LINK = re.compile(r"\S*" + re.escape(SET_PASSWORD_PATH) + r"\S*")


def _link_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="lastmile.staff.set-password")


def _fingerprint(account: Account) -> str:
    """What ties a link to the password it replaces: once the password changes (set through the
    link, or scrambled again by a newer reset) the link is void, with nothing stored. A digest
    of the hash, never the hash: the token is signed, not encrypted."""
    return hashlib.sha256(account.password_hash.encode()).hexdigest()[:24]


def password_link_token(account: Account) -> str:
    return _link_signer().dumps([account.id, _fingerprint(account)])


def _invalid_link() -> PasswordLinkInvalid:
    return PasswordLinkInvalid(
        str(
            _l(
                "This link doesn't work: it was used already, a newer link replaced it, or it "
                "is more than %(hours)d hours old. If you still need to set your password, ask "
                "a supervisor for a new one.",
                hours=current_app.config["STAFF_PASSWORD_LINK_HOURS"],
            )
        )
    )


def account_for_password_link(token: str, *, lock: bool = False) -> Account:
    """The account a set-password link is for, while it still works; else PasswordLinkInvalid.
    `lock`: the row is held, so two uses of one link at once can't both succeed."""
    if not token or len(token) > 200:
        raise _invalid_link()
    max_age = current_app.config["STAFF_PASSWORD_LINK_HOURS"] * 3600
    try:
        ident, fingerprint = _link_signer().loads(token, max_age=max_age)
    except (BadSignature, TypeError, ValueError) as exc:  # expired, forged, or not ours
        raise _invalid_link() from exc
    if not isinstance(ident, int) or not isinstance(fingerprint, str):
        raise _invalid_link()
    account = db.session.get(Account, ident, with_for_update=lock or None, populate_existing=lock)
    if (
        account is None
        or not account.active
        or not hmac.compare_digest(fingerprint, _fingerprint(account))
    ):
        raise _invalid_link()
    return account


def set_password_with_link(token: str, password: str) -> Account:
    """The owner of a set-password link chooses their password; the link is used up (the
    password it was tied to is gone), every session ends and the lockout is lifted. Two-step
    log-in stays as it is: the next log-in still asks for the code."""
    account = account_for_password_link(token, lock=True)
    check_password_rules(password)
    set_own_password(account, password, via="set-password link")
    return account


def mail_password_link(account: Account, *, new: bool) -> Notification:
    """The link goes to the account's own address and nowhere else: through the outbox (sent
    after commit and retried like every message), never shown on a page, so the supervisor who
    asked for it can't use it."""
    # The outbox imports services to write parcels' messages; imported here, as console.py does.
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    link = f"{base}{SET_PASSWORD_PATH}{password_link_token(account)}"
    subject = (
        _l("Set your password for Lastmile")
        if new
        else _l("Your Lastmile password was reset: set a new one")
    )
    row = Notification(
        channel=Channel.EMAIL,
        trigger=PASSWORD_LINK_TRIGGER,
        language=str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"]),
        time_zone=None,
        recipient=account.email,
        subject=str(subject),
        body=render_template(
            "accounts/email/set_password.txt",
            account=account,
            link=link,
            new=new,
            hours=current_app.config["STAFF_PASSWORD_LINK_HOURS"],
        ),
        state=NotificationState.QUEUED,
        dedupe_key=f"account:{account.id}:password-link:{uuid.uuid4().hex}",
    )
    made = enqueue(row)
    assert made is not None  # the key is fresh
    return row


@event.listens_for(Notification.state, "set")
def _forget_password_link(
    row: Notification, state: NotificationState, _old: object, _initiator: object
) -> None:
    """A set-password e-mail is kept in the outbox without its link once it has gone, or will
    never go (failed): the link opens the account until it is used, and the outbox is read by
    more than the one person it was for (whoever reads the database, or the development outbox).
    While the row is queued, a retry included, the sender still needs it. The state changes
    on the row the sender holds, so the text without the link is written in the same commit.
    Without SMTP (`make run`) nothing leaves: the development outbox is the only copy, so the
    link stays there to be used."""
    if (
        row.trigger == PASSWORD_LINK_TRIGGER
        and state != NotificationState.QUEUED
        and row.body
        and current_app.config.get("SMTP_HOST")
    ):
        row.body = _PASSWORD_LINK.sub(LINK_REMOVED, row.body)
