"""Log-in accounts (drop-off desks, agents, supervisors): passwords, the lockout after repeated
failures, the TOTP second factor, and what supervisors do to other accounts."""

from __future__ import annotations

import hmac
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from flask import current_app
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from portal.extensions import db
from portal.models import Account, Role
from portal.models.types import utcnow
from portal.services.audit import record
from portal.services.errors import Conflict, DomainError

MIN_PASSWORD = 12
MAX_PASSWORD = 200
TOTP_ISSUER = "Lastmile"
# Codes one step either side of now are accepted: phones' clocks drift and people type slowly.
TOTP_WINDOW = 1
# Checked against when the e-mail is unknown, so a wrong address takes as long as a wrong
# password and the answer time tells nobody which accounts exist.
_DUMMY_HASH = generate_password_hash("not a password of anyone's")
WRONG_CODE = "That code isn't right. Type the 6 digits your app shows now."


class AccountLocked(DomainError):
    """Too many failed log-ins in a row: refused until `until`, whatever the password."""

    code = "locked"
    kind = "conflict"

    def __init__(self, until: datetime, now: datetime):
        self.until = until
        # Rounded up: "1 minute" while any of it is left, never "0 minutes".
        self.minutes = max(1, math.ceil((until - now).total_seconds() / 60))
        super().__init__(f"The account is locked for {self.minutes} more minutes.")


@dataclass(frozen=True)
class CodeCheck:
    """The answer to a TOTP code: right, or wrong with why (`replayed`: it was used already)."""

    ok: bool
    replayed: bool = False


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


def _check_not_locked(account: Account, now: datetime) -> None:
    if is_locked(account, now):
        raise AccountLocked(account.locked_until, now)


def _count_failure(account: Account, now: datetime) -> None:
    """One more failure in a row; at LOGIN_LOCK_AFTER the account locks (raises AccountLocked).
    The count starts again after a lock, so each lock costs another full set of tries."""
    account.failed_logins = (account.failed_logins or 0) + 1
    if account.failed_logins >= current_app.config["LOGIN_LOCK_AFTER"]:
        account.failed_logins = 0
        account.locked_until = now + timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])
        raise AccountLocked(account.locked_until, now)


def authenticate(email: str, password: str, *, now: datetime | None = None) -> Account | None:
    """The active account with this e-mail and password, else None (never says which was wrong).

    A wrong password counts towards the lockout; a locked account raises AccountLocked even
    with the right password (and without checking it, so a locked answer says nothing about the
    password). The caller commits either way, so failures are kept. A right password is only
    the first step for an account with TOTP: `complete_login` comes after its code.
    """
    now = now or utcnow()
    account = find_account(email, lock=True)
    if account is None:
        Account(password_hash=_DUMMY_HASH).check_password(password)
        return None
    _check_not_locked(account, now)
    if account.check_password(password) and account.active:
        return account
    _count_failure(account, now)
    return None


def complete_login(account: Account, *, now: datetime | None = None) -> None:
    """Every step passed: the failure count starts again and the log-in is noted."""
    account.failed_logins = 0
    account.locked_until = None
    account.last_login_at = now or utcnow()


# --- TOTP -----------------------------------------------------------------------------------


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(account: Account, secret: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=account.email, issuer_name=TOTP_ISSUER)


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    code = "".join((code or "").split())
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def check_code(account: Account, code: str, *, now: datetime | None = None) -> CodeCheck:
    """The log-in's second step. A right code is used up (its time step is kept, so the same
    code, or an older one, can't log in again); a wrong or replayed one counts towards the
    lockout, and a locked account raises AccountLocked."""
    now = now or utcnow()
    # Two tabs sending the same code at once: the second waits, then finds the step used.
    db.session.refresh(account, with_for_update=True)
    _check_not_locked(account, now)
    if not account.active or not account.totp_secret:
        return CodeCheck(ok=False)
    result = _use_code(account, code, now)
    if not result.ok:
        _count_failure(account, now)
    return result


def _use_code(account: Account, code: str, now: datetime) -> CodeCheck:
    step = _matching_step(account.totp_secret, code, now)
    if step is not None and (account.totp_last_step is None or step > account.totp_last_step):
        account.totp_last_step = step
        return CodeCheck(ok=True)
    return CodeCheck(ok=False, replayed=step is not None)


def enable_totp(account: Account, secret: str, code: str, *, now: datetime | None = None) -> None:
    """Turn on the second factor once the owner proves their app shows the right codes. Their
    other sessions end (they logged in with the password only); the caller logs this one in
    again."""
    now = now or utcnow()
    if account.totp_secret:
        raise Conflict("Two-step log-in is on already.", field="code")
    step = _matching_step(secret, code, now)
    if step is None:
        raise DomainError(WRONG_CODE, field="code")
    account.totp_secret = secret
    account.totp_last_step = step
    account.end_sessions()
    record(
        account,
        "account.totp",
        subject=f"account:{account.id}",
        before={"totp": False},
        after={"totp": True},
    )


def _totp_off(actor: Account, account: Account) -> None:
    account.totp_secret = None
    account.totp_last_step = None
    record(
        actor,
        "account.totp",
        subject=f"account:{account.id}",
        before={"totp": True},
        after={"totp": False},
    )


