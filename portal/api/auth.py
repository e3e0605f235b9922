"""Bearer-key authentication: who is calling, and may they call this?"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import Any

from flask import g, request

from portal.api.errors import json_error
from portal.models import ApiKey
from portal.services.api_keys import authenticate


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def rate_limit_key() -> str:
    """Limits count per API key (a hash of it: the key itself never reaches Redis), else per IP."""
    token = bearer_token()
    if token:
        return "key:" + hashlib.sha256(token.encode()).hexdigest()[:24]
    return "ip:" + (request.remote_addr or "?")


def require_key(role: str | None = None) -> Callable:
    """Authenticate the Bearer key (401), then check it is a `merchant` or `carrier` key (403)."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any):
            key = authenticate(bearer_token() or "")
            if key is None:
                return json_error(
                    401, "unauthorized", "Send a valid API key as 'Authorization: Bearer <key>'."
                )
            if role == "merchant" and key.merchant_id is None:
                return json_error(403, "forbidden", "This call needs a merchant key.")
            if role == "carrier" and key.carrier_id is None:
                return json_error(403, "forbidden", "This call needs a carrier key.")
            g.api_key = key
            return view(*args, **kwargs)

        return wrapper

    return decorator


def current_key() -> ApiKey:
    return g.api_key
