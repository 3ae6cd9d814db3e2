"""Private keys at rest: AES-256-GCM under the key-encryption key (``IDP_KEY_ENCRYPTION_KEY``).

The setting may name several keys, comma-separated: the first seals, every one may
unseal.  That is how the key-encryption key is rotated without downtime (docs/deploy.md):
nodes learn the new key before any row depends on it, ``flask keys rewrap`` re-seals
every row under it, then the old key is dropped from the setting.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from idp.core.sealing import parse_kek, parse_keks  # noqa: F401  (one parser for every sealed secret)

from .errors import KeyDecryptionFailed

_NONCE_BYTES = 12


def generate_rsa(size: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=size)


def seal(kek: bytes, kid: str, private_key: rsa.RSAPrivateKey) -> bytes:
    """Encrypt a private key, binding the ciphertext to its kid."""
    der = private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(kek).encrypt(nonce, der, kid.encode())


def unseal(kek: bytes, kid: str, blob: bytes) -> rsa.RSAPrivateKey:
    """Decrypt a private key sealed by :func:`seal`."""
    return serialization.load_der_private_key(_open(kek, kid, blob), password=None)


def unseal_any(keks: list[bytes], kid: str, blob: bytes) -> tuple[rsa.RSAPrivateKey, int]:
    """Decrypt with whichever configured key sealed ``blob``; returns the key and the
    index of the key-encryption key that opened it (0: the sealing key)."""
    for index, kek in enumerate(keks):
        try:
            return serialization.load_der_private_key(_open(kek, kid, blob), None), index
        except KeyDecryptionFailed:
            continue
    raise KeyDecryptionFailed()


def _open(kek: bytes, kid: str, blob: bytes) -> bytes:
    try:
        return AESGCM(kek).decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], kid.encode())
    except InvalidTag:
        raise KeyDecryptionFailed() from None
