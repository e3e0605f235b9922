"""What an agent does from the parcel console. Each action calls the same rule the customer's
page or the merchant's API uses, writes its audit row in the same transaction, and tells the
customer through the outbox where the rule does. The caller commits."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import select

from portal.extensions import db
from portal.models import (
    Account,
    Channel,
    ChoiceType,
    Complaint,
    InboundMessage,
    Notification,
    NotificationState,
    Parcel,
    ParcelNote,
    ParcelStatus,
    Return,
    Role,
)
from portal.models.types import utcnow
from portal.services import complaints, delivery, returns
from portal.services.audit import pseudonym, record
from portal.services.errors import Conflict, DomainError, NotFound
from portal.services.events import EventData, accept_events
from portal.services.messages import enqueue, is_opted_out

NOTE_MAX = 4000
REASON_MAX = 1000
CONSOLE_PLACE = "Customer service"


def _lock(model: type, row_id: int) -> None:
    """Two agents on one row: the second waits and then sees the first's change (PostgreSQL;
    SQLite serialises writers anyway)."""
    db.session.execute(select(model.id).where(model.id == row_id).with_for_update()).all()


def _text(value: str | None, limit: int, field: str, empty) -> str:
    text = (value or "").strip()
    if not text:
        raise DomainError(empty, field=field, code="required")
    if len(text) > limit:
        raise DomainError(
            _("Keep it to %(limit)s characters.", limit=limit), field=field, code="too_long"
        )
    return text


# --- notifications ---------------------------------------------------------------------------


def resend_notification(agent: Account, parcel: Parcel, notification_id: int) -> Notification:
    """Queue the same message again to the same address (a new outbox row; the old one keeps its
    history). A number that replied STOP stays suppressed."""
    old = db.session.get(Notification, notification_id)
    if old is None or old.parcel_id != parcel.id or old.channel is Channel.WEBHOOK:
        raise NotFound(_("This parcel has no such message."), field="notification")
    turned_off = (old.channel is Channel.SMS and not parcel.notify_sms) or (
        old.channel is Channel.EMAIL and not parcel.notify_email
    )
    if turned_off:
        raise Conflict(
            _("The recipient turned SMS off for this parcel.")
            if old.channel is Channel.SMS
            else _("The recipient turned e-mail off for this parcel."),
            field="notification",
            code="channel_off",
        )
    row = Notification(
        parcel=parcel,
        channel=old.channel,
        trigger=old.trigger,
        language=old.language,
        time_zone=None,  # an agent sends it now, on purpose
        recipient=old.recipient,
        subject=old.subject,
        body=old.body,
        body_html=old.body_html,
        list_unsubscribe=old.list_unsubscribe,
        rendered=old.rendered,  # a row still to be written is written when sent
        dedupe_key=f"{old.dedupe_key or old.id}:resend:{uuid.uuid4().hex[:12]}",
    )
    if old.channel is Channel.SMS and is_opted_out(old.recipient):
        row.state = NotificationState.SUPPRESSED
        row.last_error = "recipient replied STOP"
    made = enqueue(row)
    assert made is not None  # the key is fresh
    db.session.flush()
    record(
        agent,
        "notification.resend",
        parcel=parcel,
        subject=f"notification:{old.id}",
        before={"id": old.id, "state": old.state, "trigger": old.trigger, "channel": old.channel},
        after={"id": row.id, "state": row.state},
    )
    return row


def reply_is_about(message: InboundMessage, parcel: Parcel) -> bool:
    """A reply tied to this parcel, or one from its recipient's phone tied to none (the console
    shows both)."""
    if message.parcel_id is not None:
        return message.parcel_id == parcel.id
    return bool(parcel.recipient_phone) and message.from_phone == parcel.recipient_phone


def mark_inbound_read(agent: Account, message: InboundMessage) -> None:
    if message.read_at is not None:
        return
    message.read_at = utcnow()
    parcel = db.session.get(Parcel, message.parcel_id) if message.parcel_id else None
    record(
        agent,
        "inbound.read",
        parcel=parcel,
        subject=f"inbound:{message.id}",
        before={"read": False},
        after={"read": True},
    )


# --- delivery --------------------------------------------------------------------------------


def change_delivery(
    agent: Account, parcel: Parcel, request: delivery.ChoiceRequest, *, now: datetime | None = None
):
    """Make the recipient's delivery choice for them (they are told, as if they had chosen).
    Past the cutoff only a supervisor may; the rule is the customer page's otherwise."""
    now = now or utcnow()
    current = delivery.current_choice(parcel)
    before = {"choice": _choice_for_audit(current, parcel.time_zone) if current else None}
    choice = delivery.choose(
        parcel,
        request,
        now=now,
        made_by=f"agent:{agent.id}",
        past_cutoff=agent.role is Role.SUPERVISOR,
    )
    record(
        agent,
        "delivery.change",
        parcel=parcel,
        subject=f"choice:{choice.id}",
        before=before,
        after={"choice": _choice_for_audit(choice, parcel.time_zone), "type": choice.type},
    )
    return choice


