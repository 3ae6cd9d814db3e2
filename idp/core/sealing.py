"""Secrets at rest: AES-256-GCM under the key-encryption key (``IDP_KEY_ENCRYPTION_KEY``),
each ciphertext bound to what it belongs to (its associated data), so a sealed value
copied onto another row does not open.

The setting may name several keys, comma-separated: the first seals, every one may
unseal (rotation without downtime, docs/deploy.md).  The signing keys (``keys``), the
partner webhook secrets (``idp.events``) and the TOTP secrets (``idp.users.totp``) are
all sealed by this one module.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

from .config import ConfigError

NONCE_BYTES = 12


class Unsealable(LookupError):
    """No configured key-encryption key opens this value (or it was bound elsewhere)."""


def parse_kek(value: str) -> bytes:
    """Decode the configured base64url key-encryption key; it must be 32 bytes."""
    try:
        kek = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise ConfigError("IDP_KEY_ENCRYPTION_KEY is not valid base64url") from None
    if len(kek) != 32:
        raise ConfigError("IDP_KEY_ENCRYPTION_KEY must decode to exactly 32 bytes")
    return kek


def parse_keks(value: str) -> list[bytes]:
    """The configured keys, sealing key first (``IDP_KEY_ENCRYPTION_KEY=new,old``)."""
    keks = [parse_kek(part.strip()) for part in str(value).split(",") if part.strip()]
    if not keks:
        raise ConfigError("IDP_KEY_ENCRYPTION_KEY names no key")
    return keks


def configured_keks() -> list[bytes]:
    """This app's key-encryption keys, sealing key first."""
    return parse_keks(current_app.config["IDP_KEY_ENCRYPTION_KEY"])


def seal(bound_to: str, plaintext: bytes) -> bytes:
    """Encrypt under the sealing key, bound to ``bound_to`` (a row's identity)."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(configured_keks()[0]).encrypt(nonce, plaintext, bound_to.encode())


def unseal_with_index(bound_to: str, blob: bytes) -> tuple[bytes, int]:
    """The plaintext :func:`seal` sealed and the index of the key that opened it (0:
    the sealing key, so anything else is due for re-sealing); :class:`Unsealable` else."""
    for index, kek in enumerate(configured_keks()):
        try:
            return AESGCM(kek).decrypt(
                blob[:NONCE_BYTES], blob[NONCE_BYTES:], bound_to.encode()
            ), index
        except InvalidTag:
            continue
    raise Unsealable(f"the secret of {bound_to} opens under no key-encryption key")


def unseal(bound_to: str, blob: bytes) -> bytes:
    """The plaintext :func:`seal` sealed, under whichever configured key sealed it."""
    return unseal_with_index(bound_to, blob)[0]
