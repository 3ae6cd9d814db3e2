"""The Authlib authorization server: every grant and endpoint is registered here."""

from __future__ import annotations

import secrets

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc9207 import IssuerParameter
from flask import current_app

from idp import scopes as scope_names
from idp.apps.services import query_client

from . import services
from .endpoints import IntrospectionEndpoint, RevocationEndpoint
from .grants import (
    PKCE,
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    OpenIDCode,
    RefreshTokenGrant,
)
from .tokens import AccessTokenGenerator, unverified_claims


class _Issuer(IssuerParameter):
    """RFC 9207: ``iss`` in every authorization response, errors included."""

    def get_issuer(self):
        return current_app.config["IDP_ISSUER"]


def _save_token(token, request) -> None:
    """Persist what a grant produced: refresh tokens (hashed) and, for a code, what it
    minted (so a replay can revoke it).  Access tokens themselves are self-contained."""
    code = getattr(request, "authorization_code", None)
    if code is not None:
        claims = unverified_claims(token["access_token"])
        services.record_code_tokens(code, claims["jti"], claims["exp"])
    if "refresh_token" not in token:
        return
    previous = getattr(request, "refresh_token", None)
    if previous is not None:
        family, family_expires = previous.family_id, previous.family_expires_at
    else:
        family, family_expires = (code.issued_family if code else secrets.token_hex(16)), None
    services.save_refresh_token(
        token["refresh_token"], request.client, request.user, token["scope"], family, family_expires
    )


def init_app(app) -> None:
    # One server per app: Authlib keeps grants and generators on the instance, and tests
    # run several apps (issuers) in one process.
    server = AuthorizationServer()
    server.init_app(app, query_client=query_client, save_token=_save_token)
    server.scopes_supported = sorted(scope_names.SUPPORTED)
    server.register_token_generator("default", AccessTokenGenerator(app.config["IDP_ISSUER"]))
    server.register_grant(ClientCredentialsGrant)
    server.register_grant(AuthorizationCodeGrant, [PKCE(), OpenIDCode(require_nonce=False)])
    server.register_grant(RefreshTokenGrant)
    server.register_endpoint(IntrospectionEndpoint)
    server.register_endpoint(RevocationEndpoint)
    server.register_extension(_Issuer())
    app.extensions["idp_oauth_server"] = server


def authorization_server() -> AuthorizationServer:
    return current_app.extensions["idp_oauth_server"]
