"""Protecting our own JSON APIs with our access tokens (RFC 6750)."""

from __future__ import annotations

from authlib.integrations.flask_oauth2 import ResourceProtector, current_token
from authlib.integrations.flask_oauth2.errors import raise_http_exception
from authlib.oauth2.base import OAuth2Error
from authlib.oauth2.rfc6749.errors import ForbiddenError
from authlib.oauth2.rfc6750 import BearerTokenValidator, InsufficientScopeError, InvalidTokenError
from flask import current_app, json

from .descriptions import described
from .endpoints import AccessToken
from .verification import TokenRejected, verify_access_token


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "").replace('"', "'") + '"'


class InsufficientScope(InsufficientScopeError):
    """RFC 6750 section 3.1: 403 whose ``WWW-Authenticate`` names the error and the
    ``scope`` the resource needs (Authlib's sends no challenge at all)."""

    def __init__(self, scope: str, description: str | None = None) -> None:
        super().__init__(description=description)
        self.scope = scope

    def get_headers(self):
        params = [
            f"error={_quoted(self.error)}",
            f"error_description={_quoted(self.get_error_description())}",
        ]
        if self.scope:
            params.append(f"scope={_quoted(self.scope)}")
        return [*super().get_headers(), ("WWW-Authenticate", "Bearer " + ", ".join(params))]


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


class _Protector(ResourceProtector):
    """Authlib's protector with RFC 6750 section 3.1 challenges."""

    def acquire_token(self, scopes=None, **kwargs):
        try:
            return super().acquire_token(scopes, **kwargs)
        except InsufficientScopeError as error:
            needed = [scopes] if isinstance(scopes, str) else list(scopes or [])
            raise InsufficientScope(" ".join(needed), error.description) from None

    def raise_error_response(self, error: OAuth2Error):
        """A request without a bearer token (no header, or another scheme) is told only
        that Bearer is expected: section 3.1 says such a challenge SHOULD NOT carry an
        error code, which Authlib's ``missing_authorization`` challenge does."""
        if isinstance(error, ForbiddenError):
            headers = [*OAuth2Error.get_headers(error), ("WWW-Authenticate", "Bearer")]
            body = {"error_description": described(error.error), **dict(error.get_body())}
            raise_http_exception(error.status_code, json.dumps(body), headers)
        super().raise_error_response(error)


def protector(audience_setting: str) -> ResourceProtector:
    """A ``@require(scope)`` decorator factory for the API named by ``audience_setting``."""
    require = _Protector()
    require.register_token_validator(AccessTokenValidator(audience_setting))
    return require


__all__ = ["InsufficientScope", "current_token", "protector"]
