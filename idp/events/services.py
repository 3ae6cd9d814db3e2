"""Writing events: the writer ``idp.core.events_hook.emit`` calls, in the transaction of
the change that causes the event.  Each app the user granted (and that subscribed to
the type) gets its own event row, carrying only what that app may see, and one outbox
message per endpoint; they commit with the change, or roll back with it."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import select

from idp.apps.models import ACTIVE as APP_ACTIVE
from idp.apps.models import AppIntegration
from idp.core import outbox
from idp.core.db_types import utcnow
from idp.core.extensions import db
from idp.oauth2.models import Consent
from idp.users.models import User

from .errors import EventNotFound
from .models import ACTIVE, WebhookEndpoint, WebhookEvent
from .types import PROFILE_FIELDS, TYPES

KIND = "webhook"  # the outbox kind our handler (``delivery.deliver``) sends


def write(kind: str, user_id: int, data: dict, client_id: str | None = None) -> list[str]:
    """Add ``kind`` for ``user_id`` to the session, for every app that may hear of it;
    returns the new event ids.  ``client_id``: that app alone (a consent), which need not
    hold a consent any more (a revocation)."""
    required = TYPES[kind]
    granted = _granted(user_id, client_id)
    listeners = _endpoints(kind, [c for c, scopes in granted.items() if _sees(required, scopes)])
    if not listeners:
        return []
    user = db.session.get(User, user_id)
    ids = []
    for app_id, endpoints in listeners.items():
        event = _event(kind, app_id, _data(user, granted[app_id], data))
        for endpoint in endpoints:
            enqueue(event.id, endpoint.id)
        ids.append(event.id)
    return ids


def _granted(user_id: int, client_id: str | None) -> dict[str, set[str]]:
    query = select(Consent.client_id, Consent.scopes).where(Consent.user_id == user_id)
    rows = {c: set(s or ()) for c, s in db.session.execute(query)}
    if client_id is not None:
        return {client_id: rows.get(client_id, set())}
    return rows


def _sees(required: frozenset[str], scopes: set[str]) -> bool:
    return not required or bool(required & scopes)


def _endpoints(kind: str, client_ids: list[str]) -> dict[str, list[WebhookEndpoint]]:
    if not client_ids:
        return {}
    # A disabled app hears nothing (its endpoints stay, for when it is enabled again).
    query = (
        select(WebhookEndpoint)
        .join(AppIntegration, AppIntegration.client_id == WebhookEndpoint.client_id)
        .where(
            WebhookEndpoint.client_id.in_(client_ids),
            WebhookEndpoint.status == ACTIVE,
            AppIntegration.status == APP_ACTIVE,
        )
    )
    found: dict[str, list[WebhookEndpoint]] = {}
    for endpoint in db.session.scalars(query.order_by(WebhookEndpoint.created_at)):
        if kind in endpoint.event_types:
            found.setdefault(endpoint.client_id, []).append(endpoint)
    return found


def _data(user: User, scopes: set[str], data: dict) -> dict:
    """``sub`` always; profile fields only under the scope that shows them."""
    shown = {"sub": user.sub}
    for scope, fields in PROFILE_FIELDS.items():
        if scope in scopes:
            values = {"email": user.email, "email_verified": user.email_verified}
            values["name"] = user.display_name
            shown.update({field: values[field] for field in fields})
    return {**shown, **data}


def _event(kind: str, client_id: str, data: dict) -> WebhookEvent:
    now = utcnow()
    event_id = "evt_" + secrets.token_urlsafe(16)
    stamp = now.astimezone(UTC).isoformat().replace("+00:00", "Z")
    payload = {"id": event_id, "type": kind, "timestamp": stamp, "data": data}
    event = WebhookEvent(id=event_id, client_id=client_id, type=kind, payload=payload)
    event.created_at = now
    db.session.add(event)
    return event


def enqueue(event_id: str, endpoint_id: str, attempt: int = 1, at: datetime | None = None):
    """One delivery attempt of an event to an endpoint, through the outbox."""
    message = outbox.enqueue(
        KIND, endpoint_id, {"event_id": event_id, "endpoint_id": endpoint_id, "attempt": attempt}
    )
    if at is not None:
        message.next_attempt_at = at
    return message


def replay(event_id: str) -> list[str]:
    """Send the event again (same ``webhook-id``) to each active endpoint of its app that
    subscribes to its type; returns their ids.  The caller commits."""
    event = db.session.get(WebhookEvent, event_id) if isinstance(event_id, str) else None
    if event is None:
        raise EventNotFound()
    endpoints = _endpoints(event.type, [event.client_id]).get(event.client_id, [])
    for endpoint in endpoints:
        enqueue(event.id, endpoint.id)
    return [endpoint.id for endpoint in endpoints]
