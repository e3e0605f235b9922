"""Merchants' own wording of customer messages: the built-in text to start from, checked
overrides, previews on a sample parcel, saving and resetting (audited). Rendering an override
when a message is written, and the sandbox it runs in, are in sandbox.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from flask import current_app
from flask_babel import force_locale, format_decimal, ngettext
from flask_babel import gettext as _
from jinja2 import TemplateError, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.gsm7 import is_gsm7, segments
from portal.localtime import format_day, local_day
from portal.models import (
    Account,
    Channel,
    Merchant,
    MessageTemplate,
    Parcel,
    ParcelItem,
    Return,
)
from portal.models.types import utcnow
from portal.services.audit import record
from portal.services.errors import DomainError, NotFound
from portal.services.messages.context import base_url, context
from portal.services.messages.sandbox import (
    SMS_MAX_SEGMENTS,
    environment,
    outside_the_language,
    render_text,
)
from portal.services.messages.triggers import TRIGGERS, context_keys

CHANNELS = (Channel.SMS, Channel.EMAIL)
SUBJECT_MAX = 200  # the column's width
BODY_MAX = {Channel.SMS: 1_000, Channel.EMAIL: 10_000}


class TemplateRefused(DomainError):
    """An override that would not render, or not safely; `errors` by form field."""

    def __init__(self, errors: dict[str, str]):
        field_name, message = next(iter(errors.items()))
        super().__init__(message, field=field_name, code="template_invalid")
        self.errors = errors


@dataclass
class Source:
    """The text an editor shows: the override, else the built-in template's."""

    subject: str | None
    body: str
    override: MessageTemplate | None = None


@dataclass
class Preview:
    subject: str | None = None
    text: str = ""
    html: str | None = None
    characters: int = 0
    segments: int | None = None  # SMS only
    encoding: str | None = None  # "GSM-7" or "UCS-2", SMS only
    errors: dict[str, str] = field(default_factory=dict)


# --- built-in text ------------------------------------------------------------------------


def _check_target(trigger: str, channel: Channel | str, language: str) -> Channel:
    if trigger not in TRIGGERS:
        raise NotFound(f"No message is called {trigger!r}.", field="trigger")
    try:
        channel = Channel(channel)
    except ValueError:
        raise NotFound(f"No channel is called {channel!r}.", field="channel") from None
    if channel not in CHANNELS:
        raise NotFound(f"Channel {channel} has no templates.", field="channel")
    if language not in current_app.config["LANGUAGES"]:
        raise NotFound(f"No language is called {language!r}.", field="language")
    return channel


def _block_source(source: str, name: str) -> str:
    found = re.search(
        r"{%-?\s*block\s+" + name + r"\s*-?%}(.*?){%-?\s*endblock(?:\s+" + name + r")?\s*-?%}",
        source,
        re.DOTALL,
    )
    return found.group(1).strip("\n") if found else ""


def default_source(trigger: str, channel: Channel | str, language: str) -> Source:
    """The built-in template's text of one message (for e-mail: the subject and text body)."""
    channel = _check_target(trigger, channel, language)
    name = f"notifications/{trigger}/{channel}.{language}.txt"
    env = current_app.jinja_env
    source, _, _ = env.loader.get_source(env, name)
    if channel is Channel.SMS:
        return Source(subject=None, body=_block_source(source, "body"))
    return Source(subject=_block_source(source, "subject"), body=_block_source(source, "body"))


def find_override(
    merchant_id: int, trigger: str, channel: Channel | str, language: str
) -> MessageTemplate | None:
    return db.session.execute(
        select(MessageTemplate).where(
            MessageTemplate.merchant_id == merchant_id,
            MessageTemplate.trigger == trigger,
            MessageTemplate.channel == str(channel),
            MessageTemplate.language == language,
        )
    ).scalar_one_or_none()


def overrides(merchant: Merchant) -> dict[tuple[str, str, str], MessageTemplate]:
    """The merchant's overrides by (trigger, channel, language)."""
    rows = db.session.execute(
        select(MessageTemplate).where(MessageTemplate.merchant_id == merchant.id)
    ).scalars()
    return {(t.trigger, t.channel, t.language): t for t in rows}


def current_source(merchant: Merchant, trigger: str, channel: Channel | str, language: str):
    """What the editor starts from: the merchant's override, else the built-in text."""
    channel = _check_target(trigger, channel, language)
    found = find_override(merchant.id, trigger, channel, language)
    if found is not None:
        return Source(subject=found.subject, body=found.body, override=found)
    return default_source(trigger, channel, language)


