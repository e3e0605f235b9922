"""Why a delivery change is refused when the rules allowed it but the network has no room
or no longer offers what was shown."""

from __future__ import annotations

from portal.services.errors import Conflict


class SlotFull(Conflict):
    code = "slot_full"


class LockerFull(Conflict):
    code = "locker_full"


class ChangeTooLate(Conflict):
    code = "change_too_late"


class MerchantSlotShareFull(Conflict):
    """The merchant's API bookings already hold its share of the slot (Merchant.api_slot_share)."""

    code = "merchant_slot_share_full"


class SlotClosed(Conflict):
    """The slot was closed by an operator, or its day became a closed day, after it was shown."""

    code = "slot_closed"


class PickupPointClosed(Conflict):
    code = "pickup_point_closed"
