"""The Authlib authorization server: every grant and endpoint is registered here."""

from __future__ import annotations

import secrets
from functools import cached_property

from authlib.integrations.flask_oauth2 import AuthorizationServer as _FlaskAuthorizationServer
from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Payload, FlaskOAuth2Request
from authlib.oauth2.base import OAuth2Error
from authlib.oauth2.rfc6749.authenticate_client import authenticate_client_secret_basic
from authlib.oauth2.rfc6749.errors import (
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
)
from authlib.oauth2.rfc6749.requests import OAuth2Request
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from authlib.oauth2.rfc9207 import IssuerParameter
from flask import current_app
from flask import request as flask_request
from werkzeug.datastructures import MultiDict

from idp.apps.services import query_client
from idp.core import logs, observe
from idp.core import scopes as scope_names

from . import services
from .descriptions import described, printable
from .endpoints import IntrospectionEndpoint, RevocationEndpoint
from .grants import (
    PKCE,
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    OpenIDCode,
    RefreshTokenGrant,
)
from .tokens import AccessTokenGenerator, unverified_claims


def _present(values) -> MultiDict:
    """RFC 6749 section 3.1: a parameter sent without a value is treated as omitted."""
    return MultiDict([(k, v) for k, v in values.items(multi=True) if v != ""])


class _Payload(FlaskOAuth2Payload):
    @cached_property
    def data(self):
        return _present(self._request.values)


class _Request(FlaskOAuth2Request):
    """The request every grant and endpoint reads, with empty parameters left out, so
    ``scope=`` is no scope (section 3.1) wherever Authlib or our code looks."""

    def __init__(self, request) -> None:
        # FlaskOAuth2Request's constructor, but handing Authlib the origin instead of
        # ``request.url``: the URI serves only its refusal of plain http (scheme and host
        # decide it), and building the full IRI cost more than the rest of the wrapping.
        origin = f"{request.scheme}://{request.host}/"
        OAuth2Request.__init__(self, request.method, origin, headers=request.headers)
        self._request = request
        self.payload = _Payload(request)

    @cached_property
    def args(self):
        return _present(self._request.args)

    @cached_property
    def form(self):
        return _present(self._request.form)


class TooManyAttempts(OAuth2Error):
    """429 with ``Retry-After``: this client id (or this address, for unknown ids) failed
    client authentication too often."""

    error = "rate_limited"
    status_code = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(description="Too many attempts. Wait a little and try again.")
        self.retry_after = max(1, retry_after)

    def get_headers(self):
        return [*super().get_headers(), ("Retry-After", str(self.retry_after))]


# RFC 8707 section 2: ``resource`` is the one parameter a request may repeat.
_REPEATABLE = frozenset({"resource"})


def _basic_client_id(request) -> str | None:
    try:
        client_id, _ = extract_basic_authorization(request.headers)
    except ValueError:
        return None
    return client_id or None


def _claimed_client_id(request) -> str | None:
    """The client id the request authenticates as.  RFC 6749 section 2.3: one method per
    request, so HTTP Basic with credentials in the body too is ``invalid_request``; and
    section 3.2: no parameter may be sent twice."""
    repeated = [k for k, values in request.payload.datalist.items() if len(values) > 1]
    if set(repeated) - _REPEATABLE:
        raise InvalidRequestError("a parameter was sent more than once")
    basic = _basic_client_id(request)
    body = request.payload.data.get("client_id")
    if basic and ("client_secret" in request.payload.data or body not in (None, basic)):
        raise InvalidRequestError("use exactly one client authentication method")
    return basic or body


class AuthorizationServer(_FlaskAuthorizationServer):
    """Authlib's server with our request (empty parameters omitted) and one place where
    every client authentication passes: token, introspection and revocation endpoints,
    and the JSON endpoints forwarded to them."""

    #: Hook registered by ``idp.ratelimit``: ``check(client_id)`` may raise
    #: :class:`TooManyAttempts` before authentication; ``failed(client_id)`` counts.
    client_auth_guard = None

    def create_oauth2_request(self, request):
        return _Request(flask_request)

    def get_authorization_grant(self, request):
        """Authlib echoes an unsupported ``response_type`` in its error description
        (``idp.oauth2.descriptions``): give it a printable copy; no grant matches either."""
        _printable_parameter(request, "response_type")
        return super().get_authorization_grant(request)

    def handle_error_response(self, request, error):
        """Every error we answer in JSON is described; Authlib leaves some out.  (Errors
        sent back to an app's redirect URI stay as the grant raised them.)"""
        if not error.description and not error.redirect_uri:
            error.description = described(error.error)
        return super().handle_error_response(request, error)

    def authenticate_client(self, request, methods, endpoint="token"):
        claimed = _claimed_client_id(request)
        guard = self.client_auth_guard
        if guard is not None:
            guard.check(claimed)
        try:
            return super().authenticate_client(request, methods, endpoint)
        except InvalidClientError:
            if guard is not None:
                guard.failed(claimed)
            raise


def _printable_parameter(request, name: str) -> None:
    value = request.payload.data.get(name)
    if value and printable(value) != value:
        request.payload.data[name] = printable(value)


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
    client_id = request.client.client_id
    logs.annotate(client_id=client_id, sub=getattr(request.user, "sub", None))
    observe.emit(observe.TOKEN_ISSUED, grant_type=request.payload.grant_type, client_id=client_id)


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
