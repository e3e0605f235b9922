"""How the console names the codes it shows a person (statuses, types, methods, channels), in
the agent's language. The codes stay what they are wherever they are data: CSV, URLs, filter
values, the API. A code this module doesn't know shows as itself."""

from __future__ import annotations

# Lazy, with a context: "Open" or "Rejected" is a different word in Swedish for a case, a
# return or a filter. Imported under the name extraction knows (a default keyword).
from portal.admin.text import lazy_pgettext as pgettext

PARCEL_STATUS = {
    "pending": pgettext("parcel status", "Pending"),
    "picked_up": pgettext("parcel status", "Picked up"),
    "in_transit": pgettext("parcel status", "In transit"),
    "out_for_delivery": pgettext("parcel status", "Out for delivery"),
    "delivery_failed": pgettext("parcel status", "Delivery failed"),
    "ready_for_pickup": pgettext("parcel status", "Ready for pickup"),
    "delivered": pgettext("parcel status", "Delivered"),
    "on_hold": pgettext("parcel status", "On hold"),
    "delayed": pgettext("parcel status", "Delayed"),
    "return_to_sender": pgettext("parcel status", "Return to sender"),
    "cancelled": pgettext("parcel status", "Cancelled"),
}
COMPLAINT_STATUS = {
    "open": pgettext("complaint status", "Open"),
    "investigating": pgettext("complaint status", "Investigating"),
    "awaiting_customer": pgettext("complaint status", "Awaiting customer"),
    "resolved": pgettext("complaint status", "Resolved"),
    "rejected": pgettext("complaint status", "Rejected"),
}
COMPLAINT_TYPE = {
    "damaged": pgettext("complaint type", "Damaged"),
    "missing_item": pgettext("complaint type", "Missing item"),
    "not_received": pgettext("complaint type", "Not received"),
    "late": pgettext("complaint type", "Late"),
    "wrong_item": pgettext("complaint type", "Wrong item"),
    "other": pgettext("complaint type", "Other"),
}
RETURN_STATUS = {
    "requested": pgettext("return status", "Requested"),
    "approved": pgettext("return status", "Approved"),
    "rejected": pgettext("return status", "Rejected"),
    "dropped_off": pgettext("return status", "Dropped off"),
    "in_transit": pgettext("return status", "In transit"),
    "received": pgettext("return status", "Received"),
    "refunded": pgettext("return status", "Refunded"),
    "closed": pgettext("return status", "Closed"),
}
RETURN_REASON = {
    "too_small": pgettext("return reason", "Too small"),
    "too_large": pgettext("return reason", "Too large"),
    "damaged": pgettext("return reason", "Damaged"),
    "not_as_described": pgettext("return reason", "Not as described"),
    "wrong_item": pgettext("return reason", "Wrong item"),
    "changed_mind": pgettext("return reason", "Changed mind"),
    "other": pgettext("return reason", "Other"),
}
RETURN_METHOD = {
    "dropoff": pgettext("return method", "Drop-off"),
    "locker": pgettext("return method", "Locker"),
    "home_pickup": pgettext("return method", "Home pickup"),
}
CHANNEL = {
    "sms": pgettext("channel", "SMS"),
    "email": pgettext("channel", "E-mail"),
    "webhook": pgettext("channel", "Webhook"),
}
NOTIFICATION_STATE = {
    "queued": pgettext("message state", "Queued"),
    "sent": pgettext("message state", "Sent"),
    "delivered": pgettext("message state", "Delivered"),
    "failed": pgettext("message state", "Failed"),
    "suppressed": pgettext("message state", "Suppressed"),
}
TRIGGER = {
    "parcel_created": pgettext("message", "Parcel created"),
    "out_for_delivery": pgettext("message", "Out for delivery"),
    "delivery_failed": pgettext("message", "Delivery failed"),
    "ready_for_pickup": pgettext("message", "Ready for pickup"),
    "delayed": pgettext("message", "Delayed"),
    "delivered": pgettext("message", "Delivered"),
    "delivery_changed": pgettext("message", "Delivery changed"),
    "choice_withdrawn": pgettext("message", "Choice withdrawn"),
    "complaint_opened": pgettext("message", "Complaint opened"),
    "complaint_updated": pgettext("message", "Complaint updated"),
    "return_requested": pgettext("message", "Return requested"),
    "return_approved": pgettext("message", "Return approved"),
    "return_rejected": pgettext("message", "Return rejected"),
    "return_dropped_off": pgettext("message", "Return dropped off"),
    "return_received": pgettext("message", "Return received"),
    "return_refunded": pgettext("message", "Return refunded"),
    "staff_password_link": pgettext("message", "Set-password link"),
    "sign_in_code": pgettext("message", "Sign-in code"),
    "profile_inactivity_notice": pgettext("message", "Inactive profile notice"),
}
KINDS = {
    "parcel_status": PARCEL_STATUS,
    "complaint_status": COMPLAINT_STATUS,
    "complaint_type": COMPLAINT_TYPE,
    "return_status": RETURN_STATUS,
    "return_reason": RETURN_REASON,
    "return_method": RETURN_METHOD,
    "channel": CHANNEL,
    "notification_state": NOTIFICATION_STATE,
    "trigger": TRIGGER,
}


def label(kind: str, code: object) -> str:
    """`label("parcel_status", "in_transit")` → "In transit" (Swedish: "Under transport")."""
    value = getattr(code, "value", code)
    known = KINDS[kind].get(str(value))
    return str(known) if known is not None else str(value)
