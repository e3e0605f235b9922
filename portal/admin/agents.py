"""`/admin/agents`: supervisors manage staff accounts: create them, change roles, deactivate and
reactivate, reset a password or two-step log-in, unlock. A supervisor never chooses or sees
anyone's password: a new account and a reset get a set-password link by e-mail. The services
write each change's audit row."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from portal.admin import ROLE_NAMES, agent, bp, supervisor_only
from portal.admin.text import lazy_gettext as _l
from portal.extensions import MAX_ID, db
from portal.forms import Form, discard_writes, page_write, refuse
from portal.i18n import language_choices
from portal.models import Account, Role
from portal.models.types import utcnow
from portal.security import no_store
from portal.services import accounts
from portal.services.errors import DomainError

ROLES = [SelectChoice(role.value, label) for role, label in ROLE_NAMES.items()]
PLACE_HINT = _l("Drop-off desks only: the service point, named on the customer's receipt.")


class NewAccountForm(Form):
    email = StringField(
        _l("E-mail"), validators=[DataRequired(_l("Give an e-mail address.")), Length(max=254)]
    )
    name = StringField(
        _l("Name"), validators=[DataRequired(_l("Give their name.")), Length(max=120)]
    )
    role = SelectField(_l("Role"), choices=ROLES)
    # The console's language for the new account (CONSOLE_LANGUAGES, each in its own name);
    # they can change it themselves in the console's header.
    language = SelectField(
        _l("Console language"),
        description=_l("The language the console speaks to them; they can change it later."),
    )
    place = StringField(
        _l("Service point"), description=PLACE_HINT, validators=[Optional(), Length(max=200)]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.language.choices = language_choices(current_app.config["CONSOLE_LANGUAGES"])
        if not self.language.data or self.language.data == "None":
            self.language.data = current_app.config["BABEL_DEFAULT_LOCALE"]


class RoleForm(Form):
    role = SelectField(_l("Role"), choices=ROLES)
    place = StringField(
        _l("Service point"), description=PLACE_HINT, validators=[Optional(), Length(max=200)]
    )


class ActionForm(Form):
    """The buttons: nothing but the CSRF token."""


def _account(account_id: int, *, lock: bool = False) -> Account:
    if not 1 <= account_id <= MAX_ID:
        abort(404)
    # Two supervisors on one account: the second waits and then sees the first's change.
    account = db.session.get(Account, account_id, with_for_update=lock or None)
    if account is None:
        abort(404)
    return account


def _link_hours() -> int:
    return current_app.config["STAFF_PASSWORD_LINK_HOURS"]


def _page(template: str, status: int = 200, **context):
    html = render_template(
        template,
        now=utcnow(),
        is_locked=accounts.is_locked,
        role_labels={Role(c.value): str(c.label) for c in ROLES},
        link_hours=_link_hours(),
        **context,
    )
    return no_store(current_app.make_response((html, status)))


@bp.route("/agents", methods=["GET", "POST"])
@supervisor_only
@page_write
def agents():
    form = NewAccountForm()
    if form.validate_on_submit():
        try:
            account = accounts.add_account(
                agent(),
                form.email.data,
                name=form.name.data,
                role=form.role.data,
                place=form.place.data,
                language=form.language.data,
            )
        except DomainError as exc:
            refuse(form, exc)
        else:
            flash(
                ngettext(
                    "Created the %(role)s account %(email)s. A set-password link is e-mailed to "
                    "that address: it works once, for %(num)d hour.",
                    "Created the %(role)s account %(email)s. A set-password link is e-mailed to "
                    "that address: it works once, for %(num)d hours.",
                    _link_hours(),
                    role=str(ROLE_NAMES[account.role]).lower(),
                    email=account.email,
                ),
                "success",
            )
            return redirect(url_for(".agent_account", account_id=account.id), 303)
    return _page(
        "admin/agents.html",
        422 if form.errors else 200,
        form=form,
        accounts=accounts.list_accounts(),
    )


@bp.get("/agents/<int:account_id>")
@supervisor_only
def agent_account(account_id: int):
    account = _account(account_id)
    form = RoleForm(data={"role": account.role.value, "place": account.place})
    return _page("admin/agents_account.html", account=account, form=form)


@bp.post("/agents/<int:account_id>/role")
@supervisor_only
@page_write
def agent_role(account_id: int):
    account = _account(account_id, lock=True)
    form = RoleForm()
    if form.validate_on_submit():
        try:
            accounts.change_role(agent(), account, form.role.data, form.place.data)
        except DomainError as exc:
            refuse(form, exc)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for(".agent_account", account_id=account.id), 303)
    account = _account(account_id)
    return _page("admin/agents_account.html", 422, account=account, form=form)


def _action(account_id: int, change, done):
    """One button's change: done and back to the account (or the rule's refusal, flashed).
    The redirect answers both, so a refusal rolls back here: nothing of it may be committed."""
    account = _account(account_id, lock=True)
    if ActionForm().validate_on_submit():
        try:
            change(account)
        except DomainError as exc:
            discard_writes()
            flash(str(exc.message), "error")
        else:
            flash(str(done), "success")
    else:
        flash(_("The page had expired; try again."), "error")
    return redirect(url_for(".agent_account", account_id=account_id), 303)


@bp.post("/agents/<int:account_id>/deactivate")
@supervisor_only
@page_write
def agent_deactivate(account_id: int):
    return _action(
        account_id,
        lambda a: accounts.set_active(agent(), a, False),
        _l("Deactivated: the account can't log in, and its sessions have ended."),
    )


@bp.post("/agents/<int:account_id>/reactivate")
@supervisor_only
@page_write
def agent_reactivate(account_id: int):
    return _action(account_id, lambda a: accounts.set_active(agent(), a, True), _l("Reactivated."))


@bp.post("/agents/<int:account_id>/totp-reset")
@supervisor_only
@page_write
def agent_totp_reset(account_id: int):
    return _action(
        account_id,
        lambda a: accounts.reset_totp(agent(), a),
        _l(
            "Two-step log-in reset: their sessions have ended, and they set it up again at "
            "their next log-in."
        ),
    )


@bp.post("/agents/<int:account_id>/password-reset")
@supervisor_only
@page_write
def agent_password_reset(account_id: int):
    account = _account(account_id)
    return _action(
        account_id,
        lambda a: accounts.reset_password(agent(), a),
        ngettext(
            "Password reset: the old one no longer works and their sessions have ended. A "
            "set-password link is e-mailed to %(email)s; it works once, for %(num)d hour.",
            "Password reset: the old one no longer works and their sessions have ended. A "
            "set-password link is e-mailed to %(email)s; it works once, for %(num)d hours.",
            _link_hours(),
            email=account.email,
        ),
    )


@bp.post("/agents/<int:account_id>/unlock")
@supervisor_only
@page_write
def agent_unlock(account_id: int):
    return _action(account_id, lambda a: accounts.unlock(agent(), a), _l("Unlocked."))
