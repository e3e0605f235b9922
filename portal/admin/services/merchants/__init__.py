"""Merchants as supervisors manage them: details, branding, return policy, API keys, webhooks.

Every change is written to the audit log in the caller's transaction, with only the fields that
changed and never a key's plaintext or a webhook's signing secret. The merchant pages use this
package as one namespace (`merchants.update_policy`, `merchants.Brand`); each part is a module.
"""

from portal.admin.services.merchants.branding import (
    LOGO_MAX_BYTES,
    LOGO_MAX_SIDE,
    MIN_CONTRAST,
    Brand,
    brand_css,
    brand_of,
    clean_colour,
    contrast_with_white,
    remove_logo,
    set_logo,
    update_branding,
)
from portal.admin.services.merchants.details import (
    API_SLOT_SHARE,
    COMPLAINT_DUE_DAYS,
    NAME_MAX,
    RETURN_ADDRESS_LINES,
    RETURN_ADDRESS_MAX,
    STORAGE_DAYS,
    Details,
    MerchantRow,
    create_merchant,
    details_of,
    find_merchant,
    list_merchants,
    update_details,
    update_slot_share,
)
from portal.admin.services.merchants.fields import MONEY_MAX, subject
from portal.admin.services.merchants.integrations import (
    WEBHOOK_URL_MAX,
    add_webhook,
    create_key,
    list_keys,
    list_webhooks,
    remove_webhook,
    revoke_key,
)
from portal.admin.services.merchants.policy import (
    SKU_MAX,
    SKUS_MAX,
    WINDOW_DAYS,
    PolicyValues,
    parse_skus,
    policy_values,
    update_policy,
)

__all__ = [
    "API_SLOT_SHARE",
    "COMPLAINT_DUE_DAYS",
    "LOGO_MAX_BYTES",
    "LOGO_MAX_SIDE",
    "MIN_CONTRAST",
    "MONEY_MAX",
    "NAME_MAX",
    "RETURN_ADDRESS_LINES",
    "RETURN_ADDRESS_MAX",
    "SKUS_MAX",
    "SKU_MAX",
    "STORAGE_DAYS",
    "WEBHOOK_URL_MAX",
    "WINDOW_DAYS",
    "Brand",
    "Details",
    "MerchantRow",
    "PolicyValues",
    "add_webhook",
    "brand_css",
    "brand_of",
    "clean_colour",
    "contrast_with_white",
    "create_key",
    "create_merchant",
    "details_of",
    "find_merchant",
    "list_keys",
    "list_merchants",
    "list_webhooks",
    "parse_skus",
    "policy_values",
    "remove_logo",
    "remove_webhook",
    "revoke_key",
    "set_logo",
    "subject",
    "update_branding",
    "update_details",
    "update_policy",
    "update_slot_share",
]
