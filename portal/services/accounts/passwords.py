"""Passwords: the rules a new one follows, and changing one's own."""

from __future__ import annotations

import secrets
from datetime import datetime

from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.models import Account
from portal.models.types import utcnow
from portal.services.accounts.login import AccountLocked, check_not_locked, count_failure
from portal.services.accounts.totp import use_code
from portal.services.audit import record
from portal.services.errors import DomainError

MIN_PASSWORD = 12
MAX_PASSWORD = 200


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise DomainError(
            str(_l("The password needs at least %(num)d characters.", num=MIN_PASSWORD)),
            field="password",
        )
    if len(password) > MAX_PASSWORD:
        raise DomainError(
            str(_l("Keep the password to %(num)d characters.", num=MAX_PASSWORD)),
            field="password",
        )


def unguessable_password() -> str:
    """A password nobody knows: a new account's until its owner sets one, a reset one's after."""
    return secrets.token_urlsafe(32)


def _refuse(account: Account, now: datetime, error: DomainError) -> None:
    """A wrong answer on the password page counts like a failed log-in (a session left open
    must not become a way to guess the password); the one that locks the account says so."""
    if count_failure(account, now):
        raise AccountLocked(account.locked_until, now)
    raise error


def change_password(
    account: Account,
    current_password: str,
    new_password: str,
    code: str | None = None,
    *,
    now: datetime | None = None,
) -> None:
    """Staff change their own password: the current one first, and a code from the app when
    two-step log-in is on, so neither a session left open nor a password someone else once
    typed is enough to take the account over. Every session of the account ends (a password
    change is how someone shuts out whoever knew the old one); the caller logs this one in
    again. A locked account raises AccountLocked; the caller commits either way, so wrong
    answers are counted."""
    now = now or utcnow()
    db.session.refresh(account, with_for_update=True)
    check_not_locked(account, now)
    check_password_rules(new_password)
    if account.totp_secret and not (code or "").strip():
        raise DomainError(str(_l("Enter the code from your app.")), field="code")
    if not account.check_password(current_password):
        _refuse(
            account,
            now,
            DomainError(str(_l("That isn't your current password.")), field="current_password"),
        )
    if account.totp_secret:
        result = use_code(account, code or "", now)
        if not result.ok:
            message = (
                _l("That code was used already. Wait for the next one.")
                if result.replayed
                else _l("That code isn't right. Type the newest code your app shows.")
            )
            _refuse(account, now, DomainError(str(message), field="code"))
    set_own_password(account, new_password, via="own form")


def set_own_password(account: Account, password: str, *, via: str) -> None:
    """The account's new password, chosen by its owner: the count of failures starts again,
    any lockout ends (the owner proved themselves), and the change is audited as theirs."""
    account.set_password(password)
    account.failed_logins = 0
    account.locked_until = None
    record(
        account,
        "account.password",
        subject=f"account:{account.id}",
        before=None,
        after={"via": via, "sessions_ended": True},
    )
