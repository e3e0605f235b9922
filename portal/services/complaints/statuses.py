"""A complaint's types, statuses and resolutions: what they are called, which status changes
are allowed, and how a thread entry records one."""

from __future__ import annotations

from portal.formatting import money
from portal.i18n import lazy_gettext as _l
from portal.models import Complaint, ComplaintMessage, ComplaintStatus, ComplaintType, Resolution

T = ComplaintType
S = ComplaintStatus
R = Resolution
TYPE_TEXT = {
    T.DAMAGED: (_l("Damaged"), _l("The parcel or something in it arrived broken.")),
    T.MISSING_ITEM: (_l("Something is missing"), _l("The parcel came, but not all of it.")),
    T.NOT_RECEIVED: (_l("Not received"), _l("It says delivered, but you don't have it.")),
    T.LATE: (_l("Late"), _l("It came, or is coming, later than promised.")),
    T.WRONG_ITEM: (_l("Wrong item"), _l("You got something you didn't order.")),
    T.OTHER: (_l("Something else"), _l("Anything else about this delivery.")),
}
# Types about particular items: the customer says which.
ITEM_TYPES = frozenset({T.DAMAGED, T.MISSING_ITEM, T.WRONG_ITEM})
STATUS_TEXT = {
    S.OPEN: (_l("Received"), _l("We have your complaint and will look into it.")),
    S.INVESTIGATING: (_l("Being looked into"), _l("We are finding out what happened.")),
    S.AWAITING_CUSTOMER: (
        _l("Waiting for your answer"),
        _l("We need something from you: please read our message and reply below."),
    ),
    S.RESOLVED: (_l("Resolved"), _l("We have settled your complaint.")),
    S.REJECTED: (
        _l("Not upheld"),
        _l("We looked into it and could not agree. Our message says why."),
    ),
}
CLOSED = frozenset({S.RESOLVED, S.REJECTED})
WITH_US = frozenset({S.OPEN, S.INVESTIGATING})  # the due date is ours to keep
# Which status may follow which. A closed case can be opened again (investigating).
TRANSITIONS = {
    S.OPEN: frozenset({S.INVESTIGATING, S.AWAITING_CUSTOMER, S.RESOLVED, S.REJECTED}),
    S.INVESTIGATING: frozenset({S.AWAITING_CUSTOMER, S.RESOLVED, S.REJECTED}),
    S.AWAITING_CUSTOMER: frozenset({S.INVESTIGATING, S.RESOLVED, S.REJECTED}),
    S.RESOLVED: frozenset({S.INVESTIGATING}),
    S.REJECTED: frozenset({S.INVESTIGATING}),
}
RESOLUTION_TEXT = {
    R.REFUND: _l("Refund"),
    R.RESHIP: _l("We send it again"),
    R.COMPENSATION: _l("Compensation"),
    R.NONE: _l("No refund or replacement"),
}
# A thread entry written by the system for a status change: "status:<status>".
STATUS_ENTRY = "status:"


def type_label(kind: ComplaintType) -> str:
    return str(TYPE_TEXT[kind][0])


def status_label(status: ComplaintStatus) -> str:
    return str(STATUS_TEXT[status][0])


def status_explanation(status: ComplaintStatus) -> str:
    return str(STATUS_TEXT[status][1])


def resolution_text(complaint: Complaint) -> str:
    """`Refund: SEK 249.00` in the current language, or "" without a resolution."""
    if complaint.resolution is None:
        return ""
    text = str(RESOLUTION_TEXT[complaint.resolution])
    if complaint.resolution_amount is not None:
        return f"{text}: {money(complaint.resolution_amount, complaint.parcel.currency)}"
    return text


def status_of(message: ComplaintMessage) -> ComplaintStatus | None:
    """The status a thread entry records, if it is a status change."""
    if message.author != "system" or not message.body.startswith(STATUS_ENTRY):
        return None
    try:
        return ComplaintStatus(message.body.removeprefix(STATUS_ENTRY))
    except ValueError:  # a system message that merely starts with the same word
        return None


def entry_text(message: ComplaintMessage) -> str:
    """What a thread entry says: its body, or for a status change, the new status in words."""
    status = status_of(message)
    if status is not None:
        return str(_l("Status: %(status)s", status=status_label(status)))
    return message.body
