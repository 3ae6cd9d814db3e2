"""Standard Webhooks signatures (``webhook-id``, ``webhook-timestamp``,
``webhook-signature``: HMAC-SHA256 over ``id.timestamp.body``), by the
``standardwebhooks`` library; and the endpoint secrets, sealed at rest."""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

from idp.core import sealing

PREFIX = "whsec_"


def new_secret() -> str:
    """A ``whsec_`` secret: 24 random bytes, base64 (the Standard Webhooks format)."""
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def headers(secret: str, message_id: str, body: str, now: datetime | None = None) -> dict:
    """The three Standard Webhooks headers of one delivery of ``body``."""
    when = now or datetime.now(UTC)
    signature = Webhook(secret).sign(message_id, when, body)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature,
    }


def seal(endpoint_id: str, secret: str) -> bytes:
    """Encrypt a secret under the sealing key-encryption key, bound to its endpoint."""
    return sealing.seal(endpoint_id, secret.encode())


def unseal(endpoint_id: str, blob: bytes) -> str:
    """The secret :func:`seal` sealed, under whichever configured key sealed it."""
    return unseal_with_index(endpoint_id, blob)[0]


def unseal_with_index(endpoint_id: str, blob: bytes) -> tuple[str, int]:
    """The secret and the index of the key-encryption key that opened it (0: sealing)."""
    opened, index = sealing.unseal_with_index(endpoint_id, blob)
    return opened.decode(), index
