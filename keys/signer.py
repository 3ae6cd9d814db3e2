"""Per-process cache of the signing key and the published key set.

Decrypting and parsing a private key costs far more than an RS256 signature, so
the loaded key object is kept in memory.  Every ``IDP_KEY_REFRESH_SECONDS`` one
cheap query asks the database which kid is active, so a rotation made by another
process or node is noticed without a restart.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from base64 import urlsafe_b64encode

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from flask import current_app
from joserfc.jwk import KeySet, RSAKey

from . import services
from .errors import RotationNotReady

ALG = services.ALG
_PKCS1V15 = padding.PKCS1v15()  # RS256 = RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 3.3)


class KeyCache:
    """Holds the active private key and the public key set for one app."""

    def __init__(
        self,
        refresh_seconds: float,
        unknown_kid_reload_seconds: float,
    ) -> None:
        self.refresh_seconds = refresh_seconds
        self.unknown_kid_reload_seconds = unknown_kid_reload_seconds
        self._lock = threading.Lock()
        self._signing: RSAKey | None = None
        self._signing_checked = float("-inf")
        self._public: KeySet = KeySet([])
        self._public_jwks: dict = {"keys": []}
        self._public_loaded = float("-inf")

    # -- signing ---------------------------------------------------------------------------
    def signing_key(self) -> RSAKey:
        if time.monotonic() - self._signing_checked >= self.refresh_seconds:
            with self._lock:
                if time.monotonic() - self._signing_checked >= self.refresh_seconds:
                    self._reload_signing()
        return self._signing

    def _reload_signing(self) -> None:
        if services.rotation_due():
            # Another node may have rotated, or next is too fresh: try at the next check.
            with contextlib.suppress(RotationNotReady):
                services.rotate()
        kid = services.active_kid()
        if kid is None:
            services.ensure_active()
            kid = services.active_kid()
        if self._signing is None or self._signing.kid != kid:
            self._signing = services.load_private(services.active_key())
            self._public_loaded = float("-inf")  # a new active key means a new key set
        self._signing_checked = time.monotonic()

    def sign(self, claims: dict, typ: str = "JWT") -> str:
        """Sign ``claims`` with exactly the active key, naming its kid: an RS256 JWS in
        compact serialisation (RFC 7515 section 7.1).

        Built here rather than by ``joserfc.jwt.encode``, whose claim conversion and
        header checks cost a third as much again as the signature on every token; our
        claims are JSON already and the header is fixed.  Tokens are verified with the
        libraries (PyJWT, joserfc) in the tests and by every partner."""
        key = self.signing_key()
        header = {"alg": ALG, "typ": typ, "kid": key.kid}
        signing_input = _b64_json(header) + b"." + _b64_json(claims)
        signature = key.get_op_key("sign").sign(signing_input, _PKCS1V15, hashes.SHA256())
        return (signing_input + b"." + _b64(signature)).decode("ascii")

    # -- verification ----------------------------------------------------------------------
    def public_jwks(self) -> dict:
        self._maybe_reload_public(self.refresh_seconds)
        return self._public_jwks

    def public_key(self, kid: str) -> RSAKey | None:
        """The published key named ``kid``, or None."""
        self._maybe_reload_public(self.refresh_seconds)
        key = self._find(kid)
        if key is None:
            self._maybe_reload_public(self.unknown_kid_reload_seconds)
            key = self._find(kid)
        return key

    def _find(self, kid: str) -> RSAKey | None:
        for key in self._public.keys:
            if key.kid == kid:
                return key
        return None

    def _maybe_reload_public(self, max_age: float) -> None:
        if time.monotonic() - self._public_loaded < max_age:
            return
        with self._lock:
            if time.monotonic() - self._public_loaded < max_age:
                return
            rows = services.published()
            jwks = {"keys": [dict(row.public_jwk) for row in rows]}
            # Before the first key exists (joserfc refuses to import an empty set) the set
            # is empty and read again next time, so a key made elsewhere shows at once.
            self._public = KeySet.import_key_set(jwks) if rows else KeySet([])
            self._public_jwks = jwks
            self._public_loaded = time.monotonic() if rows else float("-inf")

    def invalidate(self) -> None:
        """Forget everything; the next use reads the database (after a local rotation)."""
        with self._lock:
            self._signing_checked = float("-inf")
            self._public_loaded = float("-inf")


def _b64(data: bytes) -> bytes:
    return urlsafe_b64encode(data).rstrip(b"=")


def _b64_json(value: dict) -> bytes:
    return _b64(json.dumps(value, separators=(",", ":")).encode("ascii"))


def key_cache() -> KeyCache:
    return current_app.extensions["idp_keys"]
