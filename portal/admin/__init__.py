"""`/admin`: the agent console. Every route here needs an agent or a supervisor (checked before
any view runs); supervisor-only pages say so with `supervisor_only`."""

from __future__ import annotations

from collections.abc import Callable

from babel import Locale
from babel.numbers import format_decimal, parse_pattern
from flask import Blueprint, abort, current_app, redirect, request, url_for
from flask_babel import format_date, get_locale
from flask_login import current_user

from portal.accounts import role_required
from portal.admin.labels import label
from portal.admin.text import lazy_gettext as _l
from portal.models import Account, Role

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")

STAFF = (Role.AGENT, Role.SUPERVISOR)
supervisor_only: Callable = role_required(Role.SUPERVISOR)

# The console's menu: (endpoint, label, who sees it). Entries whose view isn't registered are
# left out, so a menu item can never lead to a 404.
NAV: list[tuple[str, str, tuple[Role, ...]]] = [
    ("admin.home", _l("Search"), STAFF),
    ("admin.queues", _l("Queues"), STAFF),
    ("admin.audit", _l("Audit log"), STAFF),
    ("admin.dashboard", _l("Dashboard"), STAFF),
    ("admin.merchants", _l("Merchants"), (Role.SUPERVISOR,)),
    ("admin.network", _l("Network"), (Role.SUPERVISOR,)),
    ("admin.agents", _l("Agents"), (Role.SUPERVISOR,)),
]
# How the console names each role (the header, the agents' pages).
ROLE_NAMES: dict[Role, str] = {
    Role.AGENT: _l("Agent"),
    Role.SUPERVISOR: _l("Supervisor"),
    Role.DROPOFF: _l("Drop-off desk"),
}


@bp.before_request
def _staff_only():
    """The server-side role check for every console route, whatever its decorators say."""
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
    if current_user.role not in STAFF:
        abort(403)
    # Settle the account's language now, while the session is sound: text made later (a
    # refusal built after a failed flush) must not need the database to find it.
    get_locale()
    return None


@bp.after_request
def _never_cached(response):
    # Every console page shows personal data: never kept by a browser or a shared cache.
    response.headers.setdefault("Cache-Control", "private, no-store")
    return response


@bp.app_context_processor
def _menu() -> dict:
    def admin_nav() -> list[tuple[str, str]]:
        user = current_user
        if not getattr(user, "is_authenticated", False):
            return []
        return [
            (endpoint, label)
            for endpoint, label, roles in NAV
            if user.role in roles and endpoint in current_app.view_functions
        ]

    def has_endpoint(endpoint: str) -> bool:
        return endpoint in current_app.view_functions

    def role_name(role: Role | str) -> str:
        try:
            return str(ROLE_NAMES[Role(role)])
        except ValueError:
            return str(role)

    return {
        "admin_nav": admin_nav,
        "has_endpoint": has_endpoint,
        "role_name": role_name,
        "label": label,
    }


@bp.app_template_filter("console_date")
def _console_date(day, pattern: str = "EEE yyyy-MM-dd") -> str:
    """A day with its weekday in the console's language: `Sat 2026-12-05`, `lör 2026-12-05`."""
    return format_date(day, pattern)


@bp.app_template_filter("console_number")
def console_number(value, pattern: str | None = None) -> str:
    """A number as the console's language writes it: `12,345.5`, `12 345,5`."""
    return format_decimal(value, format=pattern, locale=get_locale())


@bp.app_template_filter("console_percent")
def console_percent(value: float | None, decimals: int = 1) -> str:
    """A percentage (0–100) as the language writes it: `100.0%`, `100,0 %`; `–` for none."""
    if value is None:
        return "–"
    locale: Locale = get_locale()
    # The language's own pattern (its spacing and sign), with the decimals the page wants.
    pattern = parse_pattern(locale.percent_formats[None].pattern)
    pattern.frac_prec = (decimals, decimals)
    return pattern.apply(value / 100, locale)


def agent() -> Account:
    """The logged-in staff member (typed, for services that take an Account)."""
    return current_user._get_current_object()


from portal.admin import (  # noqa: E402, F401
    agents,
    dashboard,
    language,
    merchants,
    messages,
    network,
    views,
)

__all__ = ["ROLE_NAMES", "STAFF", "agent", "bp", "supervisor_only"]
