"""A supervisor writes a merchant's own SMS and e-mail wording, previews it, and resets it."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEntry, Channel, MessageTemplate, Notification, Role
from portal.services.messages import TRIGGERS, render
from portal.services.messages import overrides as message_templates
from tests.support import factories, staff
from tests.support.pages import csrf_for, csrf_token


@pytest.fixture
def merchant(db):
    return factories.make_merchant("Nordic Outdoor")


@pytest.fixture
def supervisor(client):
    account = factories.make_agent(email="sara@example.com", role=Role.SUPERVISOR)
    staff.login(client, account)
    return account


def editor(merchant, trigger="parcel_created", channel="sms", language="sv") -> str:
    return f"/admin/merchants/{merchant.id}/messages/{trigger}/{channel}/{language}"


def sent(parcel, channel: str) -> Notification:
    return db.session.execute(
        select(Notification).where(
            Notification.parcel_id == parcel.id, Notification.channel == channel
        )
    ).scalar_one()


def overrides() -> list[MessageTemplate]:
    return list(db.session.execute(select(MessageTemplate)).scalars())


def audit(action: str) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
    return list(db.session.execute(query).scalars())


SMS = "{{ merchant }}: hej! Paket {{ tracking_number }} är på väg. Följ det: {{ link }}"


def test_an_sms_override_is_what_the_merchants_swedish_customers_get(client, supervisor, merchant):
    res = staff.post(client, editor(merchant), {"body": SMS})
    assert res.status_code == 303
    page = client.get(res.headers["Location"]).get_data(as_text=True)
    assert "Own wording" in page and "Saved:" in page

    swede = factories.make_parcel(merchant=merchant, language="sv")
    assert sent(swede, "sms").body.startswith(
        f"Nordic Outdoor: hej! Paket {swede.tracking_number} är på väg. "
        "Följ det: http://portal.test/l/"
    )
    # English customers of the same merchant, and another merchant's Swedes: the default.
    english = factories.make_parcel(merchant=merchant, language="en")
    other = factories.make_parcel(merchant=factories.make_merchant("Other Shop"), language="sv")
    assert "hej!" not in sent(english, "sms").body
    assert "hej!" not in sent(other, "sms").body
    assert sent(other, "sms").body.startswith("Other Shop: ")

    [entry] = audit("template.save")
    assert entry.subject == f"template:{merchant.id}:parcel_created:sms:sv"
    assert entry.actor == "sara@example.com"
    assert entry.after == {"subject": None, "body": SMS}
    assert entry.before["default"] is True and "{{ link }}" in entry.before["body"]


def test_an_email_override_sets_subject_and_text_and_escapes_the_html(client, supervisor, merchant):
    body = (
        "Hi {{ parcel.recipient_name.split()[0] }},\n\n"
        "Your order is packed <script>alert(1)</script> & on its way.\n"
        "Follow it: {{ link }}\n\n-- \nStop: {{ unsubscribe_link }}"
    )
    res = staff.post(
        client,
        editor(merchant, channel="email", language="en"),
        {"subject": "{{ merchant }} packed your order", "body": body},
    )
    assert res.status_code == 303

    parcel = factories.make_parcel(merchant=merchant, language="en")
    mail = sent(parcel, "email")
    assert mail.subject == "Nordic Outdoor packed your order"
    assert mail.body.startswith("Hi Alva,\n\nYour order is packed <script>")
    assert "/u/" in mail.body  # the unsubscribe link
    html = mail.body_html
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; on its way." in html
    assert "<h1" in html and "Nordic Outdoor packed your order</h1>" in html
    assert 'href="http://portal.test/l/' in html  # the link in the text, and the button
    assert 'lang="en"' in html and "Stop e-mails about this parcel" in html  # the layout's footer
    assert "Stop: " not in html  # the text's own signature stays in the text part


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("{{ merchant }: oops {{ link }}", "Line 1: unexpected &#39;}&#39;"),
        ("{% if merchant %}no end", "Line 1: Unexpected end of template"),
        ("{{ merchant }} {{ coupon_code }}", "Unknown variable: {{ coupon_code }}."),
        ("{{ config }} {{ request }}", "Unknown variables: {{ config }}, {{ request }}."),
        ("{% include 'base.html' %}", "can&#39;t include, import or extend"),
        ("   ", "Enter the message."),
        ("{{ link * 100 }}", "not mul"),
        ("{{ 9 ** 9999 }}", "not pow"),
        ("{% for _ in range(60) %}{{ link }} {% endfor %}", "not for"),
        # Nothing that loops, assigns or pads can make a message cost more than its length.
        ('{{ link }}{{ ""|center(300000000) }}', "The filter |center isn&#39;t available"),
        ('{{ link }}{{ "%300000000d"|format(1) }}', "The filter |format isn&#39;t available"),
        ('{% set ns = namespace(s="x") %}{{ link }}', "not assign"),
        ("{{ link }}{{ range(10) }}", "can&#39;t call functions"),
        ("{{ link }}{{ lipsum(1000) }}", "can&#39;t call functions"),
    ],
)
def test_a_template_that_would_not_render_is_refused_in_place(
    client, supervisor, merchant, body, error
):
    res = staff.post(client, editor(merchant), {"body": body})
    assert res.status_code == 422
    page = res.get_data(as_text=True)
    assert error in page
    assert 'aria-invalid="true"' in page and "Error: " in page  # at the field, and in the title
    assert overrides() == [] and audit("template.save") == []


@pytest.mark.parametrize(
    "body",
    [
        "{{ parcel.__class__.__mro__ }}",
        "{{ ''.__class__ }}",
        "{{ parcel.query.all() }}",
        "{{ parcel.metadata }}",
        "{{ parcel.merchant.query.first() }}",
        "{{ merchant.__class__.__base__.__subclasses__() }}",
        "{{ parcel._sa_instance_state }}",
        "{{ tracking_number.format.__globals__ }}",
        "{{ (parcel.items|first).parcel.carrier.__init__ }}",
    ],
)
def test_a_sandbox_escape_is_refused(client, supervisor, merchant, body):
    res = staff.post(client, editor(merchant), {"body": body + " {{ link }}"})
    assert res.status_code == 422
    page = res.get_data(as_text=True)
    assert "Not allowed:" in page or "can&#39;t call functions" in page
    assert overrides() == []


@pytest.mark.parametrize(
    "body",
    [
        "{{ parcel.recipient_name.nope() }}",
        # Written around the checks: a loop would run in the sender, so it never runs at all.
        "{% for i in range(10**9) %}{% endfor %}{{ link }}",
    ],
)
def test_a_saved_override_that_breaks_later_falls_back_to_the_default(app, merchant, caplog, body):
    # Saved around the checks (say, a column renamed since): the customer still gets a message.
    db.session.add(
        MessageTemplate(
            merchant_id=merchant.id,
            trigger="parcel_created",
            channel="sms",
            language="en",
            body=body,
        )
    )
    db.session.commit()
    with caplog.at_level(logging.WARNING):
        parcel = factories.make_parcel(merchant=merchant, name="Alva Lindqvist")
    assert sent(parcel, "sms").body.startswith("Nordic Outdoor: ")
    assert "failed to render" in caplog.text
    assert "Alva" not in caplog.text and parcel.tracking_number not in caplog.text


def test_preview_counts_sms_segments_and_encoding(client, supervisor, merchant):
    url = editor(merchant, language="en") + "/preview"
    one = staff.post(client, url, {"body": "a" * 160}).get_data(as_text=True)
    assert "1 SMS segment<" in one and "160 characters" in one and "GSM-7" in one
    two = staff.post(client, url, {"body": "a" * 161}).get_data(as_text=True)
    assert "2 SMS segments" in two and "161 characters" in two and "GSM-7" in two
    emoji = staff.post(client, url, {"body": "Hej 📦 {{ link }}"})
    text = emoji.get_data(as_text=True)
    assert "UCS-2" in text and "1 SMS segment<" in text and "makes the whole message UCS-2" in text
    # Without JavaScript it is the whole page; with htmx, only the preview region.
    assert "<h1>" in text
    live = staff.post(
        client, url, {"body": "{{ merchant }} {{ eta }}"}, headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert "<h1>" not in live and 'class="sms-bubble">Nordic Outdoor ' in live
    assert overrides() == []  # a preview saves nothing


def test_preview_fills_every_variable_of_the_trigger(client, supervisor, merchant):
    body = "{{ rma }} {{ amount|money(currency) }} {{ return_.rma }} {{ link }}"
    url = editor(merchant, trigger="return_refunded", language="sv") + "/preview"
    res = staff.post(client, url, {"body": body})
    assert "K7QX94MP 1 249,50 kr K7QX94MP http://portal.test/l/" in res.get_data(as_text=True)
    # A name another trigger has is still unknown here.
    res = staff.post(client, url, {"body": "{{ place }}"})
    assert "Unknown variable: {{ place }}." in res.get_data(as_text=True)


def test_the_editor_starts_from_the_default_and_reset_restores_it(client, supervisor, merchant):
    url = editor(merchant, channel="email", language="sv")
    page = client.get(url).get_data(as_text=True)
    default = message_templates.default_source("parcel_created", "email", "sv")
    assert f'value="{default.subject}"' in page and "{{ unsubscribe_link }}" in page
    assert "Default" in page and "Reset to default" not in page
    # The form's token from the page the test already has in hand.
    form = {"csrf_token": csrf_token(page), "subject": "Tack, {{ merchant }}", "body": default.body}
    res = client.post(url, data=form)
    assert res.status_code == 303
    assert len(overrides()) == 1

    res = staff.post(client, url + "/reset")
    assert res.status_code == 303
    assert overrides() == []
    page = client.get(res.headers["Location"]).get_data(as_text=True)
    assert "Reset: the built-in message is used again." in page
    parcel = factories.make_parcel(merchant=merchant, language="sv")
    assert sent(parcel, "email").subject == default.subject.replace("{{ merchant }}", merchant.name)
    [entry] = audit("template.reset")
    assert entry.subject == f"template:{merchant.id}:parcel_created:email:sv"
    assert entry.before["subject"] == "Tack, {{ merchant }}"
    assert entry.after["subject"] == default.subject


def test_an_email_must_keep_its_unsubscribe_link(client, supervisor, merchant):
    url = editor(merchant, channel="email", language="en")
    res = staff.post(client, url, {"subject": "Hi", "body": "Hello {{ link }}"})
    assert res.status_code == 422
    assert "Keep the unsubscribe link" in res.get_data(as_text=True)
    res = staff.post(client, url, {"subject": "Hi\nthere", "body": "{{ unsubscribe_link }}"})
    assert res.status_code == 422 and "The subject must be one line." in res.get_data(as_text=True)
    assert overrides() == []


def test_the_list_shows_every_message_and_which_are_overridden(client, supervisor, merchant):
    staff.post(client, editor(merchant), {"body": SMS})
    page = client.get(f"/admin/merchants/{merchant.id}/messages").get_data(as_text=True)
    for trigger in TRIGGERS:
        for channel in ("sms", "email"):
            for language in ("en", "sv"):
                assert editor(merchant, trigger, channel, language) + '"' in page
    assert page.count("Own wording</span>") == 1
    assert "Parcel created, SMS, Swedish: own wording" in page


def test_every_built_in_text_passes_the_checks(app, merchant):
    # The editor starts from these: saving one unchanged must never be refused.
    with app.test_request_context():
        for trigger in TRIGGERS:
            for channel in (Channel.SMS, Channel.EMAIL):
                for language in app.config["LANGUAGES"]:
                    source = message_templates.default_source(trigger, channel, language)
                    result = message_templates.preview(
                        merchant, trigger, channel, language, source.subject, source.body
                    )
                    assert result.errors == {}, (trigger, channel, language, result.errors)
                    assert result.text


def test_an_unchanged_default_saved_as_override_sends_the_same_sms(app, merchant):
    account = factories.make_agent(email="sara@example.com", role=Role.SUPERVISOR)
    source = message_templates.default_source("delivered", "sms", "en")
    with app.test_request_context():
        context = message_templates.sample_context(merchant, "delivered", Channel.SMS, "en")
        before = render("delivered", Channel.SMS, "en", context, merchant.id)
        message_templates.save_override(
            merchant, "delivered", "sms", "en", None, source.body, account
        )
        db.session.commit()
        after = render("delivered", Channel.SMS, "en", context, merchant.id)
    assert before == after


def test_unknown_merchant_or_message_is_404(client, supervisor, merchant):
    assert client.get(f"/admin/merchants/{merchant.id + 99}/messages").status_code == 404
    assert client.get(editor(merchant, trigger="nope")).status_code == 404
    assert client.get(editor(merchant, channel="webhook")).status_code == 404
    assert client.get(editor(merchant, language="de")).status_code == 404


def test_an_agent_may_not_touch_templates(client, merchant):
    staff.login(client, factories.make_agent(email="aino@example.com"))
    assert client.get(f"/admin/merchants/{merchant.id}/messages").status_code == 403
    assert client.get(editor(merchant)).status_code == 403
    for suffix in ("", "/preview", "/reset"):
        res = client.post(
            editor(merchant) + suffix, data={"csrf_token": csrf_for(client), "body": SMS}
        )
        assert res.status_code == 403
    assert overrides() == []
