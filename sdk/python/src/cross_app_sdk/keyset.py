"""Reading a JWK Set: which published keys may verify which of our algorithms."""

from __future__ import annotations

import logging
from typing import Any

from jwt.algorithms import get_default_algorithms

from ._http import FetchError

log = logging.getLogger("cross_app_sdk")

_FAMILY = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}
MIN_RSA_BITS = 2048


def key_type(alg: str) -> str:
    return _FAMILY.get(alg[:2], "")


def parse_key_set(document: dict, algorithms: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """``{kid: {alg: loaded public key}}`` of the keys usable with ``algorithms``.

    Raises :class:`FetchError` when nothing is usable: an empty or broken set is
    treated as a failed fetch, so it can never wipe good keys."""
    keys = document.get("keys")
    if not isinstance(keys, list):
        raise FetchError("JWKS has no keys array")
    impls = get_default_algorithms()
    result: dict[str, dict[str, Any]] = {}
    for jwk in keys:
        loaded = _load(jwk, algorithms, impls) if isinstance(jwk, dict) else {}
        if loaded:
            result.setdefault(jwk["kid"], {}).update(loaded)
    if not result:
        raise FetchError("JWKS has no usable signing key")
    return result


def _load(jwk: dict, algorithms: tuple[str, ...], impls: dict) -> dict[str, Any]:
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid or jwk.get("use", "sig") != "sig":
        return {}
    ops = jwk.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        return {}
    loaded: dict[str, Any] = {}
    for alg in algorithms:
        if jwk.get("alg", alg) != alg or jwk.get("kty") != key_type(alg):
            continue
        try:
            key = impls[alg].from_jwk(jwk)
        except Exception:  # a malformed key is skipped, not fatal to the set
            log.debug("skipping malformed JWK %r", kid)
            continue
        if hasattr(key, "private_numbers"):  # a private key published by mistake
            key = key.public_key()
        if jwk["kty"] == "RSA" and key.key_size < MIN_RSA_BITS:
            continue
        loaded[alg] = key
    return loaded
