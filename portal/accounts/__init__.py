"""Logging in and out (Flask-Login), the idle timeout, the second factor supervisors must have,
and the role check every staff page uses."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from portal.extensions import get_by_id, login_manager
from portal.models import Account, Role
from portal.models.types import utcnow

bp = Blueprint("accounts", __name__, template_folder="templates")

# The Flask session's keys for staff: when the last request came, and a log-in waiting for its
# TOTP code (account id and when the password was right; nothing else).
SEEN = "staff_seen"
PENDING = "login_pending"
# A supervisor without TOTP may only set it up (or leave) until they have.
ENROLMENT_ENDPOINTS = frozenset({"accounts.security", "accounts.logout", "static", "i18n.switch"})


@login_manager.user_loader
def _load(user_id: str) -> Account | None:
    # The id carries the session version: a password change or deactivation logs everyone out.
    ident, _sep, version = user_id.partition(":")
    if not (ident.isascii() and ident.isdigit() and version.isascii() and version.isdigit()):
        return None
    account = get_by_id(Account, int(ident))
    if account is None or str(account.session_version) != version:
        return None
    return account


def role_required(*roles: Role, login: str | None = None) -> Callable:
    """Staff pages: log in first (back here afterwards; by default at the desk's log-in for
    pages under /dropoff, else the console's); a wrong role gets 403."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                back = request.full_path.rstrip("?")
                return redirect(url_for(login or login_endpoint(), next=back))
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorate


def now_seconds() -> int:
    return int(utcnow().timestamp())


def start_staff_session(account: Account) -> None:
    session.pop(PENDING, None)
    login_user(account)
    session[SEEN] = now_seconds()


def end_staff_session() -> None:
    """Log out and forget the rest: a counter's device is shared, and the next person must not
    inherit parcels verified on it or the last drop-off shown. The language stays."""
    logout_user()
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language


def login_endpoint() -> str:
    """Drop-off desks log in at /dropoff/login, everyone else at /admin/login."""
    if request.path.startswith("/dropoff") or request.blueprint == "returns":
        return "accounts.dropoff_login"
    return "accounts.login"


def _go(url: str):
    """A redirect that htmx follows as a whole page instead of swapping it into a fragment."""
    if request.headers.get("HX-Request"):
        response = current_app.response_class(status=204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, 303 if request.method == "POST" else 302)


@bp.before_app_request
def _staff_session_checks():
    if request.endpoint == "static" or "_user_id" not in session:
        return None  # customers' sessions (verified parcels, language) are none of this
    idle = current_app.config["STAFF_IDLE_MINUTES"] * 60
    seen = session.get(SEEN)
    now = now_seconds()
    if not isinstance(seen, int) or now - seen > idle:
        end_staff_session()
        if not request.path.startswith(("/admin", "/dropoff")):
            return None  # a public page: it goes on, just without the staff log-in
        flash(
            _(
                "You were logged out after %(minutes)s minutes without activity. "
                "Log in again to carry on.",
                minutes=current_app.config["STAFF_IDLE_MINUTES"],
            ),
            "error",
        )
        if request.endpoint in ("accounts.login", "accounts.dropoff_login", "accounts.logout"):
            return None
        # Back to the page after logging in; a form sent meanwhile is lost (it needs a
        # fresh page and token anyway).
        back = request.full_path.rstrip("?") if request.method in ("GET", "HEAD") else None
        return _go(url_for(login_endpoint(), next=back))
    session[SEEN] = now
    if (
        current_user.is_authenticated
        and current_user.role is Role.SUPERVISOR
        and not current_user.totp_secret
        and request.endpoint not in ENROLMENT_ENDPOINTS
    ):
        # Supervisors must have a second factor: until they set it up, the console (and every
        # other page that trusts a staff log-in) is out of reach. The page says why.
        back = request.full_path.rstrip("?") if request.method in ("GET", "HEAD") else None
        return _go(url_for("accounts.security", next=back))
    return None


from portal.accounts import views  # noqa: E402, F401

__all__ = ["bp", "end_staff_session", "role_required", "start_staff_session"]
