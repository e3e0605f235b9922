"""Database models, one module per concept; imported here so Alembic sees them all."""

from portal.models.account import Account, Role
from portal.models.api_key import ApiKey, IdempotencyRecord
from portal.models.audit import AuditEntry, MessageTemplate, ParcelNote
from portal.models.complaint import (
    Complaint,
    ComplaintMessage,
    ComplaintStatus,
    ComplaintType,
    Photo,
    Resolution,
)
from portal.models.delivery import (
    ChoiceType,
    DeliveryChoice,
    PickupPoint,
    Slot,
    SlotTemplate,
    Vehicle,
)
from portal.models.edd import TransitEstimate, TransitObservation
from portal.models.event import TrackingEvent
from portal.models.link import SignedLink
from portal.models.merchant import Carrier, Merchant
from portal.models.notification import (
    Channel,
    InboundMessage,
    Notification,
    NotificationState,
    SmsOptOut,
    WebhookEndpoint,
)
from portal.models.parcel import TERMINAL_STATUSES, Parcel, ParcelItem, ParcelStatus
from portal.models.recipient import Recipient, RecipientAddress, SignInCode
from portal.models.return_ import (
    Return,
    ReturnItem,
    ReturnMethod,
    ReturnPolicy,
    ReturnReason,
    ReturnStatus,
)
from portal.models.zone import ClosedDay, Zone, ZonePostcodePrefix

__all__ = [
    "TERMINAL_STATUSES",
    "Account",
    "ApiKey",
    "AuditEntry",
    "Carrier",
    "Channel",
    "ChoiceType",
    "ClosedDay",
    "Complaint",
    "ComplaintMessage",
    "ComplaintStatus",
    "ComplaintType",
    "DeliveryChoice",
    "IdempotencyRecord",
    "InboundMessage",
    "Merchant",
    "MessageTemplate",
    "Notification",
    "NotificationState",
    "Parcel",
    "ParcelItem",
    "ParcelNote",
    "ParcelStatus",
    "Photo",
    "PickupPoint",
    "Recipient",
    "RecipientAddress",
    "Resolution",
    "Return",
    "ReturnItem",
    "ReturnMethod",
    "ReturnPolicy",
    "ReturnReason",
    "ReturnStatus",
    "Role",
    "SignInCode",
    "SignedLink",
    "Slot",
    "SlotTemplate",
    "SmsOptOut",
    "TrackingEvent",
    "TransitEstimate",
    "TransitObservation",
    "Vehicle",
    "WebhookEndpoint",
    "Zone",
    "ZonePostcodePrefix",
]
