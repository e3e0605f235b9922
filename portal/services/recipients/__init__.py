"""Recipients who sign in at /me with a one-time code (issue 19): who they are (the phone
numbers and e-mail addresses they proved), the codes, and the parcels addressed to them.

- `codes`: asking for a code, checking it, the profile it signs in to;
- `parcels`: a recipient's parcels across every merchant.
"""

from portal.services.recipients.codes import (
    CODE_TRIGGER,
    CodeRefused,
    address_of,
    check_code,
    profile_for,
    remove_address_of,
    send_code,
)
from portal.services.recipients.parcels import MyParcel, addressed_to, parcels_of
from portal.services.recipients.preferences import (
    MADE_BY_PREFERENCE,
    PREFERENCE_TEXT,
    PREFERENCES,
    QUIET_ENDS,
    QUIET_STARTS,
    apply_preferences,
    points_near_me,
    recipient_of,
    save_preferences,
)

__all__ = [
    "CODE_TRIGGER",
    "MADE_BY_PREFERENCE",
    "PREFERENCES",
    "PREFERENCE_TEXT",
    "QUIET_ENDS",
    "QUIET_STARTS",
    "CodeRefused",
    "MyParcel",
    "address_of",
    "apply_preferences",
    "check_code",
    "parcels_of",
    "points_near_me",
    "profile_for",
    "recipient_of",
    "remove_address_of",
    "save_preferences",
    "send_code",
]

# The green mile and "my data" (issue 19): what a recipient's choices avoided, everything we
# hold about them, deleting their profile.
from portal.services.recipients.green_mile import GreenMile, Month, bank_green_mile, green_mile
from portal.services.recipients.my_data import delete_profile, my_data

__all__ += [
    "GreenMile",
    "Month",
    "addressed_to",
    "bank_green_mile",
    "delete_profile",
    "green_mile",
    "my_data",
]
