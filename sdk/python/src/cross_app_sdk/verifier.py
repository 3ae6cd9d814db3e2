"""Offline verification of RFC 9068 access tokens: :class:`TokenVerifier` and
:class:`AsyncTokenVerifier`.

The algorithm is never chosen by the token: the header's ``alg`` must be one of the
configured (asymmetric) algorithms and the key must be published for it; the signature is
checked before the payload is even parsed.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import time
from collections.abc import Iterable, Sequence
from typing import Any

from jwt.algorithms import get_default_algorithms

from .claims import Claims
from .discovery import Discovery
from .errors import ConfigurationError, InsufficientScope, InvalidToken, Reason
from .introspection import AsyncIntrospector, Introspector
from .jwks import AsyncKeyCache, CachePolicy, KeyCache
from .keyset import key_type

ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
MAX_TOKEN_LENGTH = 16 * 1024
MAX_KID_LENGTH = 256
_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_STRING_CLAIMS = ("sub", "client_id", "jti")


def _b64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _json_object(segment: str) -> dict:
    try:
        value = json.loads(_b64(segment))
    except (ValueError, binascii.Error):
        raise InvalidToken(Reason.MALFORMED, "not a JWS in compact form") from None
    if not isinstance(value, dict):
        raise InvalidToken(Reason.MALFORMED, "a JWS segment is not a JSON object")
    return value


def _number(payload: dict, name: str) -> float | None:
    """A NumericDate claim (RFC 7519 section 2): a finite JSON number, or None if absent."""
    value = payload.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidToken(Reason.INVALID_CLAIM, f"the {name} claim is not a number")
    return value


def _required_number(payload: dict, name: str) -> float:
    value = _number(payload, name)
    if value is None:
        raise InvalidToken(Reason.MISSING_CLAIM, f"the {name} claim is missing")
    return value


def _typ_ok(typ: object) -> bool:
    """RFC 9068 section 4: ``at+jwt``, compared case-insensitively, optionally with the
    ``application/`` prefix (RFC 7515 section 4.1.9)."""
    if not isinstance(typ, str):
        return False
    typ = typ.lower()
    return typ == "at+jwt" or typ == "application/at+jwt"


def _asymmetric(algorithms: Iterable[str]) -> tuple[str, ...]:
    """Only asymmetric algorithms: with ``HS256`` allowed, the public key would become an
    HMAC secret (RFC 8725 section 2.1, 3.1)."""
    algorithms = tuple(algorithms)
    bad = [a for a in algorithms if a not in ASYMMETRIC or not key_type(a)]
    if not algorithms or bad:
        raise ConfigurationError(
            f"algorithms must be asymmetric JWS algorithms from {ASYMMETRIC}; got {bad}"
        )
    return algorithms


def _audiences(audience: str | Sequence[str]) -> frozenset[str]:
    if isinstance(audience, str):
        audience = (audience,)
    if not audience or not all(isinstance(a, str) and a for a in audience):
        raise ConfigurationError("audience must be a non-empty string (or strings)")
    return frozenset(audience)


class _Verifier:
    """Configuration, parsing and claim checks shared by both verifiers."""

    _cache_class: type = KeyCache
    _introspector_class: type = Introspector

    def __init__(
        self,
        issuer: str,
        audience: str | Sequence[str],
        *,
        leeway: float = 30,
        algorithms: Iterable[str] = ("RS256",),
        jwks_uri: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        introspection_endpoint: str | None = None,
        introspection_ttl: float = 10.0,
        cache: CachePolicy | None = None,
        **policy: Any,
    ) -> None:
        algorithms = _asymmetric(algorithms)
        self.issuer = issuer
        self.audience = _audiences(audience)
        self.leeway = float(leeway)
        self.algorithms = algorithms
        self.policy = cache or CachePolicy(**policy)
        self.discovery = Discovery(
            issuer,
            jwks_uri=jwks_uri,
            introspection_endpoint=introspection_endpoint,
            timeout=self.policy.timeout,
            max_bytes=self.policy.max_bytes,
        )
        self.keys = self._cache_class(self.discovery, algorithms, self.policy)
        self.introspector = self._introspector_class(
            self.discovery, client_id, client_secret, introspection_ttl, self.policy.timeout
        )
        impls = get_default_algorithms()
        self._impls = {alg: impls[alg] for alg in algorithms}

    # -- steps ---------------------------------------------------------------------------
    def _header(self, token: object) -> tuple[str, str, str]:
        """(kid, alg, payload segment) after the checks that need no key."""
        if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
            raise InvalidToken(Reason.MALFORMED, "not a JWS in compact form")
        if not _COMPACT.fullmatch(token):
            raise InvalidToken(Reason.MALFORMED, "not a JWS in compact form")
        header_segment, payload_segment, _ = token.split(".")
        header = _json_object(header_segment)
        alg = header.get("alg")
        if alg not in self._impls:
            # Nothing the token says is echoed: descriptions end up in response headers.
            raise InvalidToken(Reason.ALG_NOT_ALLOWED, "the token's alg is not accepted")
        if not _typ_ok(header.get("typ")):
            raise InvalidToken(Reason.INVALID_TYP, "typ must be at+jwt (RFC 9068)")
        if "crit" in header:
            raise InvalidToken(Reason.UNSUPPORTED_CRIT, "critical header parameters")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid or len(kid) > MAX_KID_LENGTH:
            raise InvalidToken(Reason.MISSING_KID, "the header names no usable kid")
        return kid, alg, payload_segment

    def _verified_payload(self, token: str, alg: str, key: Any, payload_segment: str) -> dict:
        signing_input, _, signature = token.rpartition(".")
        try:
            ok = self._impls[alg].verify(signing_input.encode(), key, _b64(signature))
        except (ValueError, binascii.Error, TypeError):
            ok = False
        if not ok:
            raise InvalidToken(Reason.INVALID_SIGNATURE, "the signature does not verify")
        return _json_object(payload_segment)

    def _check_claims(self, payload: dict, token: str) -> Claims:
        """RFC 9068 section 4 (and RFC 7519 section 4.1) on a verified payload."""
        iss = payload.get("iss")
        if iss is None:
            raise InvalidToken(Reason.MISSING_CLAIM, "the iss claim is missing")
        if iss != self.issuer:
            raise InvalidToken(Reason.INVALID_ISSUER, "the token is from another issuer")
        for name in _STRING_CLAIMS:
            value = payload.get(name)
            if value is None:
                raise InvalidToken(Reason.MISSING_CLAIM, f"the {name} claim is missing")
            if not isinstance(value, str) or not value:
                raise InvalidToken(Reason.INVALID_CLAIM, f"the {name} claim is not a string")
        self._check_audience(payload.get("aud"))
        now = time.time()
        leeway = self.leeway
        if _required_number(payload, "exp") <= now - leeway:
            raise InvalidToken(Reason.EXPIRED, "the token has expired")
        if _required_number(payload, "iat") > now + leeway:
            raise InvalidToken(Reason.ISSUED_IN_FUTURE, "the token is issued in the future")
        nbf = _number(payload, "nbf")
        if nbf is not None and nbf > now + leeway:
            raise InvalidToken(Reason.NOT_YET_VALID, "the token is not valid yet")
        scope = payload.get("scope")
        if scope is not None and not isinstance(scope, str):
            raise InvalidToken(Reason.INVALID_CLAIM, "the scope claim is not a string")
        return Claims.from_payload(payload, token)

    def _check_audience(self, aud: object) -> None:
        if aud is None:
            raise InvalidToken(Reason.MISSING_CLAIM, "the aud claim is missing")
        if isinstance(aud, str):
            if aud in self.audience:
                return
        elif isinstance(aud, list) and all(isinstance(a, str) for a in aud):
            if not self.audience.isdisjoint(aud):
                return
        else:
            raise InvalidToken(Reason.INVALID_CLAIM, "the aud claim is malformed")
        raise InvalidToken(Reason.INVALID_AUDIENCE, "the token is not meant for this audience")

    @staticmethod
    def _check_scopes(claims: Claims, scopes: str | Iterable[str]) -> None:
        required = scopes.split() if isinstance(scopes, str) else list(scopes)
        missing = [s for s in required if s not in claims.scopes]
        if missing:
            raise InsufficientScope(missing, required)


class TokenVerifier(_Verifier):
    """Verifies our access tokens offline, with a JWKS cache that survives IdP outages and
    kid sprays.  Thread-safe; build one per process and share it.

    ``issuer``: the IdP's base URL (``iss``), https except on loopback.  ``audience``: your
    app's audience (or several; the token's ``aud`` must name one).  ``leeway``: clock skew
    allowed on ``exp``/``nbf``/``iat``.  ``algorithms``: accepted JWS algorithms (asymmetric
    only).  ``client_id``/``client_secret``: your app's credentials, for ``introspect=True``.
    Cache knobs (see :class:`CachePolicy`) as keywords: ``min_ttl``, ``max_ttl``,
    ``default_ttl``, ``cooldown``, ``negative_ttl``, ``max_stale``, ``max_bytes``,
    ``timeout``.
    """

    def verify(
        self, token: str, scopes: str | Iterable[str] = (), *, introspect: bool = False
    ) -> Claims:
        """The token's :class:`Claims`, or :class:`InvalidToken` (``reason``),
        :class:`InsufficientScope` (``missing``), :class:`KeySetUnavailable`,
        :class:`IntrospectionUnavailable`."""
        kid, alg, payload_segment = self._header(token)
        key = self.keys.get(kid, alg)
        claims = self._check_claims(self._verified_payload(token, alg, key, payload_segment), token)
        if introspect:
            self.introspector.check(claims)
        if scopes:
            self._check_scopes(claims, scopes)
        return claims

    def refresh_keys(self) -> bool:
        """Fetch the JWKS now (a failure keeps the current keys); True if it succeeded."""
        return self.keys.refresh()


class AsyncTokenVerifier(_Verifier):
    """:class:`TokenVerifier` for asyncio (ASGI apps); same parameters and behaviour, one
    JWKS fetch in flight per event loop."""

    _cache_class = AsyncKeyCache
    _introspector_class = AsyncIntrospector

    async def verify(
        self, token: str, scopes: str | Iterable[str] = (), *, introspect: bool = False
    ) -> Claims:
        """As :meth:`TokenVerifier.verify`."""
        kid, alg, payload_segment = self._header(token)
        key = await self.keys.get(kid, alg)
        claims = self._check_claims(self._verified_payload(token, alg, key, payload_segment), token)
        if introspect:
            await self.introspector.check(claims)
        if scopes:
            self._check_scopes(claims, scopes)
        return claims

    async def refresh_keys(self) -> bool:
        return await self.keys.refresh()
