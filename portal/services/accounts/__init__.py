"""Log-in accounts (drop-off desks, agents, supervisors): passwords, the lockout after repeated
failures, the TOTP second factor, set-password links, and what supervisors do to other
accounts.

The package: `login`, `totp`, `passwords`, `password_links` and `staff` (supervisors' actions).
Callers import from the package.
"""

from __future__ import annotations

from portal.services.accounts.login import (
    AccountLocked,
    authenticate,
    complete_login,
    find_account,
    is_locked,
    log_out,
    stand_in_hash,
)
from portal.services.accounts.password_links import (
    LINK_REMOVED,
    PASSWORD_LINK_TRIGGER,
    SET_PASSWORD_PATH,
    PasswordLinkInvalid,
    account_for_password_link,
    password_link_token,
    set_password_with_link,
)
from portal.services.accounts.passwords import (
    MAX_PASSWORD,
    MIN_PASSWORD,
    change_password,
    check_password_rules,
)
from portal.services.accounts.staff import (
    EMAIL_MAX,
    add_account,
    change_role,
    create_account,
    describe,
    list_accounts,
    reset_password,
    reset_totp,
    set_active,
    unlock,
)
from portal.services.accounts.totp import (
    CodeCheck,
    check_code,
    disable_totp,
    enable_totp,
    new_totp_secret,
    totp_uri,
)

__all__ = [
    "EMAIL_MAX",
    "LINK_REMOVED",
    "MAX_PASSWORD",
    "MIN_PASSWORD",
    "PASSWORD_LINK_TRIGGER",
    "SET_PASSWORD_PATH",
    "AccountLocked",
    "CodeCheck",
    "PasswordLinkInvalid",
    "account_for_password_link",
    "add_account",
    "authenticate",
    "change_password",
    "change_role",
    "check_code",
    "check_password_rules",
    "complete_login",
    "create_account",
    "describe",
    "disable_totp",
    "enable_totp",
    "find_account",
    "is_locked",
    "list_accounts",
    "log_out",
    "new_totp_secret",
    "password_link_token",
    "reset_password",
    "reset_totp",
    "set_active",
    "set_password_with_link",
    "stand_in_hash",
    "totp_uri",
    "unlock",
]
