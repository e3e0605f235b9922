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
    send_code,
)
from portal.services.recipients.parcels import MyParcel, parcels_of

__all__ = [
    "CODE_TRIGGER",
    "CodeRefused",
    "MyParcel",
    "address_of",
    "check_code",
    "parcels_of",
    "send_code",
]

# The green mile and "my data" (issue 19): what a recipient's choices avoided, everything we
# hold about them, deleting their profile.
from portal.services.recipients.green_mile import GreenMile, Month, green_mile
from portal.services.recipients.my_data import (
    addressed_to,
    delete_profile,
    my_data,
)

__all__ += ["GreenMile", "Month", "addressed_to", "delete_profile", "green_mile", "my_data"]
