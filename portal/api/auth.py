"""Bearer-key authentication: who is calling, and may they call this?"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import Any

from flask import current_app, g, request
from limits import parse

from portal.api.errors import json_error
from portal.extensions import limiter
from portal.models import ApiKey
from portal.net import remote_client
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
    return "ip:" + remote_client()


def _wrong_key_limit():
    return parse(current_app.config["RATELIMIT_API_WRONG_KEYS"])


def _wrong_keys_exhausted(ip: str) -> bool:
    """Whether this address has sent too many missing or wrong keys lately. The per-key limit
    alone would give each guessed key a fresh budget of its own."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return False
    return not limiter.limiter.test(_wrong_key_limit(), "api-wrong-key", ip)


def _count_wrong_key(ip: str) -> None:
    if current_app.config.get("RATELIMIT_ENABLED", True):
        limiter.limiter.hit(_wrong_key_limit(), "api-wrong-key", ip)


def require_key(role: str | None = None) -> Callable:
    """Authenticate the Bearer key (401), then check it is a `merchant` or `carrier` key (403)."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any):
            ip = remote_client()
            if _wrong_keys_exhausted(ip):
                return json_error(
                    429,
                    "rate_limited",
                    "Too many requests with a missing or wrong API key. Wait a minute.",
                )
            key = authenticate(bearer_token() or "")
            if key is None:
                _count_wrong_key(ip)
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
