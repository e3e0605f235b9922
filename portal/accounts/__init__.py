"""Logging in and out (Flask-Login), and the role check every staff page uses."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Blueprint, abort, redirect, request, url_for
from flask_login import current_user

from portal.extensions import get_by_id, login_manager
from portal.models import Account, Role

bp = Blueprint("accounts", __name__, template_folder="templates")


@login_manager.user_loader
def _load(user_id: str) -> Account | None:
    # The id carries the session version: a password change or deactivation logs everyone out.
    ident, _, version = user_id.partition(":")
    if not (ident.isascii() and ident.isdigit() and version.isascii() and version.isdigit()):
        return None
    account = get_by_id(Account, int(ident))
    if account is None or str(account.session_version) != version:
        return None
    return account


def role_required(*roles: Role, login: str = "accounts.login") -> Callable:
    """Staff pages: log in first (back here afterwards); a wrong role gets 403."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return redirect(url_for(login, next=request.full_path.rstrip("?")))
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorate


from portal.accounts import views  # noqa: E402, F401

__all__ = ["bp", "role_required"]
