"""Logging in: the password checked as long for unknown and locked addresses as for known
ones, attempts on one address taking turns, and the lockout after repeated failures."""

from __future__ import annotations

import functools
import hashlib
import math
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Account
from portal.models.types import utcnow
from portal.services.errors import DomainError


class AccountLocked(DomainError):
    """Too many failed log-ins in a row: refused until `until`, whatever the password."""

    code = "locked"
    kind = "conflict"

    def __init__(self, until: datetime, now: datetime):
        self.until = until
        # Rounded up: "1 minute" while any of it is left, never "0 minutes".
        self.minutes = max(1, math.ceil((until - now).total_seconds() / 60))
        super().__init__(f"The account is locked for {self.minutes} more minutes.")


@functools.cache
def _stand_in_for(method: str) -> str:
    stand_in = Account()
    stand_in.set_password("not a password of anyone's")
    return stand_in.password_hash


def stand_in_hash() -> str:
    """A hash of a password nobody has, checked against when the e-mail is unknown or the
    account locked, so those answers take as long as a wrong password's and the answer time
    tells nobody which accounts exist. Made by the model's own set_password (once per hash
    method), so it has the method and cost a real account's hash has, whatever those become."""
    return _stand_in_for(current_app.config["PASSWORD_HASH_METHOD"])


def _take_turns(email: str) -> None:
    """Log-in attempts for one address take turns, until the caller commits, whether or not an
    account has the address. Attempts on a known account wait for each other on its row lock
    (see find_account); without this, attempts on an unknown address never waited, and two sent
    at once answered faster for addresses without an account (issue 15). PostgreSQL only:
    SQLite takes no row locks either, so there both answer alike already."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    # A transaction-level advisory lock keyed on the address as stored; 64 bits of its
    # SHA-256, as the lock takes a bigint (a collision only makes two addresses take turns).
    digest = hashlib.sha256(f"lastmile.login:{email}".encode()).digest()
    db.session.execute(
        select(func.pg_advisory_xact_lock(int.from_bytes(digest[:8], "big", signed=True)))
    )


def find_account(email: str, *, lock: bool = False) -> Account | None:
    query = select(Account).where(Account.email == email.strip().lower())
    if lock:
        # Log-in attempts on one account take turns (PostgreSQL; SQLite serialises writers
        # anyway), so parallel guesses can't all slip in before the failure count locks it.
        # populate_existing: the row as locked, not as this request loaded it earlier.
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.session.execute(query).scalar_one_or_none()


def is_locked(account: Account, now: datetime | None = None) -> bool:
    return account.locked_until is not None and account.locked_until > (now or utcnow())


def check_not_locked(account: Account, now: datetime) -> None:
    if is_locked(account, now):
        raise AccountLocked(account.locked_until, now)


def count_failure(account: Account, now: datetime) -> bool:
    """One more failure in a row; at LOGIN_LOCK_AFTER the account locks (True: this one locked
    it). The count starts again after a lock, so each lock costs another full set of tries."""
    account.failed_logins = (account.failed_logins or 0) + 1
    if account.failed_logins >= current_app.config["LOGIN_LOCK_AFTER"]:
        account.failed_logins = 0
        account.locked_until = now + timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])
        return True
    return False


def authenticate(email: str, password: str, *, now: datetime | None = None) -> Account | None:
    """The active account with this e-mail and password, else None, and nothing more: an unknown
    address, a wrong password and a locked account look the same to the caller, so the log-in
    page can't tell anyone which addresses have accounts (issue 15: only known ones ever said
    "locked"). Each of the three checks one password hash, and attempts on one address take
    turns whether it is known or not, so neither can the answer's time.

    A wrong password counts towards the lockout; a locked account is refused even with the
    right password (which is not checked, so its answer says nothing about the password). The
    caller commits either way, so failures are kept. A right password is only the first step
    for an account with TOTP: `complete_login` comes after its code.
    """
    now = now or utcnow()
    _take_turns(email.strip().lower())
    account = find_account(email, lock=True)
    if account is None or is_locked(account, now):
        Account(password_hash=stand_in_hash()).check_password(password)
        return None
    if account.check_password(password) and account.active:
        return account
    count_failure(account, now)
    return None


def complete_login(account: Account, *, now: datetime | None = None) -> None:
    """Every step passed: the failure count starts again and the log-in is noted."""
    account.failed_logins = 0
    account.locked_until = None
    account.last_login_at = now or utcnow()


def log_out(account: Account) -> None:
    """Logging out ends every session of the account, not only this browser's: a copy of the
    session cookie (a shared counter computer, a borrowed laptop) must not outlive it."""
    account.end_sessions()
