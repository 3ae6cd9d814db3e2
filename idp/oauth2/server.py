"""The Authlib authorization server: every grant and endpoint is registered here."""

from __future__ import annotations

from authlib.integrations.flask_oauth2 import AuthorizationServer
from flask import current_app

from idp import scopes as scope_names
from idp.apps.services import query_client

from .endpoints import IntrospectionEndpoint, RevocationEndpoint
from .grants import ClientCredentialsGrant
from .tokens import AccessTokenGenerator


def _save_token(token, request) -> None:
    """JWT access tokens are self-contained; nothing to store for client credentials."""


def init_app(app) -> None:
    # One server per app: Authlib keeps grants and generators on the instance, and tests
    # run several apps (issuers) in one process.
    server = AuthorizationServer()
    server.init_app(app, query_client=query_client, save_token=_save_token)
    server.scopes_supported = sorted(scope_names.SUPPORTED)
    server.register_token_generator("default", AccessTokenGenerator(app.config["IDP_ISSUER"]))
    server.register_grant(ClientCredentialsGrant)
    server.register_endpoint(IntrospectionEndpoint)
    server.register_endpoint(RevocationEndpoint)
    app.extensions["idp_oauth_server"] = server


def authorization_server() -> AuthorizationServer:
    return current_app.extensions["idp_oauth_server"]
