"""The Authlib authorization server: every grant and endpoint is registered here."""

from __future__ import annotations

import secrets

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749.authenticate_client import authenticate_client_secret_basic
from authlib.oauth2.rfc6749.errors import InvalidGrantError
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
    """Persist what a grant produced: refresh tokens (hashed), each with the ``jti`` of
    the access token issued beside it (revoking the family denies those), and, for a
    code, what it minted (so a replay can revoke it).  Access tokens themselves are
    self-contained."""
    code = getattr(request, "authorization_code", None)
    rotation = getattr(request, "refresh_token", None)
    claims = unverified_claims(token["access_token"])
    access = (claims["jti"], claims["exp"])
    if rotation is not None:
        # The successor was reserved when the presented token was claimed; it keeps the
        # grant's scope (RFC 6749 section 6) even when this access token was narrowed.
        if not services.complete_rotation(rotation, token.get("refresh_token"), *access):
            raise InvalidGrantError("the grant of this refresh token was revoked")
    elif "refresh_token" in token:
        family = code.issued_family if code else secrets.token_hex(16)
        services.save_refresh_token(
            token["refresh_token"],
            request.client,
            request.user,
            token["scope"],
            family,
            access=access,
        )
    if code is not None:
        # After the refresh token exists: a replay noticed here revokes it too.
        services.record_code_tokens(code, *access)


def _client_secret_basic(query_client, request):
    """RFC 6749 section 2.3.1.  Authlib's parser raises ``ValueError`` on a non-ASCII
    header or a scheme without credentials; such a header names no client (401, not 500)."""
    try:
        return authenticate_client_secret_basic(query_client, request)
    except ValueError:
        return None


def init_app(app) -> None:
    # One server per app: Authlib keeps grants and generators on the instance, and tests
    # run several apps (issuers) in one process.
    server = AuthorizationServer()
    server.init_app(app, query_client=query_client, save_token=_save_token)
    server.register_client_auth_method("client_secret_basic", _client_secret_basic)
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


def error_redirect(error):
    """An authorization error sent back to the app, with ``iss`` as RFC 9207 section 2
    requires of error responses too: Authlib's issuer extension only decorates
    ``create_authorization_response``, not errors raised while validating the request."""
    server = authorization_server()
    response = server.handle_error_response(None, error)
    server.execute_hook("after_create_authorization_response", response)
    return response
