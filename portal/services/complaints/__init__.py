"""Complaints: filing a case, the customer's replies, agents' status changes and messages.

Every change writes a thread entry and tells the customer through the outbox, in the same
transaction. Photos are re-encoded before anything is written (a refused photo refuses the
whole form); files written for a transaction that does not commit are deleted again (see
services/photos.py), so nothing is ever half saved.

The package: `statuses` (types, statuses, resolutions and their words), `cases` (case numbers,
due dates, finding), `inputs` (text and photos), `filing`, `thread` and `notices` (what the
customer is told). Callers import from the package.
"""

from __future__ import annotations

from portal.services.complaints.cases import (
    CaseSummary,
    ComplaintNotFound,
    cases_for,
    complaints_of,
    due_at,
    due_day,
    find_complaint,
    find_photo,
    is_agent,
    new_case_number,
    normalise_case_number,
    photos_in_thread,
)
from portal.services.complaints.filing import ComplaintRequest, open_complaint
from portal.services.complaints.inputs import DESCRIPTION_MAX, MESSAGE_MAX, PhotosNotSaved
from portal.services.complaints.statuses import (
    CLOSED,
    ITEM_TYPES,
    RESOLUTION_TEXT,
    STATUS_TEXT,
    TRANSITIONS,
    TYPE_TEXT,
    WITH_US,
    entry_text,
    resolution_text,
    status_explanation,
    status_label,
    status_of,
    type_label,
)
from portal.services.complaints.thread import (
    ReplyNotAllowed,
    StatusChangeNotAllowed,
    add_agent_message,
    change_status,
    reply,
)

__all__ = [
    "CLOSED",
    "DESCRIPTION_MAX",
    "ITEM_TYPES",
    "MESSAGE_MAX",
    "RESOLUTION_TEXT",
    "STATUS_TEXT",
    "TRANSITIONS",
    "TYPE_TEXT",
    "WITH_US",
    "CaseSummary",
    "ComplaintNotFound",
    "ComplaintRequest",
    "PhotosNotSaved",
    "ReplyNotAllowed",
    "StatusChangeNotAllowed",
    "add_agent_message",
    "cases_for",
    "change_status",
    "complaints_of",
    "due_at",
    "due_day",
    "entry_text",
    "find_complaint",
    "find_photo",
    "is_agent",
    "new_case_number",
    "normalise_case_number",
    "open_complaint",
    "photos_in_thread",
    "reply",
    "resolution_text",
    "status_explanation",
    "status_label",
    "status_of",
    "type_label",
]
