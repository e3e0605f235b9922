"""What supervisors do to other accounts: create and list them, change a role, deactivate,
reset a password or the second factor, unlock; each audited, and never leaving the house
without an active supervisor."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Account, Role
from portal.services.accounts.login import is_locked
from portal.services.accounts.password_links import mail_password_link
from portal.services.accounts.passwords import check_password_rules, unguessable_password
from portal.services.accounts.totp import totp_off
from portal.services.audit import record
from portal.services.errors import Conflict, DomainError

EMAIL_MAX = 254  # the column's width (RFC 5321's longest address)


def reset_password(actor: Account, account: Account) -> None:
    """A supervisor resets a password without ever choosing or seeing one: the old password
    stops working and every session ends at once (it may be in the wrong hands), and the owner
    gets a link by e-mail to set a new one. Two-step log-in stays (it has a reset of its own)."""
    _not_yourself(
        actor,
        account,
        _("You can't reset the password of your own account; ask another supervisor."),
    )
    if not account.active:
        raise Conflict(_("This account is deactivated; reactivate it first."))
    account.set_password(unguessable_password())
    record(
        actor,
        "account.password_reset",
        subject=f"account:{account.id}",
        before=None,
        after={"link_sent_to": account.email, "sessions_ended": True},
    )
    mail_password_link(account, new=False)


def create_account(
    email: str,
    *,
    name: str,
    role: Role | str,
    password: str | None,
    place: str | None = None,
    language: str | None = None,
) -> Account:
    """A new account. `password=None`: one nobody knows, until its owner sets their own through
    the link `add_account` e-mails them. `language`: the console's (CONSOLE_LANGUAGES; by
    default the app's default)."""
    email = email.strip().lower()
    if "@" not in email:
        raise DomainError(_("Give an e-mail address."), field="email")
    # Counted as stored: lower case can lengthen it ("İ" becomes two characters).
    if len(email) > EMAIL_MAX:
        raise DomainError(
            _("An e-mail address has at most %(num)d characters.", num=EMAIL_MAX), field="email"
        )
    if password is not None:
        check_password_rules(password)
    role = Role(role)
    place = (place or "").strip() or None
    if role is Role.DROPOFF and not place:
        raise DomainError(_("A drop-off account needs the service point's name."), field="place")
    language = language or current_app.config["BABEL_DEFAULT_LOCALE"]
    if language not in current_app.config["CONSOLE_LANGUAGES"]:
        raise DomainError(_("Choose a language from the list."), field="language")
    if db.session.scalar(select(func.count()).where(Account.email == email)):
        raise Conflict(_("An account with this e-mail exists already."), field="email")
    account = Account(
        email=email, name=name.strip() or email, role=role, place=place, language=language
    )
    account.set_password(password if password is not None else unguessable_password())
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
        "language": account.language,
    }


def list_accounts() -> list[Account]:
    return list(db.session.execute(select(Account).order_by(Account.email)).scalars())


def add_account(
    actor: Account,
    email: str,
    *,
    name: str,
    role: Role | str,
    place: str | None = None,
    language: str | None = None,
) -> Account:
    """A supervisor creates an account (in the console language they chose for it); its owner
    gets a link by e-mail to set their password. The supervisor never knows it, so they can
    never act under the new account's name."""
    account = create_account(
        email, name=name, role=role, password=None, place=place, language=language
    )
    record(
        actor,
        "account.create",
        subject=f"account:{account.id}",
        before=None,
        after=describe(account),
    )
    mail_password_link(account, new=True)
    return account


def _not_yourself(actor: Account, account: Account, refusal: str) -> None:
    """`refusal`: the whole sentence, translated by the caller (a sentence cut up around a verb
    can't be translated)."""
    if actor.id == account.id:
        raise DomainError(refusal)


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
        raise Conflict(_("This is the last active supervisor; make another one first."))


def change_role(actor: Account, account: Account, role: Role | str, place: str | None) -> None:
    role = Role(role)
    place = (place or "").strip() or account.place
    if role is account.role and place == account.place:
        return
    _not_yourself(
        actor, account, _("You can't change the role of your own account; ask another supervisor.")
    )
    if role is Role.DROPOFF and not place:
        raise DomainError(_("A drop-off account needs the service point's name."), field="place")
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
    _not_yourself(
        actor,
        account,
        _("You can't deactivate your own account; ask another supervisor.")
        if not active
        else _("You can't reactivate your own account; ask another supervisor."),
    )
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
        raise Conflict(_("This account has no two-step log-in to reset."))
    _not_yourself(
        actor,
        account,
        _("You can't reset two-step log-in for your own account; ask another supervisor."),
    )
    totp_off(actor, account)
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
