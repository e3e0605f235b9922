"""Merchants' own wording of customer messages: the built-in text to start from, checked
overrides, previews on a sample parcel, and rendering them in a sandbox when a message is sent.

Overrides are Jinja text edited in the console, so they never run with the app's environment:
a sandbox with only the message's variables and the app's filters, no globals, no includes, and
model objects that show their columns and nothing else (no `parcel.query`, no accounts).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from functools import cache

from flask import current_app
from flask_babel import force_locale
from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, Undefined, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape
from sqlalchemy import event, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.localtime import local_day
from portal.models import (
    Account,
    Carrier,
    Channel,
    Merchant,
    MessageTemplate,
    Parcel,
    ParcelItem,
    Return,
    ReturnItem,
    Zone,
)
from portal.models.types import utcnow
from portal.notifications.outbox import TRIGGERS, _context, context_keys
from portal.notifications.sms import is_gsm7, segments
from portal.services.audit import record
from portal.services.errors import DomainError, NotFound

CHANNELS = (Channel.SMS, Channel.EMAIL)
SUBJECT_MAX = 200  # the column's width
BODY_MAX = {Channel.SMS: 1_000, Channel.EMAIL: 10_000}
SMS_MAX_SEGMENTS = 10  # beyond this a message costs more than it tells
# A template may repeat text (`"-" * 20`), not fill the memory.
_MAX_REPEAT = 1_000

# The models a message may read from (columns, properties and relationships between them).
# Anything else, accounts above all, is out of reach.
TEMPLATE_MODELS = (Parcel, ParcelItem, Merchant, Carrier, Zone, Return, ReturnItem)


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


# --- the sandbox --------------------------------------------------------------------------


@cache
def _model_attributes(cls: type) -> frozenset[str]:
    """Columns, relationships to other template models, and read-only properties of `cls`."""
    mapper = sa_inspect(cls)
    names = {c.key for c in mapper.column_attrs}
    names |= {r.key for r in mapper.relationships if issubclass(r.mapper.class_, TEMPLATE_MODELS)}
    for klass in cls.__mro__:
        if klass is db.Model or not issubclass(klass, db.Model):
            continue
        names |= {n for n, v in vars(klass).items() if isinstance(v, property)}
    return frozenset(n for n in names if not n.startswith("_"))


class _Sandbox(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def is_safe_attribute(self, obj, attr: str, value) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        if isinstance(obj, db.Model) or (isinstance(obj, type) and issubclass(obj, db.Model)):
            # Model classes, `query`, `metadata`, methods: none of them belong in a message.
            return isinstance(obj, TEMPLATE_MODELS) and attr in _model_attributes(type(obj))
        return True

    def call_binop(self, context, operator: str, left, right):
        if operator == "**" and isinstance(right, int) and abs(right) > 100:
            raise SecurityError("the exponent is too large")
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                sized = isinstance(seq, str | list | tuple) and isinstance(count, int)
                if sized and len(seq) * count > _MAX_REPEAT:
                    raise SecurityError("the repeated text is too long")
        return super().call_binop(context, operator, left, right)


def _environment(strict: bool) -> SandboxedEnvironment:
    """The app's sandbox (strict: undefined names raise, for previews and checks)."""
    key = "message_templates_strict" if strict else "message_templates"
    env = current_app.extensions.get(key)
    if env is None:
        env = _Sandbox(
            undefined=StrictUndefined if strict else Undefined,
            autoescape=False,  # text: the HTML part escapes on its own
            keep_trailing_newline=False,
        )
        # The app's filters (dates, money in the recipient's language) and the harmless text
        # ones; no globals at all (range, namespace, lipsum … would let a template loop).
        every = {**env.filters, **current_app.jinja_env.filters}
        env.filters = {name: every[name] for name in ALLOWED_FILTERS if name in every}
        env.tests.update(current_app.jinja_env.tests)
        env.globals.clear()
        current_app.extensions[key] = env
    return env


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


_SENDING = "message_template_overrides"


