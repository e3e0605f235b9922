"""The TOTP second factor: setting it up, checking a code (each code used once), turning it off."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime

import pyotp
from flask_babel import gettext as _

from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.models import Account, Role
from portal.models.types import utcnow
from portal.services.accounts.login import AccountLocked, check_not_locked, count_failure
from portal.services.audit import record
from portal.services.errors import Conflict, DomainError

TOTP_ISSUER = "Lastmile"
# Codes one step either side of now are accepted: phones' clocks drift and people type slowly.
TOTP_WINDOW = 1
WRONG_CODE = _l("That code isn't right. Type the 6 digits your app shows now.")


@dataclass(frozen=True)
class CodeCheck:
    """The answer to a TOTP code: right, or wrong with why (`replayed`: it was used already)."""

    ok: bool
    replayed: bool = False


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
    check_not_locked(account, now)
    if not account.active or not account.totp_secret:
        return CodeCheck(ok=False)
    result = use_code(account, code, now)
    if not result.ok and count_failure(account, now):
        raise AccountLocked(account.locked_until, now)
    return result


def use_code(account: Account, code: str, now: datetime) -> CodeCheck:
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
        raise Conflict(_("Two-step log-in is on already."), field="code")
    step = _matching_step(secret, code, now)
    if step is None:
        raise DomainError(str(WRONG_CODE), field="code")
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


def totp_off(actor: Account, account: Account) -> None:
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
        raise DomainError(_("Supervisors must keep two-step log-in on."), field="code")
    if not account.totp_secret:
        raise Conflict(_("Two-step log-in is off already."), field="code")
    if not use_code(account, code, now or utcnow()).ok:
        raise DomainError(str(WRONG_CODE), field="code")
    totp_off(account, account)
