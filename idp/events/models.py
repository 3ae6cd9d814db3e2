"""Partner webhooks: the endpoints apps register, the events sent to them, and every
delivery attempt.  Delivery state itself lives in the outbox (``idp.core.outbox``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.core.db_types import UTCDateTime
from idp.core.extensions import db

ACTIVE, DISABLED = "active", "disabled"


class WebhookEndpoint(db.Model):
    """Where an app wants its events, which ones, and the secret they are signed with."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # ep_...
    client_id: Mapped[str] = mapped_column(
        ForeignKey("app_integrations.client_id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2048))
    event_types: Mapped[list] = mapped_column(JSON, default=list)
    # The whsec_ secret sealed under the key-encryption key (AES-GCM, bound to the id):
    # signing needs the secret itself, so it cannot be a hash.
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    # Who hears that the endpoint was disabled after repeated failure.
    contact_email: Mapped[str | None] = mapped_column(String(254))
    # credits.low: fired when an available balance crosses below this (None: never).
    low_balance_threshold: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    # Consecutive failed attempts; a success resets it, reaching the limit disables.
    failures: Mapped[int] = mapped_column(Integer, default=0)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookEvent(db.Model):
    """One event for one app: its id is the ``webhook-id`` of every delivery of it (the
    receiver's idempotency key), its payload exactly what that app may see."""

    __tablename__ = "webhook_events"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # evt_...
    client_id: Mapped[str] = mapped_column(
        ForeignKey("app_integrations.client_id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookAttempt(db.Model):
    """One try at delivering one event to one endpoint (append-only)."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_events.id", ondelete="CASCADE"), index=True
    )
    endpoint_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    attempt: Mapped[int] = mapped_column(Integer)
    ok: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer)
    # The failure's class only (``timeout``, ``refused_address``...): never the reply body.
    error: Mapped[str | None] = mapped_column(String(100))
    duration_ms: Mapped[int] = mapped_column(Integer)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookListeners(db.Model):
    """One row: a random token replaced by every change that may add a listener (an
    endpoint added, re-enabled, or given other types).  Each process compares it with
    the one it last saw to know its cache of listened types is stale (``listeners``)."""

    __tablename__ = "webhook_listeners"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(32))
