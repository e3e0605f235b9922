"""The spec's error shape: {"error": {"code", "message", "field"}}."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from pydantic import ValidationError
from werkzeug.wrappers import Response

from portal.services.errors import DomainError

KIND_STATUS = {"invalid": 422, "not_found": 404, "conflict": 409}


class APIError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def json_error(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    details: list[dict[str, Any]] | None = None,
) -> tuple[Response, int]:
    body: dict[str, Any] = {"code": code, "message": message, "field": field}
    if details:
        body["details"] = details
    return jsonify(error=body), status


def field_path(loc: tuple[Any, ...]) -> str | None:
    """`("recipient", "phone")` → `recipient.phone`; `("items", 0, "sku")` → `items.0.sku`."""
    return ".".join(str(p) for p in loc) or None


def from_validation(exc: ValidationError, prefix: tuple[Any, ...] = ()):
    errors = exc.errors(include_url=False, include_input=False)
    details = [
        {"code": e["type"], "message": e["msg"], "field": field_path(prefix + tuple(e["loc"]))}
        for e in errors
    ]
    first = details[0]
    if first["code"] == "json_invalid":
        return json_error(400, "invalid_json", "The body is not valid JSON.", None)
    return json_error(422, "validation_error", first["message"], first["field"], details)


def from_domain(exc: DomainError):
    return json_error(KIND_STATUS.get(exc.kind, 422), exc.code, exc.message, exc.field)
