"""Errors of the protocol endpoints that are shown on our own error page, never sent back
to the app: the request does not name a client or a redirect URI we may trust."""

from __future__ import annotations

from authlib.oauth2.base import OAuth2Error

from idp.core.errors import IdPError


class OAuth2PageError(IdPError):
    """Base: a browser request to a protocol endpoint refused on the hosted error page."""

    error = "invalid_request"
    status_code = 400


class UntrustedAuthorizationRequest(OAuth2PageError):
    """RFC 6749 section 4.1.2.1: with an unknown client or a redirect URI that does not
    match, the error is told to the person, never redirected to the unverified URI."""

    @classmethod
    def of(cls, error: OAuth2Error) -> UntrustedAuthorizationRequest:
        """Authlib's error, translated at the boundary (its code and description kept)."""
        refused = cls(error.get_error_description() or error.error)
        refused.error = error.error
        return refused


class LogoutHintMismatch(OAuth2PageError):
    """RP-Initiated Logout 1.0 section 2: ``client_id`` must be the client of the
    ``id_token_hint``."""

    description = "client_id does not match id_token_hint"


class UnregisteredLogoutRedirect(OAuth2PageError):
    """RP-Initiated Logout 1.0 section 3: only a ``post_logout_redirect_uri`` registered
    by the identified client is ever followed."""

    description = "post_logout_redirect_uri is not registered for this client"
