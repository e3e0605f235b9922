"""`POST /admin/account/language`: the console's language for the logged-in account."""

from __future__ import annotations

from flask import current_app, redirect, request
from werkzeug.wrappers import Response

from portal.admin import agent, bp
from portal.extensions import db
from portal.i18n import safe_next


@bp.post("/account/language")
def language() -> Response:
    code = request.form.get("language", "")
    if code in current_app.config["CONSOLE_LANGUAGES"]:
        agent().language = code
        db.session.commit()
    # An unknown code changes nothing: the page comes back as it was.
    return redirect(safe_next(request.form.get("next"), "/admin"), code=303)
