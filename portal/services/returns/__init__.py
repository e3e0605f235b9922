"""Returns: what may go back, opening an RMA, drop-off, carrier events, received and refunded.

Pages, the merchant API and the agent console all call these functions, so one set of rules
decides: delivered parcels only, within the merchant's window, returnable items only, and never
more than was delivered minus what is already on its way back.

The package owns returns from policy to refund: `policy` (the merchant's rules), `eligibility`
(what may go back), `codes` (RMA and drop-off codes), `opening`, `dropoff` (the service point's
desk), `lifecycle` (decided, moving, received, and the customer's messages), `refunds` and
`finding`. Callers import from the package.
"""

from __future__ import annotations

from portal.services.returns.codes import (
    DROPOFF_CODE_LENGTH,
    READABLE,
    RMA_LENGTH,
    format_rma,
    normalise_code,
)
from portal.services.returns.dropoff import (
    HANDED_OVER,
    AlreadyDroppedOff,
    accept_dropoff,
    hand_in_near,
    hand_in_points,
)
from portal.services.returns.eligibility import COUNTING, Returnable, ReturnLine, returnable
from portal.services.returns.finding import (
    find_return,
    merchant_returns,
    return_events,
    returns_for,
)
from portal.services.returns.lifecycle import MOVING, apply_return_event, decide, mark_received
from portal.services.returns.opening import (
    MAX_REASON_TEXT,
    LineRequest,
    ReturnRequest,
    open_return,
    pickup_slots,
)
from portal.services.returns.policy import Policy, ReturnNotAllowed, policy_for
from portal.services.returns.refunds import items_value, mark_refunded, refund_due

__all__ = [
    "COUNTING",
    "DROPOFF_CODE_LENGTH",
    "HANDED_OVER",
    "MAX_REASON_TEXT",
    "MOVING",
    "READABLE",
    "RMA_LENGTH",
    "AlreadyDroppedOff",
    "LineRequest",
    "Policy",
    "ReturnLine",
    "ReturnNotAllowed",
    "ReturnRequest",
    "Returnable",
    "accept_dropoff",
    "apply_return_event",
    "decide",
    "find_return",
    "format_rma",
    "hand_in_near",
    "hand_in_points",
    "items_value",
    "mark_received",
    "mark_refunded",
    "merchant_returns",
    "normalise_code",
    "open_return",
    "pickup_slots",
    "policy_for",
    "refund_due",
    "return_events",
    "returnable",
    "returns_for",
]
