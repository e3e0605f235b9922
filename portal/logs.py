"""Logs: secrets kept out (link tokens, typed postcodes, search terms and keys), each line
tagged with its request id, and one JSON object per line when LASTMILE_LOG_FORMAT=json."""

from __future__ import annotations

import contextvars
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.json import JsonFormatter as _LibraryJsonFormatter

_PATTERNS = (
    # Signed links and one-click unsubscribe links: the token is the key.
    (re.compile(r"(/[lu]/)[A-Za-z0-9_\-]+"), r"\1[redacted]"),
    # Staff set-password links (itsdangerous tokens: dots too) open the account.
    (re.compile(r"(/set-password/)[A-Za-z0-9_.\-]+"), r"\1[redacted]"),
    # The console's search box: phone numbers, e-mail addresses and names.
    (re.compile(r"([?&]q=)[^&\s\"]*"), r"\1[redacted]"),
    (re.compile(r"([?&]postcode=)[^&\s\"]*"), r"\1[redacted]"),
    # The same inside a percent-encoded `next=` parameter.
    (
        re.compile(r"(%26postcode%3D)[^&%\s\"]*(?:%[0-9A-F]{2}[^&%\s\"]*)*", re.IGNORECASE),
        r"\1[redacted]",
    ),
    (re.compile(r"(Bearer\s+)\S+", re.IGNORECASE), r"\1[redacted]"),
    # A return label's key opens the label (drop-off and locker codes) without a log-in.
    (re.compile(r"([?&]k=)[^&\s\"]*"), r"\1[redacted]"),
)

# Access logs of the dev server and of gunicorn print the request line.
ACCESS_LOGGERS = ("werkzeug", "gunicorn.access")
# Whose INFO lines the JSON log keeps: the app's own (the worker's line per job) and gunicorn's.
INFO_LOGGERS = ("portal", "werkzeug", "gunicorn.access", "gunicorn.error")


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


# The request (or queued job) a log line belongs to: set by the request hooks
# (portal/observability) and, in the worker, from the job's meta for as long as the job runs.
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
# gunicorn's access line is written after the request's context is gone: its id is the
# response's X-Request-ID header, one of the line's atoms.
_ACCESS_ATOM = "{x-request-id}o"


class RequestIdFilter(logging.Filter):
    """Gives every record a `request_id` (None outside a request or job)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            rid = request_id.get()
            if rid is None and isinstance(record.args, dict) and _ACCESS_ATOM in record.args:
                rid = record.args[_ACCESS_ATOM]
            record.request_id = rid if rid not in (None, "-") else None
        return True


class JsonFormatter(_LibraryJsonFormatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id, and
    exc_info for a traceback. Every text field is redacted on its own before it is serialised
    (a pattern run over the finished line could eat a closing quote)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"}
        )
        super().__init__(["asctime", "levelname", "name", "message", "request_id"], **kwargs)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {k: redact(v) if isinstance(v, str) else v for k, v in log_data.items()}


class JsonHandler(logging.StreamHandler):
    """JSON lines (stderr by default), with ids and redaction applied to every record that
    reaches it, including those propagated from the app's own loggers."""

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream or sys.stderr)
        self.setFormatter(JsonFormatter())
        self.addFilter(RequestIdFilter())
        self.addFilter(RedactingFilter())


def json_handler(stream: Any = None) -> logging.Handler:
    return JsonHandler(stream)


def install(log_format: str = "text") -> None:
    """Redaction on the access loggers; with `json`, one JSON handler on the root logger for
    everything (the app, RQ, werkzeug, gunicorn's lines)."""
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RequestIdFilter) for f in logger.filters):
            # First: it reads the id from the line's atoms, which redaction may drop.
            logger.filters.insert(0, RequestIdFilter())
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
    if log_format != "json":
        return
    root = logging.getLogger()
    if any(isinstance(h, JsonHandler) for h in root.handlers):
        return
    for handler in list(root.handlers):
        # gunicorn's arbiter logs through the library's formatter (deploy/gunicorn.conf.py,
        # which must not import the app); its workers take over with this one.
        if isinstance(handler.formatter, _LibraryJsonFormatter):
            root.removeHandler(handler)
    root.addHandler(JsonHandler())
    # Our own lines from INFO up; libraries' from WARNING (the root logger's level).
    for name in INFO_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