def disable_totp(account: Account, code: str, *, now: datetime | None = None) -> None:
    """An agent or drop-off desk turns the second factor off, with a current code; supervisors
    can't (they must have it)."""
    if account.role is Role.SUPERVISOR:
        raise DomainError("Supervisors must keep two-step log-in on.", field="code")
    if not account.totp_secret:
        raise Conflict("Two-step log-in is off already.", field="code")
    if not _use_code(account, code, now or utcnow()).ok:
        raise DomainError(WRONG_CODE, field="code")
    _totp_off(account, account)


# --- accounts ---------------------------------------------------------------------------------


def create_account(
    email: str, *, name: str, role: Role | str, password: str, place: str | None = None
) -> Account:
    email = email.strip().lower()
    if "@" not in email:
        raise DomainError("Give an e-mail address.", field="email")
    check_password_rules(password)
    role = Role(role)
    place = (place or "").strip() or None
    if role is Role.DROPOFF and not place:
        raise DomainError("A drop-off account needs the service point's name.", field="place")
    if db.session.scalar(select(func.count()).where(Account.email == email)):
        raise Conflict("An account with this e-mail exists already.", field="email")
    account = Account(email=email, name=name.strip() or email, role=role, place=place)
    account.set_password(password)
    db.session.add(account)
    db.session.flush()
    return account


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise DomainError(
            f"The password needs at least {MIN_PASSWORD} characters.", field="password"
        )
    if len(password) > MAX_PASSWORD:
        raise DomainError(f"Keep the password to {MAX_PASSWORD} characters.", field="password")


def describe(account: Account) -> dict:
    """What the audit log keeps of an account: never its password hash or TOTP secret."""
    return {
        "email": account.email,
        "name": account.name,
        "role": account.role,
        "place": account.place,
        "active": account.active,
        "totp": account.totp_secret is not None,
    }


def list_accounts() -> list[Account]:
    return list(db.session.execute(select(Account).order_by(Account.email)).scalars())


def add_account(
    actor: Account,
    email: str,
    *,
    name: str,
    role: Role | str,
    password: str,
    place: str | None = None,
) -> Account:
    """A supervisor creates an account with an initial password (they tell its owner)."""
    account = create_account(email, name=name, role=role, password=password, place=place)
    record(
        actor,
        "account.create",
        subject=f"account:{account.id}",
        before=None,
        after=describe(account),
    )
    return account


def _not_yourself(actor: Account, account: Account, what: str) -> None:
    if actor.id == account.id:
        raise DomainError(f"You can't {what} your own account; ask another supervisor.")


def _keep_a_supervisor(account: Account) -> None:
    """Someone must be left to manage accounts: the last active supervisor stays one."""
    if account.role is not Role.SUPERVISOR or not account.active:
        return
    supervisors = db.session.execute(
        select(Account.id)
        .where(Account.role == Role.SUPERVISOR, Account.active.is_(True))
        .with_for_update()
    ).all()
    if len(supervisors) <= 1:
        raise Conflict("This is the last active supervisor; make another one first.")


def change_role(actor: Account, account: Account, role: Role | str, place: str | None) -> None:
    role = Role(role)
    place = (place or "").strip() or account.place
    if role is account.role and place == account.place:
        return
    _not_yourself(actor, account, "change the role of")
    if role is Role.DROPOFF and not place:
        raise DomainError("A drop-off account needs the service point's name.", field="place")
    if role is not Role.SUPERVISOR:
        _keep_a_supervisor(account)
    before = describe(account)
    account.role = role
    account.place = place
    # A new supervisor without TOTP is sent to set it up on their next request (see
    # portal.accounts), so their session may carry on.
    record(
        actor,
        "account.update",
        subject=f"account:{account.id}",
        before=before,
        after=describe(account),
    )


def set_active(actor: Account, account: Account, active: bool) -> None:
    """Deactivating ends the account's sessions at once; reactivating makes it log in afresh."""
    if account.active is active:
        return
    _not_yourself(actor, account, "deactivate" if not active else "reactivate")
    if not active:
        _keep_a_supervisor(account)
    before = describe(account)
    account.active = active
    account.end_sessions()
    record(
        actor,
        "account.update",
        subject=f"account:{account.id}",
        before=before,
        after=describe(account),
    )


def reset_totp(actor: Account, account: Account) -> None:
    """A lost phone: the second factor goes, and with it the account's sessions. A supervisor
    must set it up again at their next log-in."""
    if not account.totp_secret:
        raise Conflict("This account has no two-step log-in to reset.")
    _not_yourself(actor, account, "reset two-step log-in for")
    _totp_off(actor, account)
    account.end_sessions()


def unlock(actor: Account, account: Account, *, now: datetime | None = None) -> None:
    if not is_locked(account, now) and not account.failed_logins:
        return
    before = {"locked_until": account.locked_until, "failed_logins": account.failed_logins}
    account.locked_until = None
    account.failed_logins = 0
    record(
        actor,
        "account.update",
        subject=f"account:{account.id}",
        before=before,
        after={"locked_until": None, "failed_logins": 0},
    )
