"""Receiving the IdP's partner events: Standard Webhooks signatures, verified.

``verify_webhook(payload, headers, secret)`` checks ``webhook-signature`` (HMAC-SHA256
of ``webhook-id.webhook-timestamp.body`` under the endpoint's ``whsec_`` secret, any of
the space-separated ``v1,`` signatures), refuses a timestamp more than five minutes
off (a replayed capture), and returns the typed :class:`WebhookEvent`.  Deduplicate by
``event.id``: it is the ``webhook-id``, the same on every retry and replay.

Standard library only (``hmac``), so a receiver needs nothing beyond this SDK.
"""

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, NotRequired, TypedDict

from .errors import CrossAppError

TOLERANCE_SECONDS = 300
_PREFIX = "whsec_"


class WebhookVerificationError(CrossAppError):
    """The request is not a valid, fresh, signed event from the IdP; answer it 400."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# -- what ``data`` holds, by type (the OpenAPI document's webhooks) -------------------------
class _Profile(TypedDict):
    sub: str
    email: NotRequired[str]  # under the ``email`` scope
    email_verified: NotRequired[bool]  # under the ``email`` scope
    name: NotRequired[str]  # under the ``profile`` scope


class CreditsData(_Profile):
    """``credits.purchased`` and ``credits.granted``: credits added."""

    credits: int


class CreditsConsumedData(_Profile):
    """``credits.consumed`` (opt-in): ``client_id``/``service`` are null for another
    app's spending."""

    credits: int
    available: int
    client_id: str | None
    service: str | None


class CreditsExpiredData(_Profile):
    credits: int
    available: int


class CreditsLowData(_Profile):
    """``credits.low``: once per crossing below the endpoint's threshold."""

    available: int
    threshold: int


class SubscriptionUpdatedData(_Profile):
    status: str
    plan: str | None


class ConsentGrantedData(_Profile):
    client_id: str
    scopes: list[str]


class ConsentRevokedData(_Profile):
    client_id: str


class UserUpdatedData(_Profile):
    """``user.updated``: the claims that changed, of those your scopes show; their new
    values are beside it."""

    changed: list[Literal["name", "email", "email_verified"]]


EventType = Literal[
    "credits.purchased",
    "credits.granted",
    "credits.consumed",
    "credits.low",
    "credits.expired",
    "subscription.updated",
    "consent.granted",
    "consent.revoked",
    "user.updated",
    "user.deleted",
]
#: The shape of ``event.data`` for each type (``user.deleted`` carries ``sub`` only).
EVENT_DATA: dict[str, type] = {
    "credits.purchased": CreditsData,
    "credits.granted": CreditsData,
    "credits.consumed": CreditsConsumedData,
    "credits.low": CreditsLowData,
    "credits.expired": CreditsExpiredData,
    "subscription.updated": SubscriptionUpdatedData,
    "consent.granted": ConsentGrantedData,
    "consent.revoked": ConsentRevokedData,
    "user.updated": UserUpdatedData,
    "user.deleted": _Profile,
}


@dataclass(frozen=True)
class WebhookEvent:
    """One event: ``type`` (``credits.purchased``...), ``sub`` (the user), ``data`` (a
    dict shaped as ``EVENT_DATA[type]`` says: ``CreditsLowData`` for ``credits.low``...).
    Types this SDK does not know yet arrive too: check ``type`` before reading ``data``."""

    id: str
    type: str
    timestamp: datetime
    sub: str | None
    data: dict[str, Any] = field(default_factory=dict)


def verify_webhook(
    payload: bytes | str,
    headers: Mapping[str, str],
    secret: str,
    *,
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> WebhookEvent:
    """Verify one delivery and return its event; raises WebhookVerificationError."""
    body = payload.encode() if isinstance(payload, str) else bytes(payload)
    found = {k.lower(): v for k, v in headers.items()}
    msg_id, stamp = found.get("webhook-id"), found.get("webhook-timestamp")
    signatures = found.get("webhook-signature")
    if not (msg_id and stamp and signatures):
        raise WebhookVerificationError("missing_headers")
    try:
        sent = int(stamp)
    except ValueError:
        raise WebhookVerificationError("invalid_timestamp") from None
    if abs((time.time() if now is None else now) - sent) > tolerance:
        raise WebhookVerificationError("timestamp_out_of_tolerance")
    expected = _sign(_key(secret), f"{msg_id}.{sent}.".encode() + body)
    if not any(_matches(candidate, expected) for candidate in signatures.split()):
        raise WebhookVerificationError("invalid_signature")
    return _event(body, msg_id)


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix(_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookVerificationError("invalid_secret") from None


def _sign(key: bytes, content: bytes) -> bytes:
    return hmac.new(key, content, hashlib.sha256).digest()


def _matches(candidate: str, expected: bytes) -> bool:
    version, _, value = candidate.partition(",")
    if version != "v1":
        return False
    try:
        given = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(given, expected)


def _event(body: bytes, msg_id: str) -> WebhookEvent:
    try:
        document = json.loads(body)
        data = document.get("data") or {}
        when = datetime.fromisoformat(document["timestamp"].replace("Z", "+00:00"))
        event = WebhookEvent(document["id"], document["type"], when, data.get("sub"), data)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise WebhookVerificationError("invalid_payload") from None
    if event.id != msg_id:  # the signed header and the body must name one event
        raise WebhookVerificationError("invalid_payload")
    return event


# -- framework helpers ---------------------------------------------------------------------
def flask_event(secret: str) -> WebhookEvent:
    """In a Flask view: the verified event of the current request; a bad one aborts 400."""
    from flask import abort, request

    try:
        return verify_webhook(request.get_data(), request.headers, secret)
    except WebhookVerificationError as exc:
        abort(400, exc.reason)


def fastapi_dependency(secret: str) -> Callable:
    """A FastAPI dependency: ``event: WebhookEvent = Depends(fastapi_dependency(SECRET))``;
    a bad request is answered 400."""
    from fastapi import HTTPException, Request

    async def dependency(request: Request) -> WebhookEvent:
        try:
            return verify_webhook(await request.body(), request.headers, secret)
        except WebhookVerificationError as exc:
            raise HTTPException(status_code=400, detail=exc.reason) from None

    return dependency
