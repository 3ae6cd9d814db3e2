"""The endpoint registry: add, list, remove, rotate a secret, change the threshold.
Every query about ``webhook_endpoints`` is here; callers commit (the CLI and the admin
views both commit once per command)."""

from __future__ import annotations

import secrets

from flask import current_app
from sqlalchemy import select

from idp.apps import schemas
from idp.apps import services as apps
from idp.apps.errors import RegistryError
from idp.core.db_types import utcnow
from idp.core.extensions import db

from . import listeners, signing, ssrf
from .errors import EndpointNotFound, EventsError, UnknownEventType
from .models import ACTIVE, WebhookEndpoint
from .types import DEFAULT, TYPES


def production() -> bool:
    return current_app.config["IDP_ENV"] == "production"


def parse_types(value: object) -> list[str]:
    """A list (or comma-separated string) of known event types; none means the default."""
    if value is None or value == "" or value == []:
        return list(DEFAULT)
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise UnknownEventType("events must be a list of event types", field="events")
    chosen = sorted({i.strip() for i in items if i.strip()})
    unknown = [i for i in chosen if i not in TYPES]
    if unknown or not chosen:
        raise UnknownEventType(f"unknown event types: {', '.join(unknown)}", field="events")
    return chosen


def add(client_id: str, url: str, events: object = None, **options) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint for the app; returns it and its secret (shown only now)."""
    apps.get(client_id)  # AppNotFound
    ssrf.check_syntax(url, production=production())
    now = utcnow()
    endpoint = WebhookEndpoint(
        id="ep_" + secrets.token_urlsafe(16),
        client_id=client_id,
        url=url,
        event_types=parse_types(events),
        status=ACTIVE,
        failures=0,
        created_at=now,
        updated_at=now,
    )
    secret = signing.new_secret()
    endpoint.secret_sealed = signing.seal(endpoint.id, secret)
    _set_options(endpoint, **options)
    db.session.add(endpoint)
    listeners.changed()
    return endpoint, secret


def _set_options(endpoint: WebhookEndpoint, contact_email=None, low_balance_threshold=None):
    if low_balance_threshold is not None:
        value = low_balance_threshold
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 10**9:
            raise EventsError(
                "low_balance_threshold must be a positive integer", field="low_balance_threshold"
            )
        endpoint.low_balance_threshold = value
        listeners.changed()  # a threshold the listener caches must learn
    if contact_email is not None:
        # Deprecated here (the contact is the app's since migration 0012): still taken,
        # for scripts written against the previous release, and set on the app.
        try:
            address = schemas.contact_email(contact_email)
        except RegistryError as exc:
            raise EventsError(exc.description, field="contact_email") from None
        apps.get(endpoint.client_id).contact_email = address or None


def update(endpoint_id: str, **options) -> WebhookEndpoint:
    """Change the event types or the credits.low threshold (or, deprecated, the app's
    contact); ``enable`` re-activates a disabled endpoint (its failure count starts
    again)."""
    endpoint = get(endpoint_id)
    enable = options.pop("enable", False)
    events = options.pop("events", None)
    _set_options(endpoint, **options)
    if events is not None:  # e.g. to opt in to credits.consumed
        endpoint.event_types = parse_types(events)
        listeners.changed()
    if enable:
        endpoint.status, endpoint.failures, endpoint.disabled_at = ACTIVE, 0, None
        listeners.changed()
    endpoint.updated_at = utcnow()
    return endpoint


def get(endpoint_id: object) -> WebhookEndpoint:
    found = isinstance(endpoint_id, str) and db.session.get(WebhookEndpoint, endpoint_id)
    if not found:
        raise EndpointNotFound()
    return found


def for_app(client_id: str) -> list[WebhookEndpoint]:
    apps.get(client_id)
    query = select(WebhookEndpoint).where(WebhookEndpoint.client_id == client_id)
    return list(db.session.scalars(query.order_by(WebhookEndpoint.created_at)))


def remove(endpoint_id: str) -> None:
    db.session.delete(get(endpoint_id))


def rotate_secret(endpoint_id: str) -> tuple[WebhookEndpoint, str]:
    """A new secret at once (the old one stops signing); returns it, shown only now."""
    endpoint = get(endpoint_id)
    secret = signing.new_secret()
    endpoint.secret_sealed = signing.seal(endpoint.id, secret)
    endpoint.updated_at = utcnow()
    return endpoint, secret


def rewrap() -> int:
    """Re-seal every endpoint secret under the sealing key-encryption key (the first of
    ``IDP_KEY_ENCRYPTION_KEY``), as ``flask keys rewrap`` does for signing keys; returns
    how many were sealed under another key.  The caller commits."""
    changed = 0
    for endpoint in db.session.scalars(select(WebhookEndpoint)):
        secret, index = signing.unseal_with_index(endpoint.id, endpoint.secret_sealed)
        if index:
            endpoint.secret_sealed = signing.seal(endpoint.id, secret)
            changed += 1
    return changed


def contact(endpoint: WebhookEndpoint) -> str | None:
    """Who is told about the endpoint: its app's contact address, else the one a node of
    the previous release stored on the endpoint (read until a later release drops it)."""
    return apps.get(endpoint.client_id).contact_email or endpoint.contact_email


def to_dict(endpoint: WebhookEndpoint) -> dict:
    return {
        "id": endpoint.id,
        "client_id": endpoint.client_id,
        "url": endpoint.url,
        "events": list(endpoint.event_types),
        "status": endpoint.status,
        # Deprecated: the app's contact address (``flask apps update --contact``).
        "contact_email": contact(endpoint),
        "low_balance_threshold": endpoint.low_balance_threshold,
        "failures": endpoint.failures,
        "created_at": endpoint.created_at.isoformat(),
    }
