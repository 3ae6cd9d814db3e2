"""Protecting our own JSON APIs with our access tokens (RFC 6750)."""

from __future__ import annotations

from authlib.integrations.flask_oauth2 import ResourceProtector, current_token
from authlib.oauth2.rfc6750 import BearerTokenValidator, InvalidTokenError
from flask import current_app

from .endpoints import AccessToken
from .verification import TokenRejected, verify_access_token


class AccessTokenValidator(BearerTokenValidator):
    """Accepts only our RS256 access tokens whose ``aud`` names this API."""

    def __init__(self, audience_setting: str) -> None:
        super().__init__(realm=None)
        self.audience_setting = audience_setting

    def authenticate_token(self, token_string):
        audience = current_app.config[self.audience_setting]
        try:
            return AccessToken(verify_access_token(token_string, audience))
        except TokenRejected as exc:
            raise InvalidTokenError(description=str(exc)) from None


def protector(audience_setting: str) -> ResourceProtector:
    """A ``@require(scope)`` decorator factory for the API named by ``audience_setting``."""
    require = ResourceProtector()
    require.register_token_validator(AccessTokenValidator(audience_setting))
    return require


__all__ = ["current_token", "protector"]