def _choice_for_audit(choice, tz: str | None) -> object:
    """What the audit row says was chosen: the words for a slot, a day or a pickup point; for a
    safe place or a neighbour, whose note may name a person, the type and a pseudonym."""
    if choice.type in (ChoiceType.SAFE_PLACE, ChoiceType.NEIGHBOUR):
        return {"type": choice.type, "text": pseudonym(delivery.describe(choice, tz))}
    return delivery.describe(choice, tz)


def _console_event(parcel: Parcel, code: ParcelStatus, text: str, now: datetime) -> None:
    results, _changes = accept_events(
        parcel.carrier,
        [
            EventData(
                event_id=f"console-{uuid.uuid4().hex}",
                tracking_number=parcel.tracking_number,
                code=code.value,
                occurred_at=now,
                location=CONSOLE_PLACE,
                description=text,
            )
        ],
        now=now,
    )
    if results[0].status != "accepted":
        raise DomainError(
            results[0].message or _("The parcel can't take this now."), field="reason"
        )


def hold(agent: Account, parcel: Parcel, reason: str, *, now: datetime | None = None) -> None:
    """Stop the parcel where it is (an address to check, a dispute): an `on_hold` event on its
    timeline, which the carrier and the merchant's webhooks see like any other."""
    now = now or utcnow()
    text = _text(reason, REASON_MAX, "reason", _("Say why the parcel is held."))
    _lock(Parcel, parcel.id)
    db.session.refresh(parcel, ["status"])
    if parcel.status.is_terminal:
        raise Conflict(_("This parcel's journey has ended."), field="reason", code="ended")
    if parcel.status is ParcelStatus.ON_HOLD:
        raise Conflict(_("The parcel is on hold already."), field="reason", code="on_hold")
    before = {"status": parcel.status}
    _console_event(parcel, ParcelStatus.ON_HOLD, text, now)
    if parcel.status is not ParcelStatus.ON_HOLD:
        # The carrier's last event is timed after now (clock drift): ours would sit under it.
        raise Conflict(
            _(
                "The carrier's latest event is newer than now, so the hold wouldn't show. "
                "Try again in a few minutes."
            ),
            field="reason",
            code="newer_event",
        )
    record(
        agent,
        "parcel.hold",
        parcel=parcel,
        before=before,
        after={"status": parcel.status, "reason": pseudonym(text)},
    )


def release(agent: Account, parcel: Parcel, *, now: datetime | None = None) -> None:
    """Let a held parcel go on (back in transit until the carrier's next scan)."""
    now = now or utcnow()
    _lock(Parcel, parcel.id)
    db.session.refresh(parcel, ["status"])
    if parcel.status is not ParcelStatus.ON_HOLD:
        raise Conflict(_("The parcel isn't on hold."), field="reason", code="not_on_hold")
    _console_event(parcel, ParcelStatus.IN_TRANSIT, "Hold released by customer service", now)
    record(
        agent,
        "parcel.release",
        parcel=parcel,
        before={"status": "on_hold"},
        after={"status": parcel.status},
    )


# --- returns ---------------------------------------------------------------------------------


def open_return_for(agent: Account, parcel: Parcel, request: returns.ReturnRequest) -> Return:
    """A return the recipient asked for on the phone: the same rules as their own page (window,
    quantities, policy), and the same messages (the label once approved)."""
    ret = returns.open_return(parcel, request, created_by="agent")
    record(
        agent,
        "return.open",
        parcel=parcel,
        subject=f"return:{ret.rma}",
        after={
            "rma": ret.rma,
            "status": ret.status,
            "method": ret.method,
            "items": [
                {"sku": i.parcel_item.sku, "quantity": i.quantity, "reason": i.reason}
                for i in ret.items
            ],
        },
    )
    return ret


