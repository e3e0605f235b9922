"""The sandbox merchants' own wording runs in, and rendering it when a message is written.

Overrides are Jinja text edited in the console, so they never run with the app's environment:
a sandbox with only the message's variables and the app's filters, no globals, no includes, and
model objects that show their columns and nothing else (no `parcel.query`, no accounts). A
message needs words, variables, `if`/`else` and a few filters, nothing that loops, assigns or
computes, so every template runs in time and memory bounded by its own length.
"""

from __future__ import annotations

import re
from functools import cache

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from jinja2 import StrictUndefined, Undefined, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select

from portal.extensions import db
from portal.gsm7 import segments
from portal.models import (
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
from portal.transactions import transaction_local

SMS_MAX_SEGMENTS = 10  # beyond this a message costs more than it tells

# A template may repeat text (`"-" * 20`), not fill the memory.
_MAX_REPEAT = 1_000

# The models a message may read from (columns, properties and relationships between them).
# Anything else, accounts above all, is out of reach.
TEMPLATE_MODELS = (Parcel, ParcelItem, Merchant, Carrier, Zone, Return, ReturnItem)

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


def environment(strict: bool) -> SandboxedEnvironment:
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


def outside_the_language(ast: nodes.Template) -> str | None:
    """Why `ast` uses more than a message may (a sentence for the form), or None."""
    for node in ast.find_all(nodes.Node):
        if not isinstance(node, ALLOWED_NODES):
            what = type(node).__name__.lower()
            return _(
                "Messages can use variables, {%% if %%} and filters, not %(what)s: "
                "keep to words and {{ variables }}.",
                what=what,
            )
        if isinstance(node, nodes.Filter) and node.name not in ALLOWED_FILTERS:
            return _("The filter |%(name)s isn't available in messages.", name=node.name)
        if isinstance(node, nodes.Call) and not (
            isinstance(node.node, nodes.Getattr) and node.node.attr in ALLOWED_METHODS
        ):
            return _("Messages can't call functions, only .split(), .strip() and the like on text.")
    return None


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


def render_text(
    env: SandboxedEnvironment, trigger: str, channel: Channel, language: str, subject, body, ctx
) -> dict:
    """Subject, text and HTML of a merchant's wording (the HTML: the built-in e-mail's layout,
    button and footer around its paragraphs)."""
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


_SENDING = "messages.overrides"


def _override_for_sending(
    merchant_id: int, trigger: str, channel: Channel | str, language: str
) -> MessageTemplate | None:
    """The merchant's override of one message, one query per merchant per transaction: a batch
    of a thousand carrier events renders hundreds of messages of one merchant. The next
    transaction reads them again, so a supervisor's change applies from then on."""
    memo = transaction_local(_SENDING, dict)
    if merchant_id not in memo:
        rows = db.session.execute(
            select(MessageTemplate).where(MessageTemplate.merchant_id == merchant_id)
        ).scalars()
        memo[merchant_id] = {(t.trigger, t.channel, t.language): t for t in rows}
    return memo[merchant_id].get((trigger, str(channel), language))


def render_override(
    merchant_id: int, trigger: str, channel: Channel, language: str, context: dict
) -> dict | None:
    """The message in the merchant's wording, or None to use the built-in template (no override,
    or one that fails now: the customer still gets a message, and the log says which)."""
    found = _override_for_sending(merchant_id, trigger, channel, language)
    if found is None:
        return None
    try:
        env = environment(strict=False)
        for text in (found.body, found.subject or ""):
            # Checked on save; again here, for rows written before the rule or by hand.
            refused = outside_the_language(env.parse(text))
            if refused:
                raise SecurityError(refused)
        content = render_text(
            environment(strict=False), trigger, channel, language, found.subject, found.body,
            context,
        )  # fmt: skip
        # Fine with the preview's sample parcel, too long with a real name and address: cutting
        # an SMS would cut its link off, so the built-in text goes (its subject is cut in
        # render.render, which keeps the merchant's wording).
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
