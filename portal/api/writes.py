"""API writes: one transaction per call, committed here, with Idempotency-Key replays.

The first successful answer to a key is stored in the same transaction as the write itself, so a
client retrying after a timeout gets that answer again and never a second parcel or webhook.
The same key with a different request (another body or endpoint) is a 409.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable

from flask import current_app, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.api.auth import current_key
from portal.api.errors import json_error
from portal.extensions import db
from portal.models import IdempotencyRecord


def _fingerprint() -> str:
    raw = request.get_data(cache=True)
    try:
        canonical = json.dumps(json.loads(raw), sort_keys=True).encode()
    except (ValueError, RecursionError):
        canonical = raw
    return hashlib.sha256(f"{request.method} {request.path}\n".encode() + canonical).hexdigest()


def _replay(key: str, fingerprint: str):
    record = db.session.execute(
        select(IdempotencyRecord).where(
            IdempotencyRecord.api_key_id == current_key().id, IdempotencyRecord.key == key
        )
    ).scalar_one_or_none()
    if record is None:
        return None
    if record.request_hash != fingerprint:
        return json_error(
            409,
            "idempotency_key_reused",
            "This Idempotency-Key was used with a different request.",
            "Idempotency-Key",
        )
    response = current_app.response_class(
        record.response_body, status=record.status_code, mimetype="application/json"
    )
    response.headers["Idempotent-Replayed"] = "true"
    return response


def api_write(view: Callable) -> Callable:
    """Wrap a write handler (after `require_key`): the handler changes the session, this commits
    on a 2xx answer and rolls back otherwise."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is not None and not 0 < len(key) <= 255:
            return json_error(
                400,
                "invalid_idempotency_key",
                "Idempotency-Key is 1 to 255 characters.",
                "Idempotency-Key",
            )
        fingerprint = _fingerprint() if key else ""
        if key and (replay := _replay(key, fingerprint)):
            return replay
        response = current_app.make_response(view(*args, **kwargs))
        if not 200 <= response.status_code < 300:
            db.session.rollback()
            return response
        if key:
            db.session.add(
                IdempotencyRecord(
                    api_key_id=current_key().id,
                    key=key,
                    request_hash=fingerprint,
                    status_code=response.status_code,
                    response_body=response.get_data(as_text=True),
                )
            )
        try:
            db.session.commit()
        except IntegrityError:
            # A concurrent request with the same key won the race: answer as it did.
            db.session.rollback()
            if key and (replay := _replay(key, fingerprint)):
                return replay
            raise
        return response

    return wrapper