# --- previews and checks ------------------------------------------------------------------

SAMPLE_TOKEN = "AbCdEfGhIjKl"  # noqa: S105 - not a secret; as long as a real link token (issue_link: 12 characters)


def _sample_parcel(merchant: Merchant, language: str) -> Parcel:
    """A parcel of the merchant, never saved: a preview shows no real customer's data."""
    tomorrow = datetime.combine(utcnow().date() + timedelta(days=1), time(8), tzinfo=UTC)
    parcel = Parcel(
        tracking_number="RR123456785SE",
        merchant_id=merchant.id,
        recipient_name="Alva Lindqvist",
        recipient_phone="+46701234567",
        recipient_email="alva@example.com",
        address_line="Surbrunnsgatan 14",
        postcode="113 48",
        city="Stockholm",
        country="SE",
        language=language,
        currency="SEK",
        weight_grams=1500,
        eta_from=tomorrow,
        eta_to=tomorrow + timedelta(hours=2),
        status_at=utcnow(),
        items=[ParcelItem(sku="TENT-2P", name="Trail tent", quantity=1, unit_price=Decimal(2499))],
    )
    parcel.merchant = merchant  # transient: no backref puts it in the session
    return parcel


_SAMPLE_TEXT = {
    "en": {
        "choice_text": "Pickup point: ICA Nära Vasastan, Surbrunnsgatan 21",
        "pickup_place": "ICA Nära Vasastan, Surbrunnsgatan 21",
        "reason": "the pickup point is closed for renovation",
        "complaint_type": "Damaged",
        "status_text": "Investigating",
        "status_explanation": "We're looking into it with the carrier.",
        "resolution_text": "Refund of SEK 499.00",
        "agent_message": "We've asked the driver and will come back to you.",
    },
    "sv": {
        "choice_text": "Utlämningsställe: ICA Nära Vasastan, Surbrunnsgatan 21",
        "pickup_place": "ICA Nära Vasastan, Surbrunnsgatan 21",
        "reason": "utlämningsstället är stängt för renovering",
        "complaint_type": "Skadat",
        "status_text": "Utreds",
        "status_explanation": "Vi tittar på det tillsammans med transportören.",
        "resolution_text": "Återbetalning 499,00 kr",
        "agent_message": "Vi har frågat föraren och återkommer till dig.",
    },
    "nb": {
        "choice_text": "Hentested: ICA Nära Vasastan, Surbrunnsgatan 21",
        "pickup_place": "ICA Nära Vasastan, Surbrunnsgatan 21",
        "reason": "hentestedet er stengt på grunn av oppussing",
        "complaint_type": "Skadet",
        "status_text": "Undersøkes",
        "status_explanation": "Vi undersøker saken sammen med transportøren.",
        "resolution_text": "Refusjon på 499,00 kr",
        "agent_message": "Vi har spurt sjåføren og kommer tilbake til deg.",
    },
    "da": {
        "choice_text": "Pakkeshop: ICA Nära Vasastan, Surbrunnsgatan 21",
        "pickup_place": "ICA Nära Vasastan, Surbrunnsgatan 21",
        "reason": "pakkeshoppen har lukket på grund af renovering",
        "complaint_type": "Beskadiget",
        "status_text": "Undersøges",
        "status_explanation": "Vi undersøger sagen sammen med fragtfirmaet.",
        "resolution_text": "Refusion på 499,00 kr.",
        "agent_message": "Vi har spurgt chaufføren og vender tilbage til dig.",
    },
    "fi": {
        "choice_text": "Noutopiste: ICA Nära Vasastan, Surbrunnsgatan 21",
        "pickup_place": "ICA Nära Vasastan, Surbrunnsgatan 21",
        "reason": "noutopiste on suljettu remontin vuoksi",
        "complaint_type": "Vaurioitunut",
        "status_text": "Selvityksessä",
        "status_explanation": "Selvitämme asiaa kuljetusyhtiön kanssa.",
        "resolution_text": "Hyvitys 499,00 €",
        "agent_message": "Olemme kysyneet asiaa kuljettajalta ja palaamme asiaan pian.",
    },
}


