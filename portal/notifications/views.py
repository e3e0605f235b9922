"""One-click unsubscribe from e-mails, and the development outbox (debug mode only)."""

from __future__ import annotations

from flask import abort, current_app, render_template, request
from sqlalchemy import select

from portal.extensions import csrf, db, get_by_id, limiter
from portal.forms import page_write
from portal.gsm7 import is_gsm7, segments
from portal.models import Channel, Notification
from portal.notifications import bp
from portal.services.links import LinkExpired, LinkUnknown, open_link


@bp.route("/u/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058: mail providers POST here without our form; the token is the proof
@limiter.limit(lambda: current_app.config["RATELIMIT_LOOKUP"])
@page_write
def unsubscribe(token: str):
    try:
        link = open_link(token, purposes={"unsubscribe"})
    except (LinkExpired, LinkUnknown):
        return render_template("notifications/unsubscribe.html", parcel=None, done=False), 404
    parcel = link.parcel
    if request.method == "POST":
        parcel.notify_email = False
        return render_template("notifications/unsubscribe.html", parcel=parcel, done=True)
    return render_template("notifications/unsubscribe.html", parcel=parcel, done=False)


def _debug_only() -> None:
    if not current_app.debug:
        abort(404)


@bp.get("/dev/outbox")
@limiter.exempt
def dev_outbox():
    _debug_only()
    rows = db.session.execute(
        select(Notification).order_by(Notification.id.desc()).limit(200)
    ).scalars()
    messages = [
        {
            "n": n,
            "segments": segments(n.body) if n.channel is Channel.SMS and n.rendered else None,
            "gsm7": is_gsm7(n.body) if n.channel is Channel.SMS and n.rendered else None,
        }
        for n in rows
    ]
    return render_template("notifications/dev_outbox.html", messages=messages)


@bp.get("/dev/outbox/<int:notification_id>.html")
@limiter.exempt
def dev_outbox_html(notification_id: int):
    _debug_only()
    n = get_by_id(Notification, notification_id)
    if n is None or not n.body_html:
        abort(404)
    response = current_app.response_class(n.body_html, mimetype="text/html")
    # The e-mail's own inline styles, and nothing that runs.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"
    )
    return response
