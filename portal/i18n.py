"""Language choice: the switcher, then the recipient's preference, then Accept-Language."""

from __future__ import annotations

from flask import Blueprint, current_app, g, redirect, request, session
from werkzeug.wrappers import Response

bp = Blueprint("i18n", __name__)


def select_locale() -> str | None:
    languages = current_app.config["LANGUAGES"]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    preferred = g.get("recipient_language")
    if preferred in languages:
        return preferred
    return (
        request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


def safe_next(target: str | None, default: str = "/") -> str:
    """Only a local path: `//evil.example` and `https://…` are open redirects."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    return target


@bp.get("/lang/<code>")
def switch(code: str) -> Response:
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(safe_next(request.args.get("next")), code=303)