def decide_return(
    agent: Account, ret: Return, *, approve: bool, reason: str | None = None
) -> Return:
    """Approve a requested return (the customer gets the label) or turn it down with the reason
    the customer reads."""
    _lock(Return, ret.id)
    db.session.refresh(ret, ["status"])
    text = None
    if not approve:
        text = _text(reason, REASON_MAX, "reason", _("Tell the customer why."))
    before = {"status": ret.status}
    returns.decide(ret, approve=approve, reason=text)
    record(
        agent,
        "return.approve" if approve else "return.reject",
        parcel=ret.parcel,
        subject=f"return:{ret.rma}",
        before=before,
        after={"status": ret.status, "reason": pseudonym(text)},
    )
    return ret


def refund_return(agent: Account, ret: Return, amount: str) -> Return:
    _lock(Return, ret.id)
    db.session.refresh(ret, ["status", "refund_amount"])
    try:
        value = Decimal(str(amount).strip().replace(",", ".")).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise DomainError(_("Give the amount as a number."), field="amount") from None
    if not value.is_finite():
        raise DomainError(_("Give the amount as a number."), field="amount")
    before = {"status": ret.status, "refund_amount": ret.refund_amount}
    returns.mark_refunded(ret, value)
    record(
        agent,
        "return.refund",
        parcel=ret.parcel,
        subject=f"return:{ret.rma}",
        before=before,
        after={"status": ret.status, "refund_amount": ret.refund_amount},
    )
    return ret


# --- complaints ------------------------------------------------------------------------------


def assign_complaint(agent: Account, complaint: Complaint, assignee_id: int | None) -> None:
    assignee = None
    if assignee_id is not None:
        assignee = db.session.get(Account, assignee_id)
        if (
            assignee is None
            or assignee.role not in (Role.AGENT, Role.SUPERVISOR)
            or not assignee.active
        ):
            raise DomainError(_("Choose an agent."), field="assignee")
    before = {"assigned_to": complaint.assigned_to_id}
    complaint.assigned_to_id = assignee.id if assignee else None
    record(
        agent,
        "complaint.assign",
        parcel=complaint.parcel,
        subject=f"complaint:{complaint.case_number}",
        before=before,
        after={
            "assigned_to": complaint.assigned_to_id,
            "assignee": assignee.email if assignee else None,
        },
    )


def complaint_status(
    agent: Account,
    complaint: Complaint,
    status: str,
    *,
    message: str | None = None,
    resolution: str | None = None,
    amount: str | None = None,
) -> None:
    before = {
        "status": complaint.status,
        "resolution": complaint.resolution,
        "amount": complaint.resolution_amount,
    }
    complaints.change_status(
        complaint,
        status,
        agent=agent,
        message=message,
        resolution=resolution or None,
        amount=amount or None,
    )
    record(
        agent,
        "complaint.status",
        parcel=complaint.parcel,
        subject=f"complaint:{complaint.case_number}",
        before=before,
        after={
            "status": complaint.status,
            "resolution": complaint.resolution,
            "amount": complaint.resolution_amount,
            "message": pseudonym(message),
        },
    )


def message_customer(agent: Account, complaint: Complaint, body: str) -> None:
    complaints.add_agent_message(complaint, body, agent=agent)
    record(
        agent,
        "complaint.message",
        parcel=complaint.parcel,
        subject=f"complaint:{complaint.case_number}",
        after={"message": pseudonym(body)},
    )


def ask_for_photos(agent: Account, complaint: Complaint, what: str) -> None:
    """Ask the customer for photos: the case waits for them, and their case page takes photos
    with the answer."""
    text = _text(what, 1000, "message", _("Say which photos you need."))
    before = {"status": complaint.status}
    complaints.change_status(complaint, "awaiting_customer", agent=agent, message=text)
    record(
        agent,
        "complaint.ask_photos",
        parcel=complaint.parcel,
        subject=f"complaint:{complaint.case_number}",
        before=before,
        after={"status": complaint.status, "message": pseudonym(text)},
    )


# --- notes -----------------------------------------------------------------------------------


def add_note(agent: Account, parcel: Parcel, body: str) -> ParcelNote:
    text = _text(body, NOTE_MAX, "body", _("Write the note."))
    note = ParcelNote(parcel_id=parcel.id, account_id=agent.id, body=text)
    db.session.add(note)
    db.session.flush()
    record(
        agent, "note.add", parcel=parcel, subject=f"note:{note.id}", after={"body": pseudonym(text)}
    )
    return note
