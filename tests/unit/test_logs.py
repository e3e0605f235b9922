import io
import json
import logging

from portal import logs
from portal.logs import RedactingFilter, json_handler, redact, request_id


def test_tokens_postcodes_and_keys_are_redacted():
    line = '127.0.0.1 - - "GET /l/AbC_12-xyZ HTTP/1.1" 303 - "GET /track?tn=RR1&postcode=11348"'
    out = redact(line + " Authorization: Bearer lm_mk_secret")
    assert "AbC_12-xyZ" not in out and "11348" not in out and "lm_mk_secret" not in out
    assert "/l/[redacted]" in out and "tn=RR1" in out
    label = redact('"GET /r/YC9W-KCR6/label.png?k=0123abcd4567ef89 HTTP/1.1" 200')
    assert "0123abcd" not in label and "label.png?k=[redacted] HTTP" in label


def test_filter_rewrites_werkzeug_style_records():
    record = logging.LogRecord(
        "werkzeug",
        logging.INFO,
        __file__,
        1,
        '%s - - "%s" %s',
        ("1.2.3.4", "GET /l/tok123", 303),
        None,
    )
    RedactingFilter().filter(record)
    assert "tok123" not in record.getMessage()


def test_search_terms_and_unsubscribe_tokens_are_redacted():
    out = redact('"GET /admin/?q=%2B46701234567&go=list HTTP/1.1" 200 "POST /u/Tok_en-1 HTTP/1.1"')
    assert "46701234567" not in out and "Tok_en-1" not in out
    assert "/admin/?q=[redacted]&go=list" in out and "/u/[redacted] HTTP" in out


def test_set_password_tokens_are_redacted():
    token = "WzcsImFiYyJd.Z3x-Qw.kP_9vX-2aB"
    out = redact(
        f'"GET /set-password/{token} HTTP/1.1" 200 "POST /set-password/{token} HTTP/1.1" 303 '
        f'"GET /lang/sv?next=/set-password/{token} HTTP/1.1"'
    )
    assert token not in out and "WzcsImFiYyJd" not in out and "kP_9vX" not in out
    assert out.count("/set-password/[redacted]") == 3 and "[redacted] HTTP/1.1" in out


def _json_line(record: logging.LogRecord) -> dict:
    stream = io.StringIO()
    json_handler(stream).handle(record)
    [line] = stream.getvalue().splitlines()
    return json.loads(line)


def test_json_line_has_time_level_logger_message_and_the_request_id():
    record = logging.LogRecord("portal.x", logging.WARNING, __file__, 1, "sent %d", (3,), None)
    token = request_id.set("req-42")
    try:
        line = _json_line(record)
    finally:
        request_id.reset(token)
    assert line == {
        "time": line["time"],
        "level": "WARNING",
        "logger": "portal.x",
        "message": "sent 3",
        "request_id": "req-42",
    }
    assert line["time"].endswith("+00:00")


def test_gunicorn_access_line_keeps_its_request_id_when_its_token_is_masked():
    logs.install()  # the filters gunicorn's access logger gets in every worker
    record = logging.LogRecord(
        "gunicorn.access",
        logging.INFO,
        __file__,
        1,
        '"%(r)s" %(s)s %({x-request-id}o)s',
        ({"r": "GET /l/tok123 HTTP/1.1", "s": "303", "{x-request-id}o": "abc"},),
        None,
    )
    for f in logging.getLogger("gunicorn.access").filters:
        f.filter(record)
    line = _json_line(record)
    assert line["message"] == '"GET /l/[redacted] HTTP/1.1" 303 abc'
    assert line["request_id"] == "abc"
