"""Writing events: the writer ``idp.core.events_hook.emit`` calls, in the transaction of
the change that causes the event.  Each app the user granted (and that subscribed to
the type) gets its own event row, carrying only what that app may see, and one outbox
message per endpoint; they commit with the change, or roll back with it."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import and_, select

from idp.apps.models import ACTIVE as APP_ACTIVE
from idp.apps.models import AppIntegration
from idp.core import outbox
from idp.core.db_types import utcnow
from idp.core.extensions import db
from idp.oauth2.models import Consent
from idp.users.models import User

from . import listeners, payloads
from .errors import EventNotFound
from .models import ACTIVE, WebhookEndpoint, WebhookEvent
from .types import TYPES

KIND = "webhook"  # the outbox kind our handler (``delivery.deliver``) sends
LOW = "credits.low"


def write(kind: str, user_id: int, data: dict, client_id: str | None = None) -> list[str]:
    """Add ``kind`` for ``user_id`` to the session, for every app that may hear of it;
    returns the new event ids.  ``client_id``: that app alone (a consent), which need not
    hold a consent any more (a revocation).  A type no endpoint listens to, or a fall
    of the balance that crosses no endpoint's threshold, costs no query
    (``listeners``): the wallet emits both on every consume."""
    required = TYPES[kind]
    if not listeners.cache().get().hears(kind, data):
        return []
    groups: dict[tuple[str, int | None], list[WebhookEndpoint]] = {}
    granted: dict[str, set[str]] = {}
    for endpoint, scopes in _endpoints_and_consents(client_id, user_id):
        granted[endpoint.client_id] = set(scopes or ())
        if kind not in endpoint.event_types or not _sees(required, granted[endpoint.client_id]):
            continue
        threshold = endpoint.low_balance_threshold if kind == LOW else None
        if kind == LOW and not listeners.crosses(data, threshold):
            continue
        groups.setdefault((endpoint.client_id, threshold), []).append(endpoint)
    ids = []
    user = db.session.get(User, user_id) if groups else None
    for (app_id, threshold), endpoints in groups.items():
        shown = payloads.shape(kind, data, app_id, granted[app_id], threshold)
        if shown is None:
            continue  # nothing of the change is visible to this app
        event = _event(kind, app_id, {**payloads.profile(user, granted[app_id]), **shown})
        for endpoint in endpoints:
            enqueue(event.id, endpoint.id)
        ids.append(event.id)
    return ids


def _endpoints_and_consents(client_id: str | None, user_id: int | None = None):
    """The active endpoints of active apps the user granted (or of ``client_id``, granted
    or not), each with the scopes the user granted its app (None without a user): one
    query, which finds nothing at all on a server without webhook endpoints."""
    consent = and_(Consent.client_id == WebhookEndpoint.client_id, Consent.user_id == user_id)
    query = (
        select(WebhookEndpoint, Consent.scopes)
        .join(AppIntegration, AppIntegration.client_id == WebhookEndpoint.client_id)
        .outerjoin(Consent, consent)
        # A disabled app hears nothing (its endpoints stay, for when it is enabled again).
        .where(WebhookEndpoint.status == ACTIVE, AppIntegration.status == APP_ACTIVE)
    )
    if client_id is not None:
        query = query.where(WebhookEndpoint.client_id == client_id)
    else:
        query = query.where(Consent.id.is_not(None))
    return db.session.execute(query.order_by(WebhookEndpoint.created_at)).all()


def _sees(required: frozenset[str], scopes: set[str]) -> bool:
    return not required or bool(required & scopes)


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
    endpoints = [
        endpoint
        for endpoint, _ in _endpoints_and_consents(event.client_id)
        if event.type in endpoint.event_types
    ]
    for endpoint in endpoints:
        enqueue(event.id, endpoint.id)
    return [endpoint.id for endpoint in endpoints]
