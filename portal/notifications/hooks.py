"""Twilio's webhooks: delivery receipts and replies, both signed with X-Twilio-Signature."""

from __future__ import annotations

import functools
import logging

from flask import abort, current_app, request
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from portal.extensions import csrf, db, limiter
from portal.notifications import bp
from portal.notifications.replies import handle_inbound, handle_status

log = logging.getLogger(__name__)


def public_url() -> str:
    """The URL Twilio called, as it saw it: behind a proxy our own host and scheme differ, so
    the signature is checked against PUBLIC_BASE_URL plus the path and query."""
    query = request.query_string.decode()
    return (
        current_app.config["PUBLIC_BASE_URL"].rstrip("/")
        + request.path
        + (f"?{query}" if query else "")
    )


def twilio_signed(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        token = current_app.config.get("TWILIO_AUTH_TOKEN")
        signature = request.headers.get("X-Twilio-Signature", "")
        if not token or not signature:
            abort(403)
        if not RequestValidator(token).validate(public_url(), request.form.to_dict(), signature):
            log.warning("rejected a Twilio webhook with a wrong signature")
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def twiml(text: str | None = None):
    response = MessagingResponse()
    if text:
        response.message(text)
    return current_app.response_class(str(response), mimetype="application/xml")


@bp.post("/hooks/twilio/status")
@csrf.exempt
@limiter.exempt
@twilio_signed
def twilio_status():
    handle_status(
        request.form.get("MessageSid", ""),
        request.form.get("MessageStatus", ""),
        request.form.get("ErrorCode"),
    )
    db.session.commit()
    return "", 200


@bp.post("/hooks/twilio/inbound")
@csrf.exempt
@limiter.exempt
@twilio_signed
def twilio_inbound():
    reply = handle_inbound(
        request.form.get("MessageSid", ""),
        request.form.get("From", ""),
        request.form.get("Body", ""),
    )
    db.session.commit()
    return twiml(reply)
