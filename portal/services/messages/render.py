"""A message's subject, text and HTML from its trigger's templates: the merchant's own wording
where it has one (sandbox.py), else the built-in templates in notifications/templates/."""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from jinja2_fragments.flask import render_block

from portal.models import Channel, Notification
from portal.services.messages.sandbox import render_override

SUBJECT_MAX = Notification.__table__.c.subject.type.length


def fit_subject(subject: str | None) -> str | None:
    """A subject that fits its column. A longer one (a merchant's template with a long real
    name and address in it) is cut at a word and ends in "…": the message still goes, and the
    change that caused it is never refused over its wording."""
    if subject is None or len(subject) <= SUBJECT_MAX:
        return subject
    cut = subject[: SUBJECT_MAX - 1]
    word = cut.rfind(" ")
    if word > SUBJECT_MAX // 2:  # a word boundary not too far back
        cut = cut[:word]
    return cut.rstrip(" ,;:-") + "…"


def render(
    trigger: str,
    channel: Channel,
    language: str,
    context: dict,
    merchant_id: int | None = None,
) -> dict:
    """Subject, text and HTML of one message from the trigger's templates in one language:
    the merchant's own wording where it has one, else the built-in template."""
    if merchant_id is not None:
        content = render_override(merchant_id, trigger, channel, language, context)
        if content is not None:
            return {**content, "subject": fit_subject(content["subject"])}
    folder = f"notifications/{trigger}"
    with force_locale(language):
        if channel is Channel.SMS:
            body = render_block(f"{folder}/sms.{language}.txt", "body", **context)
            return {"subject": None, "body": " ".join(body.split()), "body_html": None}
        text = f"{folder}/email.{language}.txt"
        return {
            "subject": fit_subject(" ".join(render_block(text, "subject", **context).split())),
            "body": render_block(text, "body", **context).strip() + "\n",
            "body_html": current_app.jinja_env.get_template(
                f"{folder}/email.{language}.html"
            ).render(**context),
        }
