"""Standard Webhooks signatures (``webhook-id``, ``webhook-timestamp``,
``webhook-signature``: HMAC-SHA256 over ``id.timestamp.body``), by the
``standardwebhooks`` library; and the endpoint secrets, sealed at rest."""

from __future__ import annotations

import base64
import os
import secrets
from datetime import UTC, datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from standardwebhooks.webhooks import Webhook

import keys.crypto

PREFIX = "whsec_"
_NONCE = 12


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
    nonce = os.urandom(_NONCE)
    return nonce + AESGCM(_keks()[0]).encrypt(nonce, secret.encode(), endpoint_id.encode())


def unseal(endpoint_id: str, blob: bytes) -> str:
    """The secret :func:`seal` sealed, under whichever configured key sealed it."""
    return unseal_with_index(endpoint_id, blob)[0]


def unseal_with_index(endpoint_id: str, blob: bytes) -> tuple[str, int]:
    """The secret and the index of the key-encryption key that opened it (0: sealing)."""
    for index, kek in enumerate(_keks()):
        try:
            opened = AESGCM(kek).decrypt(blob[:_NONCE], blob[_NONCE:], endpoint_id.encode())
        except InvalidTag:
            continue
        return opened.decode(), index
    raise LookupError(f"the secret of {endpoint_id} opens under no key-encryption key")


def _keks() -> list[bytes]:
    return keys.crypto.parse_keks(current_app.config["IDP_KEY_ENCRYPTION_KEY"])
