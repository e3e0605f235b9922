"""`/dropoff/login` and `/admin/login` (one form, the role decides where it leads), the TOTP code
step after it, `/admin/security`, where staff set up two-step log-in, the password page
(`/admin/account/password`, `/dropoff/password` at the desk) and `/set-password/<token>`, where
a link from a supervisor's reset (or a new account's e-mail) leads."""

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
from portal.accounts.forms import (
    CodeForm,
    LoginForm,
    PasswordChangeForm,
    SetPasswordForm,
    TotpForm,
)
from portal.extensions import get_by_id, limiter
from portal.forms import attach_error, keep_writes, page_write, refuse
from portal.i18n import safe_next
from portal.models import Account, Role
from portal.security import no_store
from portal.services.accounts import (
    AccountLocked,
    PasswordLinkInvalid,
    account_for_password_link,
    authenticate,
    change_password,
    check_code,
    complete_login,
    disable_totp,
    enable_totp,
    log_out,
    new_totp_secret,
    set_password_with_link,
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


def _refused() -> str:
    """The one answer to a failed password step, whatever failed: an unknown address, a wrong
    password, a locked account. Saying "locked" only for known addresses told anyone which
    addresses have accounts (issue 15); this says what a locked-out owner needs to know."""
    return ngettext(
        "That e-mail and password don't match an active account. After %(after)d failed "
        "log-ins in a row an account is locked for %(num)d minute, even with the right password.",
        "That e-mail and password don't match an active account. After %(after)d failed "
        "log-ins in a row an account is locked for %(num)d minutes, even with the right password.",
        current_app.config["LOGIN_LOCK_MINUTES"],
        after=current_app.config["LOGIN_LOCK_AFTER"],
    )


def _desk() -> bool:
    """Drop-off desks log in under /dropoff and stay there for the code step."""
    return request.endpoint in ("accounts.dropoff_login", "accounts.dropoff_login_code")


@bp.route("/dropoff/login", methods=["GET", "POST"], endpoint="dropoff_login")
@bp.route("/admin/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
@page_write
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(_after_login(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        account = authenticate(form.email.data, form.password.data)
        if account is None:
            keep_writes()  # the failure count
            form.password.errors.append(_refused())
        else:
            if current_user.is_authenticated:  # someone else's log-in on this device
                end_staff_session()
            if account.totp_secret:
                session[PENDING] = {"id": account.id, "at": now_seconds()}
                step = "accounts.dropoff_login_code" if _desk() else "accounts.login_code"
                return redirect(url_for(step, next=request.args.get("next")), 303)
            complete_login(account)
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
@page_write
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
            session.pop(PENDING, None)
            flash(_locked(exc), "error")
            return redirect(password_page, 303)
        if result.ok:
            complete_login(account)
            start_staff_session(account)
            return redirect(_after_login(account), 303)
        keep_writes()  # the failure count (and the code's step, if it was used already)
        form.code.errors.append(
            _("That code was used already. Wait for the next one.")
            if result.replayed
            else _("That code isn't right. Type the newest code your app shows.")
        )
    status = 422 if form.errors else 200
    html = render_template("accounts/code.html", form=form, password_page=password_page)
    return no_store(current_app.make_response((html, status)))


@bp.post("/logout")
@page_write
def logout():
    desk = getattr(current_user, "role", Role.DROPOFF) is Role.DROPOFF
    if current_user.is_authenticated:
        # Server-side: the session cookie is signed, not stored, so a copy of it would go on
        # working after this browser forgets it. The new version makes every copy stale.
        log_out(current_user._get_current_object())
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
@page_write
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
                refuse(form, exc, "code")
            else:
                session.pop(ENROLMENT, None)
                start_staff_session(account)  # its other sessions have ended
                flash(
                    _("Two-step log-in is on. You'll be asked for a code at every log-in."),
                    "success",
                )
                # On to the page the supervisor wanted before enrolment stood in the way.
                return redirect(safe_next(request.args.get("next"), _home(account.role)), 303)
    status = 422 if form.errors else 200
    html = render_template(
        "admin/security.html",
        account=account,
        form=form,
        secret=secret,
        grouped=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)) if secret else None,
        qr=qr_svg(totp_uri(account, secret)) if secret else None,
    )
    return no_store(current_app.make_response((html, status)))


@bp.post("/admin/security/disable")
@role_required(Role.DROPOFF, Role.AGENT, Role.SUPERVISOR)
@page_write
def security_disable():
    account: Account = current_user._get_current_object()
    form = TotpForm()
    if form.validate_on_submit():
        try:
            disable_totp(account, form.code.data)
        except DomainError as exc:
            refuse(form, exc, "code")
        else:
            flash(_("Two-step log-in is off."), "success")
            return redirect(url_for("accounts.security"), 303)
    html = render_template("admin/security.html", account=account, form=form, secret=None)
    return no_store(current_app.make_response((html, 422)))


# --- passwords ------------------------------------------------------------------------------


@bp.route("/dropoff/password", methods=["GET", "POST"], endpoint="dropoff_password")
@bp.route("/admin/account/password", methods=["GET", "POST"])
@role_required(Role.DROPOFF, Role.AGENT, Role.SUPERVISOR)
@limiter.limit("10 per minute", methods=["POST"])
@page_write
def password():
    """Staff change their own password (the desk's page in the desk's look and language)."""
    account: Account = current_user._get_current_object()
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            change_password(account, form.current_password.data, form.password.data, form.code.data)
        except AccountLocked as exc:
            keep_writes()  # the failure that locked it
            form.form_errors.append(_locked(exc))
        except DomainError as exc:
            keep_writes()  # a wrong current password or code counts as a failure
            attach_error(form, exc)
        else:
            start_staff_session(account)  # its other sessions have ended; this one goes on
            flash(
                _(
                    "Your password is changed. Everywhere else you were logged in, you are "
                    "logged out now."
                ),
                "success",
            )
            return redirect(_home(account.role), 303)
    status = 422 if form.errors or form.form_errors else 200
    html = render_template(
        "accounts/password.html",
        form=form,
        account=account,
        desk=account.role is Role.DROPOFF,
    )
    return no_store(current_app.make_response((html, status)))


@bp.route("/set-password/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOOKUP"])
@page_write
def set_password(token: str):
    """Where a set-password link leads, logged in or not: the link is the proof. Afterwards its
    owner logs in with the new password (and their code, if they have two-step log-in)."""
    try:
        account = account_for_password_link(token)
    except PasswordLinkInvalid as exc:
        html = render_template("accounts/set_password.html", form=None, problem=exc.message)
        return no_store(current_app.make_response((html, 404)))
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            account = set_password_with_link(token, form.password.data)
        except PasswordLinkInvalid as exc:  # used a moment ago, in another tab
            html = render_template("accounts/set_password.html", form=None, problem=exc.message)
            return no_store(current_app.make_response((html, 404)))
        except DomainError as exc:
            refuse(form, exc)
        else:
            flash(_("Your password is set. Log in with it now."), "success")
            login = "accounts.dropoff_login" if account.role is Role.DROPOFF else "accounts.login"
            return redirect(url_for(login), 303)
    status = 422 if form.errors else 200
    html = render_template("accounts/set_password.html", form=form, account=account, problem=None)
    return no_store(current_app.make_response((html, status)))
