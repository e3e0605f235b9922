"""Writing messages to recipients and merchants: which there are (triggers.py), what they may
say (context.py), how they read (render.py, and merchants' own wording in overrides.py and
sandbox.py), and the outbox rows they become (outbox.py), written in the transaction of the
change that causes them, or at send time for a carrier batch's status messages.

Sending is not here: portal/notifications takes the rows after commit (it registers its
hand-off and the delivery lookups at start-up) and imports this package, never the reverse.
"""

from portal.services.messages.context import (
    DeliveryLookups,
    PredictedDates,
    Predictor,
    context,
    expected_dates,
    pickup_code,
    set_delivery_lookups,
    set_predictor,
)
from portal.services.messages.outbox import (
    DEDUPE_KEY_MAX,
    bounded_key,
    enqueue,
    is_opted_out,
    notify,
    set_handoff,
    status_changed,
    write_when_sending,
)
from portal.services.messages.render import fit_subject, render
from portal.services.messages.triggers import (
    QUIET_HOURS_EXEMPT,
    TRIGGERS,
    context_keys,
    quiet_until,
)

__all__ = [
    "DEDUPE_KEY_MAX",
    "QUIET_HOURS_EXEMPT",
    "TRIGGERS",
    "DeliveryLookups",
    "PredictedDates",
    "Predictor",
    "bounded_key",
    "context",
    "context_keys",
    "enqueue",
    "expected_dates",
    "fit_subject",
    "is_opted_out",
    "notify",
    "pickup_code",
    "quiet_until",
    "render",
    "set_delivery_lookups",
    "set_handoff",
    "set_predictor",
    "status_changed",
    "write_when_sending",
]