def _override_for_sending(
    merchant_id: int, trigger: str, channel: Channel | str, language: str
) -> MessageTemplate | None:
    """find_override for the send path, one query per merchant per transaction: a batch of a
    thousand carrier events renders hundreds of messages of one merchant."""
    memo = db.session.info.setdefault(_SENDING, {})
    if merchant_id not in memo:
        rows = db.session.execute(
            select(MessageTemplate).where(MessageTemplate.merchant_id == merchant_id)
        ).scalars()
        memo[merchant_id] = {(t.trigger, t.channel, t.language): t for t in rows}
    return memo[merchant_id].get((trigger, str(channel), language))


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_overrides(session: Session) -> None:
    # The next transaction reads them again: a supervisor's change applies from then on. A
    # savepoint's end (each outbox row has one) fires this too; the transaction goes on.
    outer = session.get_transaction()
    if outer is None or not outer.is_active:
        session.info.pop(_SENDING, None)


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


# --- rendering ----------------------------------------------------------------------------

_URL = re.compile(r"https?://[^\s<>\"']+")
_SIGNATURE = re.compile(r"^-- ?$", re.MULTILINE)


def _linked(line: str) -> Markup:
    out, last = Markup(""), 0
    for m in _URL.finditer(line):
        url = m.group(0).rstrip(".,;:!?)")
        end = m.start() + len(url)
        out += escape(line[last : m.start()])
        out += Markup('<a href="{0}" style="color:#1a56db;">{0}</a>').format(url)
        last = end
    return out + escape(line[last:])


def paragraphs(text: str) -> Markup:
    """Plain text as escaped HTML paragraphs, links clickable. The signature ("-- " and below)
    is left out: the e-mail layout has its own footer and unsubscribe link."""
    text = _SIGNATURE.split(text, maxsplit=1)[0]
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text.replace("\r\n", "\n")) if b.strip()]
    return Markup("\n").join(
        Markup("<p>{}</p>").format(Markup("<br>\n").join(_linked(line) for line in b.split("\n")))
        for b in blocks
    )


def _render_text(
    env: SandboxedEnvironment, trigger: str, channel: Channel, language: str, subject, body, ctx
) -> dict:
    with force_locale(language):
        text = env.from_string(body).render(ctx)
        if channel is Channel.SMS:
            return {"subject": None, "body": " ".join(text.split()), "body_html": None}
        title = " ".join(env.from_string(subject or "").render(ctx).split())
        text = text.strip() + "\n"
        # The built-in e-mail's layout, button and footer around the merchant's paragraphs.
        html = current_app.jinja_env.get_template("notifications/email_override.html").render(
            **ctx,
            base=f"notifications/{trigger}/email.{language}.html",
            subject=title,
            paragraphs=paragraphs(text),
        )
        return {"subject": title, "body": text, "body_html": html}


def render_override(
    merchant_id: int, trigger: str, channel: Channel, language: str, context: dict
) -> dict | None:
    """The message in the merchant's wording, or None to use the built-in template (no override,
    or one that fails now: the customer still gets a message, and the log says which)."""
    found = _override_for_sending(merchant_id, trigger, channel, language)
    if found is None:
        return None
    try:
        env = _environment(strict=False)
        for text in (found.body, found.subject or ""):
            # Checked on save; again here, for rows written before the rule or by hand.
            refused = _outside_the_language(env.parse(text))
            if refused:
                raise SecurityError(refused)
        content = _render_text(
            _environment(strict=False), trigger, channel, language, found.subject, found.body,
            context,
        )  # fmt: skip
        # Fine with the preview's sample parcel, too long with a real name and address: cutting
        # an SMS would cut its link off, so the built-in text goes (its subject is cut in
        # outbox.render, which keeps the merchant's wording).
        if channel is Channel.SMS and segments(content["body"]) > SMS_MAX_SEGMENTS:
            raise ValueError("longer than an SMS may be")
        return content
    except Exception as exc:  # whatever it was, the built-in text goes out
        # The error's class only: its text could quote the recipient's data.
        current_app.logger.warning(
            "message template %s (merchant %s, %s/%s/%s) failed to render (%s); sent the default",
            found.id, merchant_id, trigger, channel, language, type(exc).__name__,
        )  # fmt: skip
        return None


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
        context = _context(parcel, trigger, SAMPLE_TOKEN, extra)
    # What _context() reads from the parcel's history (none: it was never saved).
    context["choice_text"] = words["choice_text"]
    context["pickup_place"] = words["pickup_place"]
    context["pickup_hours"] = "10:00-16:00"  # the last day's hours (a Saturday's, say)
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    context["unsubscribe_link"] = f"{base}/u/{SAMPLE_TOKEN}"
    # Exactly the names a template may use: what isn't listed is an error in a preview too.
    allowed = context_keys(trigger, channel)
    return {k: v for k, v in context.items() if k in allowed}


