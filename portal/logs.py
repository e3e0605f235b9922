"""Keep secrets out of request logs: link tokens, typed postcodes, search terms and keys."""

from __future__ import annotations

import logging
import re

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


def install() -> None:
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
