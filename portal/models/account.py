"""People who log in: service-point staff (`dropoff`) now, agents and supervisors in the console."""

from __future__ import annotations

import enum
from datetime import datetime

from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy import String, true
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from portal.extensions import db
from portal.models.types import UTCDateTime, portable_enum, utcnow


class Role(enum.StrEnum):
    DROPOFF = "dropoff"
    AGENT = "agent"
    SUPERVISOR = "supervisor"


class Account(UserMixin, db.Model):
    __tablename__ = "account"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-case; the unique index makes "A@x" and "a@x" one account.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(portable_enum(Role, "account_role"))
    # Where a drop-off account works: named on the customer's receipt and the return's timeline.
    place: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    # Changing it logs out every session of the account (Flask-Login's id includes it).
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Wrong passwords in a row; at LOGIN_LOCK_AFTER the account locks until `locked_until`.
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Base32 TOTP secret once the second factor is enrolled (kept in the clear: the code is
    # computed from it); None: password only, which supervisors are not allowed.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    # The last TOTP time step used, so one code can't log in twice.
    totp_last_step: Mapped[int | None] = mapped_column()
    # The console's language for this person (CONSOLE_LANGUAGES); the drop-off desk's pages
    # are customer pages and follow the desk's own choice like any visitor's.
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")

    def set_password(self, password: str) -> None:
        # PASSWORD_HASH_METHOD is scrypt (werkzeug's default); the tests set a cheap one.
        method = current_app.config["PASSWORD_HASH_METHOD"] if has_app_context() else "scrypt"
        self.password_hash = generate_password_hash(password, method=method)
        self.end_sessions()

    def end_sessions(self) -> None:
        """Log out every session of this account (Flask-Login's id carries the version)."""
        self.session_version = (self.session_version or 0) + 1

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"
