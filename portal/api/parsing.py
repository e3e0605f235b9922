"""Reading a JSON request body into a pydantic model, or the 400/422 answer saying what is wrong."""

from __future__ import annotations

import json
from typing import Any

from flask import request
from pydantic import BaseModel, ValidationError

from portal.api.errors import from_validation, json_error
from portal.services.errors import DomainError


def json_body() -> Any:
    """The parsed body, or None when it is not JSON at all."""
    try:
        return json.loads(request.get_data(cache=True) or b"")
    except (ValueError, RecursionError):  # RecursionError: "[[[[…" nested past any sense
        return None


def parse_body(model: type[BaseModel]):
    """(the validated body, None), or (None, the 400/422 answer saying what is wrong)."""
    body = json_body()
    if body is None:
        return None, json_error(400, "invalid_json", "The body is not valid JSON.")
    try:
        return model.model_validate(body), None
    except ValidationError as exc:
        return None, from_validation(exc)


def query_text(name: str, *, max_length: int = 200) -> str | None:
    """A query parameter's text, stripped; None when it is absent. Present but blank (`since=`),
    too long or carrying control characters it is a mistake, never "no filter": DomainError
    naming the parameter as `field` (422, as a body's errors are)."""
    raw = request.args.get(name)
    if raw is None:
        return None
    text = raw.strip()
    if not text:
        raise DomainError(f"`{name}` is empty: give a value or leave it out.", field=name)
    if len(text) > max_length or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise DomainError(f"`{name}` is not a value this call understands.", field=name)
    return text
