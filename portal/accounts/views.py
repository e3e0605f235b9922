"""`/dropoff/login` and `/admin/login` (one form, the role decides where it leads), the TOTP code
step after it, and `/admin/security`, where staff set up two-step log-in."""

from __future__ import annotations

import base64
import binascii

import qrcode
import qrcode.image.svg
from flask import (
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup

from portal.accounts import (
    PENDING,
    bp,
    end_staff_session,
    now_seconds,
    role_required,
    start_staff_session,
)
from portal.accounts.forms import CodeForm, LoginForm, TotpForm
from portal.extensions import db, get_by_id, limiter
from portal.i18n import safe_next
from portal.models import Account, Role
from portal.security import no_store
from portal.services.accounts import (
    AccountLocked,
    authenticate,
    check_code,
    complete_login,
    disable_totp,
    enable_totp,
    new_totp_secret,
    totp_uri,
)
from portal.services.errors import DomainError

HOME = {Role.DROPOFF: "returns.dropoff", Role.AGENT: "admin.home", Role.SUPERVISOR: "admin.home"}
# Time from a right password to its code; after that the password is asked for again.
PENDING_SECONDS = 5 * 60
# The secret being set up, kept in the session until a code from the app confirms it, so
# reloading the page doesn't change the QR code someone has scanned already.
ENROLMENT = "totp_enrolment"


def _home(role: Role) -> str:
    endpoint = HOME.get(role)
    return url_for(endpoint) if endpoint else url_for("tracking.home")


def _after_login(account: Account) -> str:
    if account.role is Role.SUPERVISOR and not account.totp_secret:
        return url_for("accounts.security")  # nothing else opens until they set it up
    return safe_next(request.args.get("next"), _home(account.role))


def _locked(exc: AccountLocked) -> str:
    return ngettext(
        "This account is locked after too many failed log-ins. Try again in %(num)d minute.",
        "This account is locked after too many failed log-ins. Try again in %(num)d minutes.",
        exc.minutes,
    )


def _desk() -> bool:
    """Drop-off desks log in under /dropoff and stay there for the code step."""
    return request.endpoint in ("accounts.dropoff_login", "accounts.dropoff_login_code")


@bp.route("/dropoff/login", methods=["GET", "POST"], endpoint="dropoff_login")
@bp.route("/admin/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(_after_login(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            account = authenticate(form.email.data, form.password.data)
        except AccountLocked as exc:
            db.session.commit()  # the failure that locked it
            form.password.errors.append(_locked(exc))
        else:
            if account is None:
                db.session.commit()  # the failure count
                form.password.errors.append(
                    _("That e-mail and password don't match an active account.")
                )
            else:
                if current_user.is_authenticated:  # someone else's log-in on this device
                    end_staff_session()
                if account.totp_secret:
                    db.session.commit()
                    session[PENDING] = {"id": account.id, "at": now_seconds()}
                    step = "accounts.dropoff_login_code" if _desk() else "accounts.login_code"
                    return redirect(url_for(step, next=request.args.get("next")), 303)
                complete_login(account)
                db.session.commit()
                start_staff_session(account)
                return redirect(_after_login(account), 303)
    status = 422 if form.errors else 200
    return no_store(
        current_app.make_response((render_template("accounts/login.html", form=form), status))
    )


def _pending_account() -> Account | None:
    """The account whose password was right a moment ago in this session, if still valid."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict):
        return None
    ident, at = pending.get("id"), pending.get("at")
    if not isinstance(at, int) or not 0 <= now_seconds() - at <= PENDING_SECONDS:
        return None
    account = get_by_id(Account, ident)
    if account is None or not account.active or not account.totp_secret:
        return None
    return account


@bp.route("/dropoff/login/code", methods=["GET", "POST"], endpoint="dropoff_login_code")
@bp.route("/admin/login/code", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def login_code():
    password_page = url_for(
        "accounts.dropoff_login" if _desk() else "accounts.login", next=request.args.get("next")
    )
    account = _pending_account()
    if account is None:
        session.pop(PENDING, None)
        flash(
            _(
                "Log in again: the code has to follow the password within %(minutes)d minutes.",
                minutes=PENDING_SECONDS // 60,
            ),
            "error",
        )
        return redirect(password_page, 303 if request.method == "POST" else 302)
    form = CodeForm()
    if form.validate_on_submit():
        try:
            result = check_code(account, form.code.data)
        except AccountLocked as exc:
            db.session.commit()
            session.pop(PENDING, None)
            flash(_locked(exc), "error")
            return redirect(password_page, 303)
        if result.ok:
            complete_login(account)
            db.session.commit()
            start_staff_session(account)
            return redirect(_after_login(account), 303)
        db.session.commit()  # the failure count
        form.code.errors.append(
            _("That code was used already. Wait for the next one.")
            if result.replayed
            else _("That code isn't right. Type the newest code your app shows.")
        )
    status = 422 if form.errors else 200
    html = render_template("accounts/code.html", form=form, password_page=password_page)
    return no_store(current_app.make_response((html, status)))


@bp.post("/logout")
def logout():
    desk = getattr(current_user, "role", Role.DROPOFF) is Role.DROPOFF
    end_staff_session()
    flash(_("You are logged out."), "success")
    return redirect(url_for("accounts.dropoff_login" if desk else "accounts.login"), 303)


# --- two-step log-in ----------------------------------------------------------------------


def qr_svg(data: str) -> Markup:
    """The QR code as inline SVG (the CSP allows no inline styles; this has none)."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    svg = image.to_string(encoding="unicode")
    # Our own markup: qrcode writes it with ElementTree, which escapes the data it holds.
    svg = svg.replace("<svg ", '<svg aria-hidden="true" focusable="false" ', 1)
    return Markup(svg)  # noqa: S704


def _enrolment_secret() -> str:
    secret = session.get(ENROLMENT)
    try:
        if isinstance(secret, str) and len(base64.b32decode(secret)) >= 16:
            return secret
    except (binascii.Error, ValueError):
        pass
    secret = new_totp_secret()
    session[ENROLMENT] = secret
    return secret


@bp.route("/admin/security", methods=["GET", "POST"])
@role_required(Role.DROPOFF, Role.AGENT, Role.SUPERVISOR)
def security():
    account: Account = current_user._get_current_object()
    form = TotpForm()
    secret = None
    if not account.totp_secret:
        secret = _enrolment_secret()
        if form.validate_on_submit():
            try:
                enable_totp(account, secret, form.code.data)
            except DomainError as exc:
                form.code.errors.append(exc.message)
            else:
                db.session.commit()
                session.pop(ENROLMENT, None)
                start_staff_session(account)  # its other sessions have ended
                flash(
                    "Two-step log-in is on. You'll be asked for a code at every log-in.", "success"
                )
                # On to the page the supervisor wanted before enrolment stood in the way.
                return redirect(safe_next(request.args.get("next"), _home(account.role)), 303)
    status = 422 if form.errors else 200
    html = render_template(
        "accounts/security.html",
        account=account,
        form=form,
        secret=secret,
        grouped=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)) if secret else None,
        qr=qr_svg(totp_uri(account, secret)) if secret else None,
    )
    return no_store(current_app.make_response((html, status)))


@bp.post("/admin/security/disable")
@role_required(Role.DROPOFF, Role.AGENT, Role.SUPERVISOR)
def security_disable():
    account: Account = current_user._get_current_object()
    form = TotpForm()
    if form.validate_on_submit():
        try:
            disable_totp(account, form.code.data)
        except DomainError as exc:
            form.code.errors.append(exc.message)
        else:
            db.session.commit()
            flash("Two-step log-in is off.", "success")
            return redirect(url_for("accounts.security"), 303)
    html = render_template("accounts/security.html", account=account, form=form, secret=None)
    return no_store(current_app.make_response((html, 422)))
