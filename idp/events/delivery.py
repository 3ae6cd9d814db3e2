"""Sending one event to one endpoint: the outbox handler of kind ``webhook``.

Each attempt is its own outbox message (the outbox claims, leases and marks it), and a
failed attempt queues the next one at the time our schedule says, with the attempt row
and the endpoint's counters in the same commit as the outbox's "sent" mark.  The
outbox's own retries (its backoff, its attempt limit) then only cover a handler that
could not even record its attempt (the database away).  Every attempt to one endpoint
carries the event's id as ``webhook-id``: a receiver that has seen it already (we sent,
then died before recording it) drops the copy.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import ssl
import time
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app

from idp.core import mail, outbox
from idp.core.db_types import utcnow
from idp.core.extensions import db

from . import endpoints, signing, ssrf
from .endpoints import production
from .errors import UnsafeURL
from .models import ACTIVE, DISABLED, WebhookAttempt, WebhookEndpoint, WebhookEvent
from .services import enqueue

log = logging.getLogger("idp.events")

# The waits after each failed attempt (IDP_WEBHOOK_RETRY_SCHEDULE), the timeout and the
# disable threshold are settings (idp/core/defaults.py), checked at start-up.
_READ_LIMIT = 4096  # the reply is never stored: read a little so the socket closes cleanly


def deliver(message: outbox.OutboxMessage) -> None:
    """Outbox handler: one attempt; records it, and queues the next after a failure."""
    payload = message.payload
    endpoint = db.session.get(WebhookEndpoint, payload["endpoint_id"])
    event = db.session.get(WebhookEvent, payload["event_id"])
    if endpoint is None or event is None or endpoint.status != ACTIVE:
        return  # removed or disabled since: nothing to send (replay can send it later)
    attempt = int(payload["attempt"])
    started = time.monotonic()
    status, error = send(endpoint, event)
    ok = status is not None and 200 <= status < 300
    db.session.add(
        WebhookAttempt(
            event_id=event.id,
            endpoint_id=endpoint.id,
            attempt=attempt,
            ok=ok,
            status_code=status,
            error=error,
            duration_ms=int((time.monotonic() - started) * 1000),
            attempted_at=utcnow(),
        )
    )
    if ok:
        endpoint.failures = 0
    else:
        _failed(endpoint, event, attempt)


def _failed(endpoint: WebhookEndpoint, event: WebhookEvent, attempt: int) -> None:
    """The next attempt on the schedule; after the last, disable the endpoint if nothing
    got through for IDP_WEBHOOK_DISABLE_AFTER_FAILURES attempts, else give this up."""
    endpoint.failures += 1
    schedule = current_app.config["IDP_WEBHOOK_RETRY_SCHEDULE"]
    if attempt <= len(schedule):
        wait = timedelta(seconds=schedule[attempt - 1])
        enqueue(event.id, endpoint.id, attempt + 1, at=utcnow() + wait)
    elif endpoint.failures >= current_app.config["IDP_WEBHOOK_DISABLE_AFTER_FAILURES"]:
        _disable(endpoint, event)
    else:  # others get through meanwhile: the receiver refuses this one event
        log.warning("webhook event %s given up for endpoint %s", event.id, endpoint.id)


def send(endpoint: WebhookEndpoint, event: WebhookEvent) -> tuple[int | None, str | None]:
    """POST the signed event; (HTTP status, None) or (None, the failure's class)."""
    try:
        addresses = ssrf.safe_addresses(endpoint.url, production=production())
    except UnsafeURL:
        return None, "refused_address"
    body = json.dumps(event.payload, separators=(",", ":"), sort_keys=True)
    secret = signing.unseal(endpoint.id, endpoint.secret_sealed)
    headers = signing.headers(secret, event.id, body)
    headers |= {"content-type": "application/json", "user-agent": "idp-webhooks/1"}
    parts = urlsplit(endpoint.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection = _connection(parts, addresses[0])
    try:
        connection.request("POST", target, body=body.encode(), headers=headers)
        response = connection.getresponse()
        response.read(_READ_LIMIT)
        return response.status, None
    except TimeoutError:
        return None, "timeout"
    except ssl.SSLError:
        return None, "tls"
    except (OSError, http.client.HTTPException) as exc:
        return None, type(exc).__name__[:100]
    finally:
        connection.close()


def _connection(parts, address: str) -> http.client.HTTPConnection:
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    cls = _PinnedHTTPS if https else _PinnedHTTP
    timeout = current_app.config["IDP_WEBHOOK_TIMEOUT_SECONDS"]
    return cls(parts.hostname, port, address=address, timeout=timeout)


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the address the SSRF check approved, not to a second DNS answer."""

    def __init__(self, host, port, *, address: str, **kwargs):
        super().__init__(host, port, **kwargs)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """As :class:`_PinnedHTTP`, with TLS verified for the URL's host name (SNI too)."""

    def __init__(self, host, port, *, address: str, **kwargs):
        super().__init__(host, port, context=ssl.create_default_context(), **kwargs)
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _disable(endpoint: WebhookEndpoint, event: WebhookEvent) -> None:
    """An event failed every attempt for three days: stop sending, tell the app."""
    endpoint.status, endpoint.disabled_at, endpoint.updated_at = DISABLED, utcnow(), utcnow()
    log.warning("webhook endpoint %s disabled after repeated failure", endpoint.id)
    contact = endpoints.contact(endpoint)
    if contact:
        mail.send(
            contact,
            "Webhook endpoint disabled",
            f"Deliveries to your webhook endpoint {endpoint.id} ({endpoint.url}) kept "
            f"failing (the last: every attempt at event {event.id}), so it was disabled.  "
            "Fix the receiver, then enable it again and replay the events you missed "
            "(flask apps webhooks update --enable / replay, or the admin API).",
        )
