"""Reading a JSON request body into a pydantic model, or the 400/422 answer saying what is wrong."""

from __future__ import annotations

import json
from typing import Any

from flask import request
from pydantic import BaseModel, ValidationError

from portal.api.errors import from_validation, json_error


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
