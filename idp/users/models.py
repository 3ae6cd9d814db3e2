"""People: accounts, their sign-in sessions, and one-time codes sent by mail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idp.core.db_types import UTCDateTime
from idp.core.extensions import db

CUSTOMER, ADMIN = "customer", "admin"


class User(db.Model):
    """The seed's unified ``users`` table (``user_type`` admin/customer)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Opaque subject identifier: reveals neither sign-up order nor the number of users.
    sub: Mapped[str] = mapped_column(String(32), unique=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(100), default="")
    user_type: Mapped[str] = mapped_column(String(16), default=CUSTOMER)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Last change of the profile claims (OIDC ``updated_at``): sign-up, name, verification.
    # Nullable only for rows written by the deploy before it (readers fall back).
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def get_user_id(self) -> str:
        """Authlib hook: the ``sub`` of tokens issued for this user."""
        return self.sub


class CrossAppSession(db.Model):
    """A signed-in browser (the IdP SSO session); the cookie holds a secret whose hash is here."""

    __tablename__ = "cross_app_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    # How the person authenticated (RFC 8176 values, space-separated) and the level that
    # gives (OIDC acr, idp.users.factors); NULL for rows of the deploy before: a password.
    amr: Mapped[str | None] = mapped_column(String(64))
    acr: Mapped[str | None] = mapped_column(String(64))
    # SHA-256 of the browser's long-lived device cookie: a sign-in from a browser none of
    # the account's sessions ever came from is mailed to its owner (idp.users.alerts).
    device_hash: Mapped[str | None] = mapped_column(String(64))

    @property
    def methods(self) -> tuple[str, ...]:
        """The ``amr`` values of this session (a password for rows without any)."""
        return tuple((self.amr or "pwd").split())


class EmailVerification(db.Model):
    """A 6-digit code mailed to prove the address; bounded attempts, short life."""

    __tablename__ = "email_verifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PasswordReset(db.Model):
    """A single-use, expiring reset link; only the token's hash is stored."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TotpFactor(db.Model):
    """An authenticator app's shared secret (RFC 6238), sealed under the key-encryption
    key; unconfirmed until a first code proves the app holds it.  ``last_step`` is the
    time step of the last code accepted: no code of that step or before works again."""

    __tablename__ = "totp_factors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    last_step: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RecoveryCode(db.Model):
    """One of the ten single-use codes that stand in for the second factor (keyed hash)."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("user_id", "code_hash"),)
