"""Grant types, as Authlib subclasses.  All of them are registered in ``server.py``."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidScopeError

from idp import scopes as scope_names


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    """RFC 6749 section 4.4, for confidential apps only.

    A requested scope outside the app's allowed scopes fails with ``invalid_scope``
    (section 5.2) rather than being silently narrowed, and scopes that describe a
    person (``openid``, ``profile``...) are refused: no user takes part in this grant.
    """

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def validate_requested_scope(self):
        requested = scope_names.to_list(self.request.payload.scope)
        client = self.request.client
        refused = [
            s for s in requested
            if s not in client.allowed_scopes or s in scope_names.USER_SCOPES
        ]
        if refused:
            raise InvalidScopeError(
                f"scope not allowed for this client with client_credentials: {' '.join(refused)}"
            )
        if self.request.payload.scope is not None and not requested:
            raise InvalidScopeError("scope must not be empty")