def sample_context(merchant: Merchant, trigger: str, channel: Channel, language: str) -> dict:
    """Every variable the trigger's messages can use, with realistic values of full length."""
    parcel = _sample_parcel(merchant, language)
    words = _SAMPLE_TEXT.get(language, _SAMPLE_TEXT["en"])
    extra: dict = {}
    if trigger.startswith("return_"):
        ret = Return(rma="K7QX94MP", currency="SEK", status_at=utcnow())
        extra |= {"return_": ret, "rma": ret.rma, "currency": ret.currency}
        extra |= {"place": "Pressbyrån Odenplan", "dropped_off_at": utcnow()}
        extra |= {"amount": "1249.50"}
    if trigger.startswith("complaint_"):
        extra |= {k: words[k] for k in ("complaint_type", "status_text", "status_explanation")}
        extra |= {"case_number": "C-7Q4K2M", "resolution_text": words["resolution_text"]}
        extra |= {"agent_message": words["agent_message"], "needs_answer": False}
    if trigger == "choice_withdrawn":
        extra |= {"withdrawn_text": words["choice_text"], "reason": words["reason"]}
    with force_locale(language):
        extra["due_day"] = local_day(utcnow() + timedelta(days=3), parcel.time_zone)
        values = context(parcel, trigger, SAMPLE_TOKEN, extra)
    # What context() reads from the parcel's history (none: it was never saved).
    values["choice_text"] = words["choice_text"]
    values["pickup_place"] = words["pickup_place"]
    values["pickup_hours"] = "10:00-16:00"  # the last day's hours (a Saturday's, say)
    values["unsubscribe_link"] = f"{base_url()}/u/{SAMPLE_TOKEN}"
    if trigger == "parcel_created":
        # A predicted delivery (the sample's carrier window would leave these empty).
        today = utcnow().date()
        with force_locale(language):
            values["expected_day"] = format_day(today + timedelta(days=2))
            values["expected_earliest"] = format_day(today + timedelta(days=1))
            values["expected_latest"] = format_day(today + timedelta(days=3))
        # A standing preference applied (issue 19), so a merchant's wording can be tried with
        # it: the sample's words for a pickup point.
        values["preference_text"] = words["choice_text"]
        values["preference_short"] = words["choice_text"][:40].rstrip(" ,.")
    # Exactly the names a template may use: what isn't listed is an error in a preview too.
    allowed = context_keys(trigger, channel)
    return {k: v for k, v in values.items() if k in allowed}


def _first_line(exc: Exception) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


# A message needs words, variables, `if`/`else` and a few filters, nothing that loops, assigns or
# computes: so every template runs in time and memory bounded by its own length, and a merchant's


def _check_source(env, source: str, allowed: frozenset[str], errors: dict, name: str) -> bool:
    """Syntax, includes and names of one text; the error goes in `errors[name]`."""
    try:
        ast = env.parse(source)
    except TemplateSyntaxError as exc:
        # Jinja's own words for what is wrong stay as Jinja wrote them.
        errors[name] = _("Line %(line)d: %(problem)s", line=exc.lineno, problem=exc.message)
        return False
    if any(ast.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport))):
        errors[name] = _("Templates can't include, import or extend other templates.")
        return False
    refused = outside_the_language(ast)
    if refused:
        errors[name] = refused
        return False
    unknown = sorted(meta.find_undeclared_variables(ast) - allowed)
    if unknown:
        listed = ", ".join(f"{{{{ {n} }}}}" for n in unknown)
        errors[name] = ngettext(
            "Unknown variable: %(names)s.",
            "Unknown variables: %(names)s.",
            len(unknown),
            names=listed,
        )
        return False
    return True


