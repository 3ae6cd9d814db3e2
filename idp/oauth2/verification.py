"""Verification of our own RFC 9068 access tokens (RFC 9068 section 4, RFC 8725).

Strict by construction: only RS256, only ``typ: at+jwt``, only keys we publish,
found by ``kid``; never the algorithm or key the token proposes.
"""

from __future__ import annotations

import time

from flask import current_app
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jws import extract_compact

from idp.apps.services import query_client
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
    try:
        claims = jwt.decode(token, key, algorithms=[ALG]).claims
    except (JoseError, ValueError):
        raise TokenRejected("bad signature") from None
    _check_claims(claims, audience)
    if query_client(claims["client_id"]) is None:
        raise TokenRejected("client disabled")
    if denylist.is_revoked(claims["jti"]):
        raise TokenRejected("token revoked")
    return claims


def _check_claims(claims: dict, audience: str | None) -> None:
    if any(name not in claims for name in _REQUIRED):
        raise TokenRejected("missing claims")
    if claims["iss"] != current_app.config["IDP_ISSUER"]:
        raise TokenRejected("wrong issuer")
    exp = claims["exp"]
    if not isinstance(exp, int) or isinstance(exp, bool) or exp <= time.time():
        raise TokenRejected("token expired")
    if audience is not None:
        aud = claims["aud"]
        if audience not in (aud if isinstance(aud, list) else [aud]):
            raise TokenRejected("wrong audience")
