"""Twilio's webhooks: delivery receipts and replies, both signed with X-Twilio-Signature."""

from __future__ import annotations

import functools
import logging
import re

from flask import abort, current_app, request
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from portal.extensions import csrf, limiter
from portal.forms import page_write
from portal.models import InboundMessage
from portal.notifications import bp
from portal.notifications.replies import handle_inbound, handle_status

log = logging.getLogger(__name__)

# Twilio's SIDs are two letters and 32 hex digits (34 characters); anything that is not letters
# and digits, or longer than the column, is no SID of theirs.
_SID = re.compile(r"[A-Za-z0-9]{1,64}")
# Channels other than SMS name themselves before the number: a WhatsApp reply comes from
# "whatsapp:+46701234567", the same person as the SMS recipient +46701234567.
CHANNEL_PREFIXES = ("whatsapp:",)
# A sender as stored: E.164 (at most 16 characters), a short code or an alphanumeric sender ID.
_SENDER = re.compile(rf"[+0-9A-Za-z]{{1,{InboundMessage.__table__.c.from_phone.type.length}}}")


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


def message_sid() -> str:
    """The webhook's MessageSid, or 400 (nothing is written for a request that has no real one)."""
    sid = request.form.get("MessageSid", "")
    if not _SID.fullmatch(sid):
        abort(400)
    return sid


def sender() -> str:
    """Who wrote, as the phone number our messages went to, or 400."""
    raw = request.form.get("From", "").strip()
    for prefix in CHANNEL_PREFIXES:
        if raw.lower().startswith(prefix):
            raw = raw[len(prefix) :]
            break
    if not _SENDER.fullmatch(raw):
        abort(400)
    return raw


def twiml(text: str | None = None):
    response = MessagingResponse()
    if text:
        response.message(text)
    return current_app.response_class(str(response), mimetype="application/xml")


@bp.post("/hooks/twilio/status")
@csrf.exempt
@limiter.exempt
@twilio_signed
@page_write
def twilio_status():
    handle_status(
        message_sid(),
        request.form.get("MessageStatus", ""),
        request.form.get("ErrorCode"),
    )
    return "", 200


@bp.post("/hooks/twilio/inbound")
@csrf.exempt
@limiter.exempt
@twilio_signed
@page_write
def twilio_inbound():
    reply = handle_inbound(message_sid(), sender(), request.form.get("Body", ""))
    return twiml(reply)
