"""Token introspection (RFC 7662) and revocation (RFC 7009) for JWT access tokens and
opaque refresh tokens.

Authlib's RFC 9068 endpoints declare JWTs irrevocable; ours put the ``jti`` on the
deny-list instead, so these subclass the plain RFC 7662 / RFC 7009 endpoints.
"""

from __future__ import annotations

from authlib.consts import default_json_headers
from authlib.oauth2.base import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc7009 import RevocationEndpoint as _RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint as _IntrospectionEndpoint
from flask import current_app

from . import denylist, services
from .constants import ANY_CLIENT_AUTH_METHODS, CONFIDENTIAL_AUTH_METHODS
from .descriptions import printable
from .models import RefreshToken
from .verification import TokenRejected, verify_access_token


class _UnsupportedTokenType(OAuth2Error):
    """RFC 7009 section 2.2.1: an error response of RFC 6749 section 5.2 (a 400 with no
    challenge; Authlib's class of that name is the RFC 6750 401)."""

    error = "unsupported_token_type"
    status_code = 400


class AccessToken(dict):
    """Verified claims, with the helpers Authlib's endpoints call."""

    def check_client(self, client) -> bool:
        return self["client_id"] == client.get_client_id()

    def meant_for(self, client) -> bool:
        """Issued to ``client``, or naming the client's audience (a resource server)."""
        aud = self["aud"] if isinstance(self["aud"], list) else [self["aud"]]
        return self.check_client(client) or client.audience in aud

    # Authlib's bearer validator asks these after verification has already passed.
    def is_expired(self) -> bool:
        return False

    def is_revoked(self) -> bool:
        return False

    def get_scope(self) -> str:
        return self.get("scope", "")


def _access_token(token_string: str) -> AccessToken | None:
    try:
        return AccessToken(verify_access_token(token_string))
    except TokenRejected:
        return None


def _refresh_token(token_string: str) -> RefreshToken | None:
    if not isinstance(token_string, str) or len(token_string) > 256:
        return None
    return services.find_refresh_token(token_string)


def _lookup(token_string: str, hint: str | None) -> AccessToken | RefreshToken | None:
    """RFC 7009 section 2.1 / RFC 7662 section 2.1: the hint only decides which kind is
    looked up first; a token of the other kind is still found."""
    finders = [_access_token, _refresh_token]
    if hint == "refresh_token":
        finders.reverse()
    for find in finders:
        token = find(token_string)
        if token is not None:
            return token
    return None


class IntrospectionEndpoint(_IntrospectionEndpoint):
    """RFC 7662.  Callers authenticate as a confidential app and see only tokens meant
    for them; any other token, like an invalid one, is ``{"active": false}``
    (section 2.2) so introspection cannot probe other apps' tokens."""

    CLIENT_AUTH_METHODS = list(CONFIDENTIAL_AUTH_METHODS)

    def check_params(self, request, client):
        # The hint only narrows the search (section 2.1); an unknown one is ignored.
        if "token" not in request.form:
            raise InvalidRequestError("the token parameter is required")

    def query_token(self, token_string, token_type_hint):
        return _lookup(token_string, token_type_hint)

    def check_permission(self, token, client, request):
        """A refresh token is shown only to its own client, never to a resource server."""
        if isinstance(token, RefreshToken):
            return token.check_client(client) and services.refresh_token_live(token)
        return token.meant_for(client)

    def create_endpoint_response(self, request):
        client = self.authenticate_endpoint_client(request)
        token = self.authenticate_token(request, client)
        body = self.introspect_token(token) if token else {"active": False}
        return 200, body, default_json_headers

    def introspect_token(self, token):
        if isinstance(token, RefreshToken):
            return self._introspect_refresh_token(token)
        return {
            "active": True,
            "token_type": "Bearer",
            "scope": token.get("scope", ""),
            "client_id": token["client_id"],
            "sub": token["sub"],
            "aud": token["aud"],
            "iss": token["iss"],
            "exp": token["exp"],
            "iat": token["iat"],
            "jti": token["jti"],
            # RFC 9470 section 6.2: how and when the person authenticated, for a
            # resource server that decides on step-up from introspection.
            **{k: token[k] for k in ("acr", "auth_time") if k in token},
        }

    @staticmethod
    def _introspect_refresh_token(row: RefreshToken) -> dict:
        """``token_type`` says ``refresh_token`` (not ``Bearer``), so a resource server
        that checks it never takes this for an access token."""
        return {
            "active": True,
            "token_type": "refresh_token",
            "scope": row.scope,
            "client_id": row.client_id,
            "sub": services.refresh_token_subject(row),
            "iss": current_app.config["IDP_ISSUER"],
            "exp": services.epoch(row.expires_at),
            "iat": services.epoch(row.created_at),
        }


class RevocationEndpoint(_RevocationEndpoint):
    """RFC 7009.  An unknown or already-invalid token answers 200 (section 2.2)."""

    CLIENT_AUTH_METHODS = list(ANY_CLIENT_AUTH_METHODS)

    def check_params(self, request, client):
        if "token" not in request.form:
            raise InvalidRequestError("the token parameter is required")
        hint = request.form.get("token_type_hint")
        if hint and hint not in self.SUPPORTED_TOKEN_TYPES:
            raise _UnsupportedTokenType(f"cannot revoke tokens of type {printable(hint)}")

    def query_token(self, token_string, token_type_hint):
        return _lookup(token_string, token_type_hint)

    def revoke_token(self, token, request):
        """A refresh token takes its whole family (the grant) with it (section 2.1)."""
        if isinstance(token, RefreshToken):
            services.revoke_refresh_token(token)
        else:
            denylist.revoke(token["jti"], token["client_id"], token["exp"])
