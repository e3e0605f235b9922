"""What the customer is told of each change: one message per change, through the outbox in the
caller's transaction."""

from __future__ import annotations

from datetime import datetime

from flask_babel.speaklater import LazyString

from portal.models import Complaint, ComplaintMessage, ComplaintStatus
from portal.services.complaints.cases import due_day
from portal.services.complaints.statuses import STATUS_TEXT, TYPE_TEXT, resolution_text
from portal.services.messages import notify

S = ComplaintStatus


def tell_customer(
    complaint: Complaint,
    trigger: str,
    *,
    message: ComplaintMessage | None = None,
    words: str | None = None,
    now: datetime,
) -> None:
    """Tell the customer; one message per change (the thread entry's id makes it unique).
    `words`: what the agent wrote with the change, quoted in the e-mail."""
    suffix = f":{complaint.id}" + (f":{message.id}" if message is not None else "")
    notify(
        complaint.parcel,
        trigger,
        now=now,
        dedupe_suffix=suffix,
        link_target=f"/c/{complaint.case_number}",
        # Lazy: each message is written in the recipient's language, not the page's.
        extra={
            "case_number": complaint.case_number,
            "complaint_type": TYPE_TEXT[complaint.type][0],
            "status_text": STATUS_TEXT[complaint.status][0],
            "status_explanation": STATUS_TEXT[complaint.status][1],
            "due_day": LazyString(due_day, complaint),
            "resolution_text": LazyString(resolution_text, complaint),
            "agent_message": words,
            "needs_answer": complaint.status is S.AWAITING_CUSTOMER,
        },
    )