def preview(
    merchant: Merchant,
    trigger: str,
    channel: Channel | str,
    language: str,
    subject: str | None,
    body: str,
) -> Preview:
    """The message as a recipient of `merchant` would get it, on a sample parcel; what's wrong
    with the text is in `errors` (by field), so a form can show it in place."""
    channel = _check_target(trigger, channel, language)
    result = Preview()
    errors = result.errors
    body = (body or "").replace("\r\n", "\n")
    subject = subject or ""
    if channel is Channel.EMAIL:
        if "\n" in subject or "\r" in subject:
            errors["subject"] = _("The subject must be one line.")
        elif not subject.strip():
            errors["subject"] = _("Enter a subject.")
        elif len(subject) > SUBJECT_MAX:
            errors["subject"] = _(
                "The subject can be at most %(num)s characters.", num=format_decimal(SUBJECT_MAX)
            )
    if not body.strip():
        errors["body"] = _("Enter the message.")
    elif len(body) > BODY_MAX[channel]:
        errors["body"] = _(
            "The message can be at most %(num)s characters.", num=format_decimal(BODY_MAX[channel])
        )

    env = environment(strict=True)
    allowed = context_keys(trigger, channel)
    texts = [("body", body)] + ([("subject", subject)] if channel is Channel.EMAIL else [])
    for name, source in texts:
        if name not in errors:
            _check_source(env, source, allowed, errors, name)
    if (
        channel is Channel.EMAIL
        and "body" not in errors
        and "unsubscribe_link" not in meta.find_undeclared_variables(env.parse(body))
    ):
        errors["body"] = _("Keep the unsubscribe link ({{ unsubscribe_link }}) in the e-mail.")
    if errors:
        return result

    sample = sample_context(merchant, trigger, channel, language)
    try:
        content = render_text(env, trigger, channel, language, subject, body, sample)
    except SecurityError as exc:
        errors["body"] = _("Not allowed: %(problem)s", problem=_first_line(exc))
        return result
    except (TemplateError, TypeError, ValueError, ArithmeticError, LookupError) as exc:
        errors["body"] = _("This doesn't render: %(problem)s", problem=_first_line(exc))
        return result
    result.subject, result.text, result.html = (
        content["subject"],
        content["body"],
        content["body_html"],
    )
    result.characters = len(result.text)
    if channel is Channel.SMS:
        result.segments = segments(result.text)
        result.encoding = "GSM-7" if is_gsm7(result.text) else "UCS-2"
        if not result.text:
            errors["body"] = _("The message comes out empty.")
        elif result.segments > SMS_MAX_SEGMENTS:
            errors["body"] = _(
                "The message is %(num)d SMS segments; at most %(most)d.",
                num=result.segments,
                most=SMS_MAX_SEGMENTS,
            )
    elif channel is Channel.EMAIL and not result.subject:
        errors["subject"] = _("The subject comes out empty.")
    return result


# --- saving -------------------------------------------------------------------------------


def _audit_subject(merchant: Merchant, trigger: str, channel: Channel, language: str) -> str:
    return f"template:{merchant.id}:{trigger}:{channel}:{language}"


def save_override(
    merchant: Merchant,
    trigger: str,
    channel: Channel | str,
    language: str,
    subject: str | None,
    body: str,
    account: Account,
) -> MessageTemplate:
    """Check and store the merchant's wording of one message (audited); raises TemplateRefused
    with the errors by field. The caller commits."""
    channel = _check_target(trigger, channel, language)
    body = (body or "").replace("\r\n", "\n").strip("\n")
    subject = subject.strip() if channel is Channel.EMAIL and subject else None
    checked = preview(merchant, trigger, channel, language, subject, body)
    if checked.errors:
        raise TemplateRefused(checked.errors)
    before = current_source(merchant, trigger, channel, language)
    row = before.override
    if row is None:
        row = MessageTemplate(
            merchant_id=merchant.id, trigger=trigger, channel=str(channel), language=language
        )
        row.body = body
        try:
            with db.session.begin_nested():
                db.session.add(row)
        except IntegrityError:  # another supervisor saved this one a moment ago: update theirs
            row = find_override(merchant.id, trigger, channel, language)
    row.subject, row.body, row.updated_by_id, row.updated_at = subject, body, account.id, utcnow()
    record(
        account,
        "template.save",
        subject=_audit_subject(merchant, trigger, channel, language),
        before={"subject": before.subject, "body": before.body, "default": before.override is None},
        after={"subject": subject, "body": body},
    )
    db.session.flush()
    return row


def reset(
    merchant: Merchant, trigger: str, channel: Channel | str, language: str, account: Account
) -> bool:
    """Back to the built-in text (audited); False when there was no override. Caller commits."""
    channel = _check_target(trigger, channel, language)
    row = find_override(merchant.id, trigger, channel, language)
    if row is None:
        return False
    default = default_source(trigger, channel, language)
    record(
        account,
        "template.reset",
        subject=_audit_subject(merchant, trigger, channel, language),
        before={"subject": row.subject, "body": row.body},
        after={"subject": default.subject, "body": default.body, "default": True},
    )
    db.session.delete(row)
    db.session.flush()
    return True
