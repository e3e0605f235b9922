"""Channels: the provider calls behind SMS, e-mail and merchant webhooks.

Each `send` returns the provider's id for the message, or raises TemporaryError (try again later:
timeouts, 5xx, 429) or PermanentError (never retry: an invalid number, a refused address, 4xx).
Without Twilio or SMTP settings the development channel records the message instead.
"""

from __future__ import annotations

import hashlib
import hmac
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import urlsplit

import requests
from flask import current_app
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from portal.extensions import db
from portal.models import Channel, Notification, WebhookEndpoint
from portal.net import pinned_session
from portal.services.webhooks import NotPublic, delivery_addresses

SIGNATURE_HEADER = "X-Lastmile-Signature"


class TemporaryError(Exception):
    pass


class PermanentError(Exception):
    pass


def channel_for(channel: Channel):
    config = current_app.config
    if channel is Channel.SMS:
        return TwilioSms() if config.get("TWILIO_ACCOUNT_SID") else DevChannel()
    if channel is Channel.EMAIL:
        return SmtpEmail() if config.get("SMTP_HOST") else DevChannel()
    return MerchantWebhook()


class DevChannel:
    """`make run` without credentials: the message counts as sent and shows at /dev/outbox."""

    def send(self, n: Notification) -> str:
        return f"dev-{n.channel}-{n.id}"


# --- SMS ------------------------------------------------------------------------------------


class RebasedTwilioHttpClient(TwilioHttpClient):
    """Sends the SDK's requests to another base URL (a local stand-in for api.twilio.com)."""

    def __init__(self, base: str, **kwargs):
        super().__init__(**kwargs)
        self.base = base.rstrip("/")

    def request(self, method, url, *args, **kwargs):
        return super().request(method, f"{self.base}{urlsplit(url).path}", *args, **kwargs)


def twilio_http_client() -> TwilioHttpClient:
    """The HTTP client the Twilio SDK talks through: the app's own when one is installed (tests
    record requests there), one rebased to TWILIO_API_BASE (benchmarks), else the SDK's own."""
    installed = current_app.extensions.get("twilio_http_client")
    if installed is not None:
        return installed
    # One per process, so its connection pool is reused from message to message.
    cached = current_app.extensions.get("_twilio_http_client_default")
    if cached is None:
        base = current_app.config.get("TWILIO_API_BASE")
        cached = RebasedTwilioHttpClient(base, timeout=10) if base else TwilioHttpClient(timeout=10)
        current_app.extensions["_twilio_http_client_default"] = cached
    return cached


class TwilioSms:
    def send(self, n: Notification) -> str:
        config = current_app.config
        client = Client(
            config["TWILIO_ACCOUNT_SID"],
            config["TWILIO_AUTH_TOKEN"],
            http_client=twilio_http_client(),
        )
        callback = config["PUBLIC_BASE_URL"].rstrip("/") + "/hooks/twilio/status"
        try:
            message = client.messages.create(
                to=n.recipient, from_=config["TWILIO_FROM"], body=n.body, status_callback=callback
            )
        except TwilioRestException as exc:
            reason = f"Twilio {exc.status} (code {exc.code}): {exc.msg}"
            if exc.status >= 500 or exc.status in (408, 429):
                raise TemporaryError(reason) from exc
            raise PermanentError(reason) from exc
        except (requests.RequestException, TwilioException, OSError) as exc:
            raise TemporaryError(f"Twilio unreachable: {type(exc).__name__}") from exc
        return message.sid


# --- e-mail ---------------------------------------------------------------------------------


def build_email(n: Notification, config) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = config["SMTP_FROM"]
    msg["To"] = n.recipient
    msg["Subject"] = n.subject or ""
    msg["Message-ID"] = make_msgid(idstring=f"n{n.id}", domain="lastmile")
    if n.list_unsubscribe:
        # RFC 2369 + RFC 8058: mail clients offer one-click unsubscribe from these messages.
        msg["List-Unsubscribe"] = f"<{n.list_unsubscribe}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(n.body)
    if n.body_html:
        msg.add_alternative(n.body_html, subtype="html")
    return msg


class SmtpEmail:
    def send(self, n: Notification) -> str:
        config = current_app.config
        msg = build_email(n, config)
        try:
            with smtplib.SMTP(
                config["SMTP_HOST"], int(config["SMTP_PORT"]), timeout=config["SMTP_TIMEOUT"]
            ) as smtp:
                smtp.ehlo()
                if config.get("SMTP_STARTTLS") and smtp.has_extn("starttls"):
                    smtp.starttls()
                    smtp.ehlo()
                if config.get("SMTP_USER"):
                    smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"] or "")
                smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if all(400 <= c < 500 for c in codes):
                raise TemporaryError(f"SMTP recipient deferred {codes}") from exc
            raise PermanentError(f"SMTP recipient refused {codes}") from exc
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                raise TemporaryError(f"SMTP {exc.smtp_code}") from exc
            raise PermanentError(f"SMTP {exc.smtp_code}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TemporaryError(f"SMTP unreachable: {type(exc).__name__}") from exc
        return msg["Message-ID"].strip("<>")


# --- merchant webhooks ----------------------------------------------------------------------


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: `sha256=` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _not_connected(exc: requests.RequestException) -> bool:
    """Whether the request failed before a connection was made (so nothing was sent)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, (NewConnectionError, ConnectTimeoutError))


class MerchantWebhook:
    def __init__(self, verify: bool | str = True) -> None:
        self.verify = verify  # or a CA bundle's path (tests trust their own certificate authority)

    def send(self, n: Notification) -> str:
        endpoint = db.session.get(WebhookEndpoint, n.webhook_endpoint_id)
        if endpoint is None or endpoint.deleted_at is not None:
            raise PermanentError("the endpoint was removed")
        try:
            addresses = delivery_addresses(
                endpoint.url, public_only=not current_app.config["WEBHOOK_ALLOW_INSECURE"]
            )
        except NotPublic as exc:
            if exc.temporary:
                raise TemporaryError("the endpoint's name server did not answer") from exc
            raise PermanentError("the endpoint does not resolve to a public address") from exc
        body = n.body.encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Lastmile-Webhooks/1",
            SIGNATURE_HEADER: sign(endpoint.secret, body),
            "X-Lastmile-Delivery": str(n.id),
        }
        # To the addresses just checked, never to what the name resolves to a moment later; the
        # next one only when no connection was made to the one before (nothing was sent).
        for i, address in enumerate(addresses):
            with pinned_session(address) as session:
                try:
                    response = session.post(
                        endpoint.url,
                        data=body,
                        headers=headers,
                        timeout=10,
                        allow_redirects=False,
                        verify=self.verify,
                    )
                    break
                except requests.RequestException as exc:
                    if i + 1 < len(addresses) and _not_connected(exc):
                        continue
                    raise TemporaryError(f"endpoint unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 500 or response.status_code in (408, 429):
            raise TemporaryError(f"endpoint answered {response.status_code}")
        if not 200 <= response.status_code < 300:
            raise PermanentError(f"endpoint answered {response.status_code}")
        return f"wh-{n.id}"
