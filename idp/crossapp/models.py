"""Per-user, per-app data: the seed's "enhanced user model"."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idp.core.db_types import UTCDateTime
from idp.core.extensions import db


class UserAppMetadata(db.Model):
    """A small JSON document an app keeps about a user; only that app reads or writes it."""

    __tablename__ = "user_app_metadata"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("user_id", "client_id"),)


class UserAppRole(db.Model):
    """An app-specific role; it appears in that app's access tokens only (RFC 9068 roles)."""

    __tablename__ = "user_app_roles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("user_id", "client_id", "role"),)
