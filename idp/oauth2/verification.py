"""Verification of our own RFC 9068 access tokens (RFC 9068 section 4, RFC 8725).

Strict by construction: only RS256, only ``typ: at+jwt``, only keys we publish,
found by ``kid``; never the algorithm or key the token proposes.
"""

from __future__ import annotations

import time

from flask import current_app, has_request_context, request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jws import extract_compact

from idp.apps.services import query_client
from idp.users import services as users
from keys.signer import ALG, key_cache

from . import denylist

_TYPES = ("at+jwt", "application/at+jwt")
_REQUIRED = ("iss", "sub", "aud", "exp", "iat", "jti", "client_id")


class TokenRejected(Exception):
    """The token is not a valid, live access token of this server; ``str()`` says why."""


def verify_access_token(token: object, audience: str | None = None) -> dict:
    """Return the claims of a valid token, else raise :class:`TokenRejected`.

    ``audience``: the resource identifier that must appear in ``aud``; None skips that
    check (introspection, which then checks the caller's own permission).
    """
    if not isinstance(token, str) or token.count(".") != 2 or len(token) > 8192:
        raise TokenRejected("malformed token")
    try:
        claims = jwt.decode(token, _signing_key(token), algorithms=[ALG]).claims
    except (JoseError, ValueError):
        raise TokenRejected("bad signature") from None
    _check_claims(claims, audience)
    _check_live(claims)
    return claims


def _signing_key(token: str):
    """RFC 8725 sections 3.1 and 3.11: the header must name our algorithm, the access
    token type (RFC 9068 section 4) and a key we publish; the key is ours, never the
    token's."""
    try:
        header = extract_compact(token.encode()).protected
    except (JoseError, ValueError):
        raise TokenRejected("malformed token") from None
    if header.get("alg") != ALG:
        raise TokenRejected("unsupported signing algorithm")
    if str(header.get("typ", "")).lower() not in _TYPES:
        raise TokenRejected("not an access token")
    key = key_cache().public_key(header.get("kid")) if isinstance(header.get("kid"), str) else None
    if key is None:
        raise TokenRejected("unknown signing key")
    return key


def _check_live(claims: dict) -> None:
    """Its app still active, the token not revoked, its user (if any) not disabled."""
    if query_client(claims["client_id"]) is None:
        raise TokenRejected("client disabled")
    if denylist.is_revoked(claims["jti"]):
        raise TokenRejected("token revoked")
    if claims["sub"] != claims["client_id"] and token_user(claims) is None:
        raise TokenRejected("user disabled")


def token_user(claims: dict):
    """The active user a verified token speaks for, else None (a client's own token, or
    a user since disabled or removed, whose unexpired tokens must stop working).

    One lookup by ``sub``, remembered on the request (not ``g``, which may outlive it) so
    the API view that wants the user next does not query again."""
    if claims["sub"] == claims["client_id"]:
        return None
    cached = getattr(request, "idp_token_user", None) if has_request_context() else None
    if cached is None or cached[0] != claims["sub"]:
        user = users.by_sub(claims["sub"])
        cached = (claims["sub"], user if user is not None and not user.disabled else None)
        if has_request_context():
            request.idp_token_user = cached
    return cached[1]


def _check_claims(claims: dict, audience: str | None) -> None:
    if any(name not in claims for name in _REQUIRED):
        raise TokenRejected("missing claims")
    if claims["iss"] != current_app.config["IDP_ISSUER"]:
        raise TokenRejected("wrong issuer")
    _check_times(claims)
    if audience is not None:
        aud = claims["aud"]
        if audience not in (aud if isinstance(aud, list) else [aud]):
            raise TokenRejected("wrong audience")


def _numeric_date(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_times(claims: dict) -> None:
    """RFC 7519 sections 4.1.4-4.1.6 and RFC 9068 section 4: expired, not yet valid, or
    issued in the future is refused, each with the same ``IDP_CLOCK_LEEWAY`` for skew
    between our nodes' clocks."""
    leeway = current_app.config["IDP_CLOCK_LEEWAY"]
    now = time.time()
    exp, iat, nbf = claims["exp"], claims["iat"], claims.get("nbf", 0)
    if not _numeric_date(exp) or exp + leeway <= now:
        raise TokenRejected("token expired")
    if not _numeric_date(iat) or iat - leeway > now:
        raise TokenRejected("token issued in the future")
    if not _numeric_date(nbf) or nbf - leeway > now:
        raise TokenRejected("token not yet valid")
