"""Which messages there are, the names each may use, and when they may go out.

The one list of triggers: every message a recipient can get is named here, with the variables
its template may rely on (merchants' own templates are checked against them, see overrides.py).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app

from portal.models import Channel

# Triggers that message the recipient. Later issues add their own through notify().
TRIGGERS = (
    "parcel_created",
    "out_for_delivery",
    "delivery_failed",
    "ready_for_pickup",
    "delayed",
    "delivered",
    "delivery_changed",
    "choice_withdrawn",
    "complaint_opened",
    "complaint_updated",
    "return_requested",
    "return_approved",
    "return_rejected",
    "return_dropped_off",
    "return_received",
    "return_refunded",
)
# The one trigger allowed through quiet hours: the parcel is coming today.
QUIET_HOURS_EXEMPT = frozenset({"out_for_delivery"})
# The carriers' status changes that message the recipient (see outbox.status_changed).
STATUS_TRIGGERS = frozenset(
    {"out_for_delivery", "delivery_failed", "ready_for_pickup", "delayed", "delivered"}
)
# A second attempt on another day deserves its own message; a replayed event (same time) doesn't.
REPEATABLE = frozenset({"out_for_delivery", "delivery_failed", "delayed"})

# Every name a message's template may use, by trigger: what `context()` provides and what the
# callers of notify() pass as `extra`. Merchants' own templates are checked against it (see
# overrides.py), so a key added there or here belongs in this table too.
CONTEXT_KEYS = frozenset(
    {"parcel", "merchant", "tracking_number", "link", "eta", "trigger"}
    | {"eta_from_local", "eta_to_local", "eta_day"}  # only when the parcel has an ETA window
)
EMAIL_KEYS = frozenset({"unsubscribe_link"})
_RETURN_KEYS = frozenset({"return_", "rma", "currency"})
_COMPLAINT_KEYS = frozenset(
    {
        "case_number",
        "complaint_type",
        "status_text",
        "status_explanation",
        "due_day",
        "resolution_text",
        "agent_message",
        "needs_answer",
    }
)
TRIGGER_KEYS: dict[str, frozenset[str]] = {
    # The predicted delivery (issue 18) as days in words ("Wednesday 30 September"): the most
    # likely day and the range's first and last; all empty when the carrier gave a window (use
    # `eta`, `eta_day` then) or nothing is predicted.
    "parcel_created": frozenset(
        {
            "expected_day",
            "expected_earliest",
            "expected_latest",
            # The recipient's standing preference applied (issue 19), in full and in at most
            # 40 characters (for the SMS); empty when none was.
            "preference_text",
            "preference_short",
        }
    ),
    "delivery_failed": frozenset({"reply_choices"}),
    "delivery_changed": frozenset({"choice_text"}),
    # A closed slot or pickup point took the recipient's choice away (services/network).
    "choice_withdrawn": frozenset({"withdrawn_text", "reason"}),
    # pickup_hours: the point's hours on the last day ("10:00-16:00"), empty when unknown.
    "ready_for_pickup": frozenset({"pickup_place", "pickup_until", "pickup_hours", "pickup_code"}),
    "complaint_opened": _COMPLAINT_KEYS,
    "complaint_updated": _COMPLAINT_KEYS,
    "return_requested": _RETURN_KEYS,
    "return_approved": _RETURN_KEYS,
    "return_rejected": _RETURN_KEYS,
    "return_dropped_off": _RETURN_KEYS | {"place", "dropped_off_at"},
    "return_received": _RETURN_KEYS,
    "return_refunded": _RETURN_KEYS | {"amount"},
}


def context_keys(trigger: str, channel: Channel) -> frozenset[str]:
    """The variables a template of `trigger` on `channel` can rely on."""
    keys = CONTEXT_KEYS | TRIGGER_KEYS.get(trigger, frozenset())
    return keys | EMAIL_KEYS if channel is Channel.EMAIL else keys


def quiet_until(
    now: datetime, zone: ZoneInfo, hours: tuple[int | None, int | None] | None = None
) -> datetime | None:
    """When quiet hours end, if `now` falls inside them in the recipient's zone, else None.
    `hours`: the recipient's own (start, end), an evening and a morning hour (their standing
    preference, kept on the parcel); else the operator's."""
    start, end = current_app.config["NOTIFY_QUIET_START"], current_app.config["NOTIFY_QUIET_END"]
    if hours is not None and None not in hours:
        start, end = hours
    local = now.astimezone(zone)
    if end <= local.hour < start:
        return None
    day = local.date() if local.hour < end else local.date() + timedelta(days=1)
    return datetime.combine(day, time(end), tzinfo=zone)
