"""`/dropoff/login` and `/admin/login`: one form, the role decides where it leads."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from portal.accounts import bp
from portal.accounts.forms import LoginForm
from portal.extensions import db, limiter
from portal.i18n import safe_next
from portal.models import Role
from portal.services.accounts import authenticate

HOME = {Role.DROPOFF: "returns.dropoff", Role.AGENT: "admin.home", Role.SUPERVISOR: "admin.home"}


def _home(role: Role) -> str:
    endpoint = HOME.get(role)
    return url_for(endpoint) if endpoint else url_for("tracking.home")


@bp.route("/dropoff/login", methods=["GET", "POST"], endpoint="dropoff_login")
@bp.route("/admin/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(request.args.get("next"), _home(current_user.role)))
    form = LoginForm()
    if form.validate_on_submit():
        account = authenticate(form.email.data, form.password.data)
        if account is not None:
            db.session.commit()
            login_user(account)
            return redirect(safe_next(request.args.get("next"), _home(account.role)), 303)
        form.password.errors.append(_("That e-mail and password don't match an active account."))
    status = 422 if form.errors else 200
    return render_template("accounts/login.html", form=form), status


@bp.post("/logout")
def logout():
    logout_user()
    # A counter's device is shared: the next person must not inherit parcels verified here
    # or the last drop-off shown. The language stays.
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    flash(_("You are logged out."), "success")
    return redirect(url_for("accounts.dropoff_login"), 303)
