"""Log-in accounts (drop-off desks, agents, supervisors): passwords, the lockout after repeated
failures, the TOTP second factor, set-password links, and what supervisors do to other
accounts."""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from flask import current_app, render_template
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import event, func, select

from portal.extensions import db
from portal.models import Account, Channel, Notification, NotificationState, Role
from portal.models.types import utcnow
from portal.services.audit import record
from portal.services.errors import Conflict, DomainError, NotFound

MIN_PASSWORD = 12
MAX_PASSWORD = 200
EMAIL_MAX = 254  # the column's width (RFC 5321's longest address)
TOTP_ISSUER = "Lastmile"
# Codes one step either side of now are accepted: phones' clocks drift and people type slowly.
TOTP_WINDOW = 1
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


def _stand_in_hash() -> str:
    """A hash of a password nobody has, made by the model's own set_password, so it has the
    method and cost a real account's hash has, whatever those become."""
    stand_in = Account()
    stand_in.set_password("not a password of anyone's")
    return stand_in.password_hash


# Checked against when the e-mail is unknown or the account locked, so those answers take as
# long as a wrong password's and the answer time tells nobody which accounts exist.
DUMMY_PASSWORD_HASH = _stand_in_hash()


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


def _check_not_locked(account: Account, now: datetime) -> None:
    if is_locked(account, now):
        raise AccountLocked(account.locked_until, now)


def _count_failure(account: Account, now: datetime) -> bool:
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
        Account(password_hash=DUMMY_PASSWORD_HASH).check_password(password)
        return None
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
    if not result.ok and _count_failure(account, now):
        raise AccountLocked(account.locked_until, now)
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


# --- passwords --------------------------------------------------------------------------------


class PasswordLinkInvalid(NotFound):
    """A set-password link that is forged, used already, replaced by a newer one, too old, or
    for an account deactivated since: one answer for all, as the way on is the same (a new one)."""

    code = "password_link_invalid"


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


def _unguessable() -> str:
    """A password nobody knows: a new account's until its owner sets one, a reset one's after."""
    return secrets.token_urlsafe(32)


def log_out(account: Account) -> None:
    """Logging out ends every session of the account, not only this browser's: a copy of the
    session cookie (a shared counter computer, a borrowed laptop) must not outlive it."""
    account.end_sessions()


def _refuse(account: Account, now: datetime, error: DomainError) -> None:
    """A wrong answer on the password page counts like a failed log-in (a session left open
    must not become a way to guess the password); the one that locks the account says so."""
    if _count_failure(account, now):
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
    _check_not_locked(account, now)
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
        result = _use_code(account, code or "", now)
        if not result.ok:
            message = (
                _l("That code was used already. Wait for the next one.")
                if result.replayed
                else _l("That code isn't right. Type the newest code your app shows.")
            )
            _refuse(account, now, DomainError(str(message), field="code"))
    _new_password(account, new_password, via="own form")


def _new_password(account: Account, password: str, *, via: str) -> None:
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
    _new_password(account, password, via="set-password link")
    return account


def _mail_password_link(account: Account, *, new: bool) -> Notification:
    """The link goes to the account's own address and nowhere else: through the outbox (sent
    after commit and retried like every message), never shown on a page, so the supervisor who
    asked for it can't use it."""
    # The outbox imports services to write parcels' messages; imported here, as console.py does.
    from portal.notifications.outbox import enqueue

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


def reset_password(actor: Account, account: Account) -> None:
    """A supervisor resets a password without ever choosing or seeing one: the old password
    stops working and every session ends at once (it may be in the wrong hands), and the owner
    gets a link by e-mail to set a new one. Two-step log-in stays (it has a reset of its own)."""
    _not_yourself(actor, account, "reset the password of")
    if not account.active:
        raise Conflict("This account is deactivated; reactivate it first.")
    account.set_password(_unguessable())
    record(
        actor,
        "account.password_reset",
        subject=f"account:{account.id}",
        before=None,
        after={"link_sent_to": account.email, "sessions_ended": True},
    )
    _mail_password_link(account, new=False)


# --- accounts ---------------------------------------------------------------------------------


def create_account(
    email: str, *, name: str, role: Role | str, password: str | None, place: str | None = None
) -> Account:
    """A new account. `password=None`: one nobody knows, until its owner sets their own through
    the link `add_account` e-mails them."""
    email = email.strip().lower()
    if "@" not in email:
        raise DomainError("Give an e-mail address.", field="email")
    # Counted as stored: lower case can lengthen it ("İ" becomes two characters).
    if len(email) > EMAIL_MAX:
        raise DomainError(f"An e-mail address has at most {EMAIL_MAX} characters.", field="email")
    if password is not None:
        check_password_rules(password)
    role = Role(role)
    place = (place or "").strip() or None
    if role is Role.DROPOFF and not place:
        raise DomainError("A drop-off account needs the service point's name.", field="place")
    if db.session.scalar(select(func.count()).where(Account.email == email)):
        raise Conflict("An account with this e-mail exists already.", field="email")
    account = Account(email=email, name=name.strip() or email, role=role, place=place)
    account.set_password(password if password is not None else _unguessable())
    db.session.add(account)
    db.session.flush()
    return account


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
    actor: Account, email: str, *, name: str, role: Role | str, place: str | None = None
) -> Account:
    """A supervisor creates an account; its owner gets a link by e-mail to set their password.
    The supervisor never knows it, so they can never act under the new account's name."""
    account = create_account(email, name=name, role=role, password=None, place=place)
    record(
        actor,
        "account.create",
        subject=f"account:{account.id}",
        before=None,
        after=describe(account),
    )
    _mail_password_link(account, new=True)
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
