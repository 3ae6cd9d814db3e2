"""Grant types, as Authlib subclasses.  All of them are registered in ``server.py``."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import (
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
)
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode as _OpenIDCode

from idp.core import scopes as scope_names
from idp.users import services as users

from . import oidc
from . import services as oauth_services
from .constants import ANY_CLIENT_AUTH_METHODS, CODE_CHALLENGE_METHODS, CONFIDENTIAL_AUTH_METHODS
from .descriptions import printable
from .services import Subject


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    """RFC 6749 section 4.4, for confidential apps only.

    A requested scope outside the app's allowed scopes fails with ``invalid_scope``
    (section 5.2) rather than being silently narrowed, and scopes that describe a
    person (``openid``, ``profile``...) are refused: no user takes part in this grant.
    """

    TOKEN_ENDPOINT_AUTH_METHODS = list(CONFIDENTIAL_AUTH_METHODS)

    def validate_requested_scope(self):
        requested = scope_names.to_list(self.request.payload.scope)
        client = self.request.client
        refused = [
            s for s in requested if s not in client.allowed_scopes or s in scope_names.USER_SCOPES
        ]
        if refused:
            raise InvalidScopeError(
                "scope not allowed for this client with client_credentials: "
                + printable(" ".join(refused))
            )
        if self.request.payload.scope is not None and not requested:
            raise InvalidScopeError("scope must not be empty")


def _offline(scope: str | None) -> bool:
    return "offline_access" in scope_names.to_list(scope)


class PKCE(CodeChallenge):
    """RFC 7636 as RFC 9700 section 2.1.1 wants it: S256 only, mandatory for public clients.

    Authlib's extension accepts ``plain`` and only notices a missing challenge of a
    public client at the token endpoint; both are refused here at the authorization
    endpoint, where the error can go back to the app.
    """

    DEFAULT_CODE_CHALLENGE_METHOD = CODE_CHALLENGE_METHODS[0]
    SUPPORTED_CODE_CHALLENGE_METHOD = list(CODE_CHALLENGE_METHODS)
    # The verifier is checked before the code is claimed, not after the token request
    # is validated as Authlib does: see AuthorizationCodeGrant.query_authorization_code.
    BEFORE_CLAIM = "before_claim_authorization_code"

    def __init__(self) -> None:
        super().__init__(required=True)

    def __call__(self, grant):
        grant.register_hook(
            "after_validate_authorization_request_payload", self.validate_code_challenge
        )
        grant.register_hook(self.BEFORE_CLAIM, self.validate_code_verifier)

    def validate_code_challenge(self, grant, redirect_uri):
        payload = grant.request.payload
        challenge = payload.data.get("code_challenge")
        method = payload.data.get("code_challenge_method")
        if not challenge and not method:
            if not grant.request.client.is_confidential:
                raise InvalidRequestError(
                    "PKCE is required: send code_challenge with code_challenge_method=S256"
                )
            return
        if method not in CODE_CHALLENGE_METHODS:
            raise InvalidRequestError("code_challenge_method must be S256 (plain is refused)")
        super().validate_code_challenge(grant, redirect_uri)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    """RFC 6749 section 4.1 with one-time, hashed, client- and redirect-bound codes."""

    TOKEN_ENDPOINT_AUTH_METHODS = list(ANY_CLIENT_AUTH_METHODS)
    AUTHORIZATION_CODE_LENGTH = 43

    def validate_authorization_redirect_uri(self, request, client):
        # OIDC and RFC 9700 section 2.1: always name the redirect URI, matched exactly.
        if not request.payload.redirect_uri:
            raise InvalidRequestError("redirect_uri is required")
        return super().validate_authorization_redirect_uri(request, client)

    def validate_requested_scope(self):
        """Unoffered standard OIDC scopes (address, phone) are dropped, not refused
        (OIDC Core section 3.1.2.1); any other scope the app does not hold is
        ``invalid_scope`` (RFC 6749 section 4.1.2.1)."""
        payload = self.request.payload
        requested = scope_names.to_list(payload.scope)
        kept = [s for s in requested if s not in scope_names.IGNORED_OIDC_SCOPES]
        if kept != requested:
            payload.data["scope"] = scope_names.to_string(kept)
            requested = kept
        if not requested:
            raise InvalidScopeError("scope is required")
        refused = [
            s
            for s in requested
            if s not in self.request.client.allowed_scopes or s in scope_names.CLIENT_ONLY_SCOPES
        ]
        if refused:
            raise InvalidScopeError(
                "scope not allowed for this client: " + printable(" ".join(refused))
            )

    def save_authorization_code(self, code, request):
        payload = request.payload
        oauth_services.save_code(
            code,
            request.client.client_id,
            request.user,
            payload.redirect_uri,
            request.scope,
            payload.data.get("nonce"),
            payload.data.get("code_challenge"),
            payload.data.get("code_challenge_method"),
        )

    def query_authorization_code(self, code, client):
        """RFC 6749 section 4.1.3 and RFC 7636 section 4.6: a request that does not match
        the code's redirect URI or PKCE challenge is refused *before* the code is claimed,
        so a wrong verifier cannot burn the code of the client that holds the right one.
        A code already used goes straight to redemption, which treats it as a replay."""
        row = oauth_services.find_code(code, client.client_id)
        if row is None:
            return None
        if row.used_at is None:
            self._check_binding(row)
        return oauth_services.redeem_code(row)

    def _check_binding(self, row):
        if row.redirect_uri and self.request.payload.redirect_uri != row.redirect_uri:
            raise InvalidGrantError("Invalid 'redirect_uri' in request.")
        self.request.authorization_code = row
        self.execute_hook(PKCE.BEFORE_CLAIM, None)

    def delete_authorization_code(self, authorization_code):
        """Redemption already marked the code used; it stays to detect replays."""

    def authenticate_user(self, authorization_code):
        user = users.get(authorization_code.user_id)
        if user is None or user.disabled:
            return None
        code = authorization_code
        return Subject(user.id, user.sub, code.auth_time, code.session_id, code.amr, code.acr)

    def generate_token(
        self, user=None, scope=None, grant_type=None, expires_in=None, include_refresh_token=True
    ):
        return super().generate_token(
            user, scope, grant_type, expires_in, include_refresh_token and _offline(scope)
        )


class RefreshTokenGrant(grants.RefreshTokenGrant):
    """RFC 6749 section 6 with rotation on every use, one live token per family and
    reuse detection (RFC 9700 section 4.14.2)."""

    TOKEN_ENDPOINT_AUTH_METHODS = list(ANY_CLIENT_AUTH_METHODS)
    INCLUDE_NEW_REFRESH_TOKEN = True

    def _validate_request_token(self, client):
        """Check a requested scope before the token is claimed: a refused request
        (``invalid_scope``, section 6) must not spend it, or the client's retry would
        look like reuse.  A token already rotated goes straight to reuse detection."""
        value = self.request.form.get("refresh_token")
        valid = isinstance(value, str) and len(value) <= 256
        row, user = oauth_services.find_refresh_token_and_user(value) if valid else (None, None)
        self._stored, self._stored_user = row, user  # for the claim and authenticate_user
        if row is not None and row.check_client(client) and row.used_at is None:
            self._validate_token_scope(row)
        return super()._validate_request_token(client)

    def authenticate_refresh_token(self, refresh_token):
        """A :class:`~idp.oauth2.families.Rotation` (the token claimed and its successor
        reserved), or None; see ``use_refresh_token`` for the reuse rule.  The row (and
        its user) looked up for the scope check are reused: one SELECT per refresh."""
        return oauth_services.use_refresh_token(
            refresh_token, self.request.client, getattr(self, "_stored", None)
        )

    def authenticate_user(self, refresh_token):
        """Section 5.2: a grant whose user is gone or disabled is ``invalid_grant``."""
        token = refresh_token.token
        user = getattr(self, "_stored_user", None)
        if user is None or user.id != token.user_id:
            user = users.get(token.user_id)
        if user is None or user.disabled:
            raise InvalidGrantError("the user of this refresh token cannot sign in")
        return Subject(user.id, user.sub, token.auth_time, token.session_id, token.amr, token.acr)

    def revoke_old_credential(self, refresh_token):
        """Already marked used when claimed; it stays to detect reuse."""

    def generate_token(
        self, user=None, scope=None, grant_type=None, expires_in=None, include_refresh_token=True
    ):
        # Rotation continues the grant: the successor is issued whenever the presented
        # token's grant holds offline_access, even if this request narrows the scope.
        offline = _offline(self.request.refresh_token.token.scope)
        return super().generate_token(
            user, scope, grant_type, expires_in, include_refresh_token and offline
        )


class OpenIDCode(_OpenIDCode):
    """OIDC Core section 3.1 ID tokens, signed by our key store with its ``kid``.

    ``prompt``, ``max_age`` and ``login_hint`` are handled by the authorization view,
    which also knows about ``prompt=create``; only the nonce check is Authlib's.
    """

    def __call__(self, grant):
        grant.register_hook("after_create_token_response", self.process_token)
        grant.register_hook(
            "after_validate_authorization_request_payload",
            self.validate_openid_authorization_request,
        )

    def validate_openid_authorization_request(self, grant, redirect_uri):
        if scope_names.to_list(grant.request.payload.scope).count("openid"):
            super().validate_openid_authorization_request(grant, redirect_uri)

    def exists_nonce(self, nonce, request):
        return oauth_services.nonce_used(request.payload.client_id, nonce)

    def generate_user_info(self, user, scope):
        return oidc.user_info(users.get(user.user_id), scope)

    def encode_id_token(self, token, request):
        return oidc.id_token(token, request)