def _first_line(exc: Exception) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


# A message needs words, variables, `if`/`else` and a few filters, nothing that loops, assigns or
# computes: so every template runs in time and memory bounded by its own length, and a merchant's
# text can't stall the sender ({% for %} over range(), "x"|center(10**9), namespace tricks).
ALLOWED_NODES = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.Const, nodes.Getattr,
    nodes.Getitem, nodes.Slice, nodes.Filter, nodes.Test, nodes.If, nodes.Compare,
    nodes.Operand, nodes.And, nodes.Or, nodes.Not, nodes.Concat, nodes.CondExpr, nodes.Call,
    nodes.Tuple, nodes.List, nodes.Neg, nodes.Pos,
)  # fmt: skip
ALLOWED_FILTERS = frozenset(
    {
        "local_datetime", "local_time", "money", "country_name", "distance", "upper", "lower",
        "title", "capitalize", "trim", "default", "d", "first", "last", "length", "e",
        "escape", "string", "round", "int", "striptags",
    }
)  # fmt: skip
# Methods a template may call on text, e.g. {{ parcel.recipient_name.split()[0] }}.
ALLOWED_METHODS = frozenset({"split", "strip", "upper", "lower", "title", "capitalize"})


def _outside_the_language(ast: nodes.Template) -> str | None:
    """Why `ast` uses more than a message may (a sentence for the form), or None."""
    for node in ast.find_all(nodes.Node):
        if not isinstance(node, ALLOWED_NODES):
            what = type(node).__name__.lower()
            return (
                f"Messages can use variables, {{% if %}} and filters, not {what}: "
                "keep to words and {{ variables }}."
            )
        if isinstance(node, nodes.Filter) and node.name not in ALLOWED_FILTERS:
            return f"The filter |{node.name} isn't available in messages."
        if isinstance(node, nodes.Call) and not (
            isinstance(node.node, nodes.Getattr) and node.node.attr in ALLOWED_METHODS
        ):
            return "Messages can't call functions, only .split(), .strip() and the like on text."
    return None


def _check_source(env, source: str, allowed: frozenset[str], errors: dict, name: str) -> bool:
    """Syntax, includes and names of one text; the error goes in `errors[name]`."""
    try:
        ast = env.parse(source)
    except TemplateSyntaxError as exc:
        errors[name] = f"Line {exc.lineno}: {exc.message}"
        return False
    if any(ast.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport))):
        errors[name] = "Templates can't include, import or extend other templates."
        return False
    refused = _outside_the_language(ast)
    if refused:
        errors[name] = refused
        return False
    unknown = sorted(meta.find_undeclared_variables(ast) - allowed)
    if unknown:
        listed = ", ".join(f"{{{{ {n} }}}}" for n in unknown)
        errors[name] = f"Unknown variable{'s' if len(unknown) > 1 else ''}: {listed}."
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
            errors["subject"] = "The subject must be one line."
        elif not subject.strip():
            errors["subject"] = "Enter a subject."
        elif len(subject) > SUBJECT_MAX:
            errors["subject"] = f"The subject can be at most {SUBJECT_MAX} characters."
    if not body.strip():
        errors["body"] = "Enter the message."
    elif len(body) > BODY_MAX[channel]:
        errors["body"] = f"The message can be at most {BODY_MAX[channel]:,} characters."

    env = _environment(strict=True)
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
        errors["body"] = "Keep the unsubscribe link ({{ unsubscribe_link }}) in the e-mail."
    if errors:
        return result

    context = sample_context(merchant, trigger, channel, language)
    try:
        content = _render_text(env, trigger, channel, language, subject, body, context)
    except SecurityError as exc:
        errors["body"] = f"Not allowed: {_first_line(exc)}"
        return result
    except (TemplateError, TypeError, ValueError, ArithmeticError, LookupError) as exc:
        errors["body"] = f"This doesn't render: {_first_line(exc)}"
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
            errors["body"] = "The message comes out empty."
        elif result.segments > SMS_MAX_SEGMENTS:
            errors["body"] = (
                f"The message is {result.segments} SMS segments; at most {SMS_MAX_SEGMENTS}."
            )
    elif channel is Channel.EMAIL and not result.subject:
        errors["subject"] = "The subject comes out empty."
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
