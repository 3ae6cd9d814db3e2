"""Protocol state kept by the authorization server."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idp.core.db_types import UTCDateTime
from idp.core.extensions import db


class RevokedToken(db.Model):
    """Deny-list entry for a revoked JWT (RFC 7009), kept until the token would expire."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuthorizationCode(db.Model):
    """A one-time code (RFC 6749 section 4.1.2), bound to client, redirect URI and PKCE.

    Only its hash is stored.  After redemption the row remembers what it produced, so a
    replay can revoke exactly those tokens (section 4.1.2: "SHOULD revoke").
    """

    __tablename__ = "authorization_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int | None] = mapped_column(Integer)
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    nonce: Mapped[str | None] = mapped_column(String(255))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(8))
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime)
    # How the session that got the code authenticated (RFC 8176 amr, OIDC acr).
    amr: Mapped[str | None] = mapped_column(String(64))
    acr: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replayed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    issued_jti: Mapped[str | None] = mapped_column(String(64))
    issued_exp: Mapped[int | None] = mapped_column(Integer)
    issued_family: Mapped[str | None] = mapped_column(String(32))

    # Authlib's AuthorizationCodeMixin (RFC 6749 and OIDC).
    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return int(self.auth_time.timestamp())

    def get_acr(self) -> str | None:
        return self.acr

    def get_amr(self) -> list[str] | None:
        return self.amr.split() if self.amr else None


class RefreshToken(db.Model):
    """An opaque refresh token (stored hashed), one link of a rotation family.

    Every use replaces it with a successor in the same family, and a family holds at
    most one live token (neither used, revoked nor expired).  Presenting a used one
    revokes the family (RFC 9700 section 4.14.2), except within the app's reuse grace
    window, where it supersedes its successor instead.
    """

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[str] = mapped_column(String(32), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int | None] = mapped_column(Integer)
    scope: Mapped[str] = mapped_column(Text)
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime)
    # The grant's authentication, kept by every rotation (RFC 8176 amr, OIDC acr).
    amr: Mapped[str | None] = mapped_column(String(64))
    acr: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    family_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoke_reason: Mapped[str | None] = mapped_column(String(32))
    # The token this one succeeded (None for the first of a family, and for rows written
    # before rotation linked them); a reuse within the grace window supersedes its child.
    parent_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # The access token issued in the same response, so revoking the family can deny it.
    access_jti: Mapped[str | None] = mapped_column(String(64))
    access_exp: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (Index("ix_refresh_tokens_user_client", "user_id", "client_id"),)

    # What Authlib's refresh-token grant asks of a token.
    def check_client(self, client) -> bool:
        return self.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return self.scope


class Consent(db.Model):
    """The scopes a user has granted an app; asking for more asks again."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("user_id", "client_id"),)
