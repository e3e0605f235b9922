"""The case thread: the customer's replies, agents' status changes and messages. Every change
writes a thread entry and tells the customer."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.models import Account, Complaint, ComplaintMessage, ComplaintStatus, Resolution
from portal.models.types import utcnow
from portal.services import photos
from portal.services.complaints.inputs import (
    MESSAGE_MAX,
    clean_text,
    processed_photos,
    store_photos,
)
from portal.services.complaints.notices import tell_customer
from portal.services.complaints.statuses import CLOSED, STATUS_ENTRY, TRANSITIONS, status_label
from portal.services.errors import Conflict, DomainError
from portal.storage import Storage

# The text an agent's "ask for photos" starts from: it goes to the customer, so it is customer
# text (every language), rendered in the parcel's language.
PHOTOS_ASKED = _l("Please send photos of the damaged item and of the box.")

S = ComplaintStatus
R = Resolution


class ReplyNotAllowed(Conflict):
    code = "reply_not_allowed"


class StatusChangeNotAllowed(Conflict):
    code = "status_change_not_allowed"


def reply(
    complaint: Complaint,
    body: str,
    uploads: list[photos.Upload] | None = None,
    *,
    now: datetime | None = None,
    storage: Storage | None = None,
) -> ComplaintMessage:
    """The customer answers an agent's question (with photos if asked), which hands the case
    back to the agents. Only while the case waits for the customer."""
    now = now or utcnow()
    _lock(complaint)
    if complaint.status is not S.AWAITING_CUSTOMER:
        raise ReplyNotAllowed(
            str(_l("You can reply when we ask you for something. We'll let you know.")),
            field="body",
        )
    text = clean_text(body, MESSAGE_MAX, field_name="body", empty=_l("Write your answer."))
    processed = processed_photos(uploads or [], already=len(complaint.photos))
    message = ComplaintMessage(author="customer", body=text, created_at=now)
    complaint.messages.append(message)
    store_photos(complaint, processed, message, storage, now)
    _set_status(complaint, S.INVESTIGATING, None, now)
    db.session.flush()
    tell_customer(complaint, "complaint_updated", message=message, now=now)
    return message


def change_status(
    complaint: Complaint,
    status: ComplaintStatus | str,
    *,
    agent: Account | None = None,
    message: str | None = None,
    resolution: Resolution | str | None = None,
    amount: Decimal | str | None = None,
    now: datetime | None = None,
) -> ComplaintMessage:
    """An agent (or the system, without one) moves the case on; the customer is told.

    Resolving needs a resolution (compensation needs an amount); asking the customer for
    something and rejecting need a message saying what, or why. Returns the thread entry.
    """
    now = now or utcnow()
    _lock(complaint)
    try:
        status = ComplaintStatus(status)
    except ValueError:
        raise DomainError(str(_l("Unknown status.")), field="status") from None
    if status not in TRANSITIONS[complaint.status]:
        raise StatusChangeNotAllowed(
            str(
                _l(
                    "A case that is %(now)s can't become %(new)s.",
                    now=status_label(complaint.status),
                    new=status_label(status),
                )
            ),
            field="status",
        )
    text = (message or "").strip()
    if len(text) > MESSAGE_MAX:
        raise DomainError(
            str(_l("Keep it to %(n)d characters.", n=MESSAGE_MAX)), field="message", code="too_long"
        )
    if status in (S.AWAITING_CUSTOMER, S.REJECTED) and not text:
        raise DomainError(
            str(_l("Tell the customer what you need, or why.")), field="message", code="required"
        )
    if status is S.RESOLVED:
        complaint.resolution, complaint.resolution_amount = _resolution(resolution, amount)
    elif resolution is not None or amount is not None:
        raise DomainError(str(_l("Only a resolved case has a resolution.")), field="resolution")
    if text:  # the words first, then the status they lead to
        _add_message(complaint, text, agent, now)
    entry = _set_status(complaint, status, agent, now)
    db.session.flush()
    tell_customer(complaint, "complaint_updated", message=entry, words=text or None, now=now)
    return entry


def add_agent_message(
    complaint: Complaint, body: str, *, agent: Account | None, now: datetime | None = None
) -> ComplaintMessage:
    """An agent writes to the customer without changing the status; the customer is told."""
    now = now or utcnow()
    text = clean_text(body, MESSAGE_MAX, field_name="message", empty=_l("Write a message."))
    message = _add_message(complaint, text, agent, now)
    complaint.updated_at = now
    db.session.flush()
    tell_customer(complaint, "complaint_updated", message=message, words=text, now=now)
    return message


def _lock(complaint: Complaint) -> None:
    # Two agents (or an agent and the customer) at once: the second waits and sees the first's
    # status (PostgreSQL; SQLite serialises writers anyway).
    db.session.execute(
        select(Complaint.id).where(Complaint.id == complaint.id).with_for_update()
    ).all()
    db.session.refresh(complaint, ["status"])


def _resolution(
    resolution: Resolution | str | None, amount: Decimal | str | None
) -> tuple[Resolution, Decimal | None]:
    try:
        kind = Resolution(resolution)
    except ValueError:
        raise DomainError(str(_l("Choose how the case is resolved.")), field="resolution") from None
    if amount is None or amount == "":
        if kind is R.COMPENSATION:
            raise DomainError(str(_l("Give the amount.")), field="amount")
        return kind, None
    if kind in (R.RESHIP, R.NONE):
        raise DomainError(str(_l("Only a refund or compensation has an amount.")), field="amount")
    try:
        value = Decimal(str(amount)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise DomainError(str(_l("Give the amount as a number.")), field="amount") from None
    if not value.is_finite() or value <= 0 or value >= Decimal("1e10"):
        raise DomainError(str(_l("Give an amount above zero.")), field="amount")
    return kind, value


def _set_status(
    complaint: Complaint, status: ComplaintStatus, agent: Account | None, now: datetime
) -> ComplaintMessage:
    complaint.status = status
    complaint.updated_at = now
    if status in CLOSED:
        complaint.closed_at = now
    else:
        complaint.resolution, complaint.resolution_amount = None, None
    entry = ComplaintMessage(
        author="system",
        agent_id=agent.id if agent else None,
        body=STATUS_ENTRY + status.value,
        created_at=now,
    )
    complaint.messages.append(entry)
    return entry


def _add_message(
    complaint: Complaint, text: str, agent: Account | None, now: datetime
) -> ComplaintMessage:
    message = ComplaintMessage(
        author="agent" if agent else "system",
        agent_id=agent.id if agent else None,
        body=text,
        created_at=now,
    )
    complaint.messages.append(message)
    return message
