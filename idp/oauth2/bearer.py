"""Protecting our own JSON APIs with our access tokens (RFC 6750), and the one resolver of
who is calling them (:class:`Caller`)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from authlib.integrations.flask_oauth2 import ResourceProtector, current_token
from authlib.integrations.flask_oauth2.errors import raise_http_exception
from authlib.oauth2.base import OAuth2Error
from authlib.oauth2.rfc6749.errors import ForbiddenError
from authlib.oauth2.rfc6750 import BearerTokenValidator, InsufficientScopeError, InvalidTokenError
from flask import current_app, json, request

from idp.apps.services import query_client
from idp.core.scopes import ADMIN_SCOPE

from . import services
from .descriptions import described
from .endpoints import AccessToken
from .verification import TokenRejected, token_user, verify_access_token


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


class UserRequired(InvalidTokenError):
    """RFC 6750 section 3.1 ``invalid_token``: an app's own token at an API about a person."""

    description = "This API needs an access token issued for a user."


@dataclass(frozen=True)
class Caller:
    """Who calls a bearer API: the claims of one verified RFC 9068 access token, the
    person it was issued to (``token_user``, None for an app's own client-credentials
    token) and, when such an app acts for a user it names, that user (``acting_for``)."""

    claims: dict
    token_user: object | None = None
    acting_for: object | None = None

    @property
    def client_id(self) -> str:
        return self.claims["client_id"]

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(self.claims.get("scope", "").split())

    @property
    def audiences(self) -> tuple[str, ...]:
        aud = self.claims["aud"]
        return tuple(aud) if isinstance(aud, list) else (aud,)

    @property
    def is_app(self) -> bool:
        """An app's own token (client credentials, RFC 6749 section 4.4): no person signed in."""
        return self.claims["sub"] == self.claims["client_id"]

    @property
    def user(self):
        """Whose data this call is about: the token's person, or the user it acts for."""
        return self.token_user if self.token_user is not None else self.acting_for

    @property
    def actor(self) -> str:
        """Who acted, as the audit trail and the ledger name it."""
        return f"client:{self.client_id}" if self.is_app else f"user:{self.claims['sub']}"

    def person(self):
        """The user the token was issued to; an app's own token is :class:`UserRequired`."""
        if self.token_user is None:
            raise UserRequired()
        return self.token_user

    def is_admin(self) -> bool:
        """An ``admin`` token for the admin API, whose first-party app still holds that
        scope (it may have been disabled or lost the scope since the token was issued)."""
        app = query_client(self.client_id)
        return (
            ADMIN_SCOPE in self.scopes
            and current_app.config["IDP_ADMIN_AUDIENCE"] in self.audiences
            and app is not None
            and app.first_party
            and ADMIN_SCOPE in app.allowed_scopes
        )

    def acting_for_user(self, sub: object, scope: str) -> Caller | None:
        """This app's call on behalf of the user ``sub`` names, who must have granted the
        app ``scope`` (else :class:`InsufficientScope`); None when no user has that sub.
        The user may be disabled: the API decides what that means for it.  One query
        for the user and the consent."""
        found = (
            services.user_and_granted_scopes(sub, self.client_id) if isinstance(sub, str) else None
        )
        if found is None:
            return None
        user, granted = found
        if scope not in granted:
            raise InsufficientScope(scope, "the user has not granted this app " + scope)
        return Caller(self.claims, None, user)


def caller_of(claims: dict) -> Caller:
    """The caller behind verified ``claims`` (its user looked up once, at verification)."""
    return Caller(claims, token_user(claims))


def current_caller() -> Caller:
    """The caller of a view guarded by a :func:`protector` decorator."""
    return caller_of(current_token._get_current_object())


def bearer_caller() -> Caller:
    """The caller of an API that accepts tokens for several audiences and checks them
    itself: any valid access token of ours in ``Authorization: Bearer`` (RFC 6750
    section 2.1), else ``invalid_token``."""
    auth = request.headers.get("Authorization", "")
    if not auth.lower().startswith("bearer "):
        raise InvalidTokenError(description="a bearer token is required")
    try:
        return caller_of(verify_access_token(auth[7:].strip()))
    except TokenRejected as exc:
        raise InvalidTokenError(description=str(exc)) from None


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


_admin_api = protector("IDP_ADMIN_AUDIENCE")


def require_admin(view):
    """The registry admin API: an ``admin`` token (:meth:`Caller.is_admin`)."""

    @_admin_api(ADMIN_SCOPE)
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not current_caller().is_admin():
            raise InvalidTokenError(description="the client behind this token is not active")
        return view(*args, **kwargs)

    return wrapped


__all__ = [
    "Caller",
    "InsufficientScope",
    "UserRequired",
    "bearer_caller",
    "current_caller",
    "current_token",
    "protector",
    "require_admin",
]
