"""Log-in accounts: service-point staff now, agents and supervisors in the console."""

from __future__ import annotations

from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from portal.extensions import db
from portal.models import Account, Role
from portal.models.types import utcnow
from portal.services.errors import Conflict, DomainError

MIN_PASSWORD = 12
# Checked against when the e-mail is unknown, so a wrong address takes as long as a wrong
# password and the answer time tells nobody which accounts exist.
_DUMMY_HASH = generate_password_hash("not a password of anyone's")


def find_account(email: str) -> Account | None:
    return db.session.execute(
        select(Account).where(Account.email == email.strip().lower())
    ).scalar_one_or_none()


def authenticate(email: str, password: str) -> Account | None:
    """The active account with this e-mail and password, else None (never says which was wrong)."""
    account = find_account(email)
    if account is None:
        Account(password_hash=_DUMMY_HASH).check_password(password)
        return None
    if not account.check_password(password) or not account.active:
        return None
    account.last_login_at = utcnow()
    return account


def create_account(
    email: str, *, name: str, role: Role | str, password: str, place: str | None = None
) -> Account:
    email = email.strip().lower()
    if "@" not in email:
        raise DomainError("Give an e-mail address.", field="email")
    if len(password) < MIN_PASSWORD:
        raise DomainError(
            f"The password needs at least {MIN_PASSWORD} characters.", field="password"
        )
    role = Role(role)
    if role is Role.DROPOFF and not (place or "").strip():
        raise DomainError("A drop-off account needs the service point's name.", field="place")
    if db.session.scalar(select(func.count()).where(Account.email == email)):
        raise Conflict("An account with this e-mail exists already.", field="email")
    account = Account(email=email, name=name.strip() or email, role=role, place=place)
    account.set_password(password)
    db.session.add(account)
    db.session.flush()
    return account
