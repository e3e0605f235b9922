"""How the console names each kind of audit entry, in the agent's language.

The entries keep their stable codes (`parcel.hold`); `portal.services.audit.ACTIONS` names them in
English for the log's CSV and for codes this map does not know yet. Only the display is
translated here."""

from __future__ import annotations

from portal.admin.text import lazy_gettext as _l
from portal.services.audit import ACTIONS

ACTION_LABELS: dict[str, str] = {
    "notification.resend": _l("Resent a notification"),
    "delivery.change": _l("Changed the delivery choice"),
    "parcel.hold": _l("Put the parcel on hold"),
    "parcel.release": _l("Released the hold"),
    "return.open": _l("Started a return for the recipient"),
    "return.approve": _l("Approved a return"),
    "return.reject": _l("Rejected a return"),
    "return.refund": _l("Marked a return refunded"),
    "complaint.assign": _l("Assigned a complaint"),
    "complaint.status": _l("Changed a complaint's status"),
    "complaint.message": _l("Messaged the customer"),
    "complaint.ask_photos": _l("Asked the customer for photos"),
    "note.add": _l("Added an internal note"),
    "inbound.read": _l("Marked a reply read"),
    "account.create": _l("Created an account"),
    "account.update": _l("Changed an account"),
    "account.totp": _l("Changed two-factor log-in"),
    "account.password": _l("Changed their own password"),
    "account.password_reset": _l("Reset a password (set-password link e-mailed)"),
    "merchant.create": _l("Added a merchant"),
    "merchant.update": _l("Changed a merchant"),
    "policy.update": _l("Changed a return policy"),
    "api_key.create": _l("Created an API key"),
    "api_key.revoke": _l("Revoked an API key"),
    "webhook.create": _l("Added a webhook endpoint"),
    "webhook.delete": _l("Removed a webhook endpoint"),
    "template.save": _l("Saved a message template"),
    "template.reset": _l("Reset a message template"),
    "network.zone.create": _l("Added a zone"),
    "network.zone.update": _l("Changed a zone"),
    "network.prefix.add": _l("Added a postcode prefix to a zone"),
    "network.prefix.remove": _l("Removed a postcode prefix from a zone"),
    "network.day.close": _l("Closed a zone for a day"),
    "network.day.reopen": _l("Reopened a zone's closed day"),
    "network.template.create": _l("Added a slot template"),
    "network.template.update": _l("Changed a slot template"),
    "network.template.remove": _l("Removed a slot template"),
    "network.slot.close": _l("Closed a delivery slot"),
    "network.slot.reopen": _l("Reopened a delivery slot"),
    "network.point.create": _l("Added a pickup point or locker"),
    "network.point.update": _l("Changed a pickup point or locker"),
    "network.point.close": _l("Closed a pickup point or locker"),
    "network.point.reopen": _l("Reopened a pickup point or locker"),
    "network.carrier.create": _l("Added a carrier"),
    "network.import": _l("Imported a network file"),
    "network.withdraw": _l("Withdrew a booking (network closure)"),
}


def action_labels() -> dict[str, str]:
    """Every action code with its label in the current language (English where unknown)."""
    return {code: str(ACTION_LABELS.get(code, english)) for code, english in ACTIONS.items()}
