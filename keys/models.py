"""Signing keys, stored with their private half encrypted at rest."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from idp.core.db_types import UTCDateTime
from idp.core.extensions import db

NEXT, ACTIVE, RETIRED = "next", "active", "retired"
ALG = "RS256"  # the one signing algorithm: of every key, token, and verifier's check


class SigningKey(db.Model):
    """One RSA key in its lifecycle: next -> active -> retired -> deleted."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16), default=ALG)
    status: Mapped[str] = mapped_column(String(16))
    # nonce || AES-GCM(ciphertext of the PKCS#8 DER private key), the kid as associated data.
    private_key: Mapped[bytes] = mapped_column(LargeBinary)
    public_jwk: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A retired key stays in the JWKS until every token it signed has expired.
    publish_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        # At most one active and one next key, even when two nodes rotate at once.
        Index(
            "uq_signing_keys_one_active",
            "status",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index(
            "uq_signing_keys_one_next",
            "status",
            unique=True,
            sqlite_where=text("status = 'next'"),
            postgresql_where=text("status = 'next'"),
        ),
    )
