"""JWKS publication (RFC 7517)."""

from __future__ import annotations

from flask import current_app, jsonify, request

from idp.core.errors import JSONBlueprint

from .signer import key_cache

bp = JSONBlueprint("keys", __name__)


@bp.get("/.well-known/jwks.json")
def jwks():
    """Every key a verifier may meet: next, active and still-relevant retired keys."""
    jwks = key_cache().public_jwks()
    response = jsonify(jwks)
    if not jwks["keys"]:
        # No key yet (none signed anything): an empty set, which verifiers must not keep.
        response.cache_control.no_cache = True
        return response
    response.cache_control.public = True
    response.cache_control.max_age = current_app.config["IDP_JWKS_MAX_AGE"]
    response.add_etag()
    etag, _ = response.get_etag()
    if request.if_none_match.contains(etag):
        response.status_code = 304
        response.set_data(b"")
    return response
