"""Bearer-key authentication, and the API's two rate limits: who is calling, may they call
this, and have they called too often?

A request with a valid key is judged by its key's limit alone (RATELIMIT_API per key), so a
stale worker sending an old key from a merchant's address never blocks the merchant's good
key. A request without a valid key (none, wrong or revoked) counts against its address's
limit (RATELIMIT_API_WRONG_KEYS per IP), which only ever refuses such requests. So a key is
looked up before any limit, and a right key from an address past its limit still gets in:
what stops guessing is the key's 32 random bytes, not this limit, which sheds wrong-key
traffic (a 429 costs the lookup, no more). Either way Flask-Limiter answers the 429 and puts the
headers of the limit that was counted (X-RateLimit-*, Retry-After) on every answer.

Cost per request, however many wrong keys arrive: one SHA-256 of the token and one lookup
on the unique `key_hash` index (services/api_keys.py); the key's limit is keyed by the hash
already stored, never hashed again.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import current_app, g, request

from portal.api.errors import json_error
from portal.extensions import limiter
from portal.models import ApiKey
from portal.net import remote_client
from portal.services.api_keys import authenticate

# RFC 6750: the realm every API 401 names in its WWW-Authenticate challenge.
REALM = "lastmile-api"


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def challenge(token_sent: bool) -> str:
    """The WWW-Authenticate value of an API 401: `invalid_token` when a token came but is
    no live key (RFC 6750 3.1); no error code when none came (3.1: the client didn't try)."""
    value = f'Bearer realm="{REALM}"'
    return value + ', error="invalid_token"' if token_sent else value


def _limits_off() -> bool:
    return not current_app.config.get("RATELIMIT_ENABLED", True)


def _key_bucket() -> str:
    # The stored hash names the bucket: the key itself never reaches Redis, nor is hashed twice.
    return "key:" + g.api_key.key_hash[:24]


def _address_bucket() -> str:
    return "ip:" + remote_client()


def _key_limit_message() -> str:
    return f"Too many requests with this API key (at most {current_app.config['RATELIMIT_API']})."


def _wrong_key_message() -> str:
    return (
        "Too many requests with a missing or wrong API key from this address "
        f"(at most {current_app.config['RATELIMIT_API_WRONG_KEYS']}). A valid key is not held up."
    )


_per_key = limiter.shared_limit(
    lambda: current_app.config["RATELIMIT_API"],
    scope="api",
    key_func=_key_bucket,
    error_message=_key_limit_message,
    exempt_when=_limits_off,
)
_per_address = limiter.shared_limit(
    lambda: current_app.config["RATELIMIT_API_WRONG_KEYS"],
    scope="api-wrong-key",
    key_func=_address_bucket,
    error_message=_wrong_key_message,
    exempt_when=_limits_off,
)


@_per_address
def _unauthorized(token_sent: bool):
    """401, counted against the address (429 once it has sent too many)."""
    response, status = json_error(
        401, "unauthorized", "Send a valid API key as 'Authorization: Bearer <key>'."
    )
    response.headers["WWW-Authenticate"] = challenge(token_sent)
    return response, status


@_per_key
def _as_key(role: str | None, view: Callable, args: tuple, kwargs: dict) -> Any:
    """The call, counted against the key (429 once it has made too many)."""
    key = g.api_key
    if role == "merchant" and key.merchant_id is None:
        return json_error(403, "forbidden", "This call needs a merchant key.")
    if role == "carrier" and key.carrier_id is None:
        return json_error(403, "forbidden", "This call needs a carrier key.")
    return view(*args, **kwargs)


def require_key(role: str | None = None) -> Callable:
    """Authenticate the Bearer key (401), then check it is a `merchant` or `carrier` key (403);
    each under its own rate limit (see the module's docstring)."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any):
            token = bearer_token()
            key = authenticate(token or "")
            if key is None:
                return _unauthorized(token is not None)
            g.api_key = key
            return _as_key(role, view, args, kwargs)

        return wrapper

    return decorator


def current_key() -> ApiKey:
    return g.api_key
