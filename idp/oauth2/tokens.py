"""RFC 9068 JWT access tokens."""

from __future__ import annotations

import base64
import json
import secrets
import time

from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from flask import current_app

from idp.core import scopes as scope_names
from keys.signer import key_cache


def audiences(client, scope: str | None) -> list[str]:
    """The app's own audience, plus each resource of this server its scopes reach.

    RFC 9068 section 3 lets the server infer resource indicators from the scope; the
    wallet and admin APIs accept only tokens naming them, so a token minted for one
    partner app never passes audience validation at another.
    """
    granted = set(scope_names.to_list(scope))
    cfg = current_app.config
    result = [client.audience]
    if granted & scope_names.API_SCOPES:
        result.append(cfg["IDP_API_AUDIENCE"])
    if granted & scope_names.WALLET_SCOPES:
        result.append(cfg["IDP_WALLET_AUDIENCE"])
    if scope_names.ADMIN_SCOPE in granted:
        result.append(cfg["IDP_ADMIN_AUDIENCE"])
    return result


class AccessTokenGenerator(JWTBearerTokenGenerator):
    """Signs with exactly the active key and names its ``kid`` in the header.

    Authlib's base class hands joserfc a key without a ``kid`` header; verifiers then
    have to try every published key, so claims are built and signed here instead.
    """

    def __init__(self, issuer: str) -> None:
        super().__init__(
            issuer,
            alg="RS256",
            expires_generator=self.lifetime,
            refresh_token_generator=self.refresh_token,
        )

    @staticmethod
    def lifetime(client, grant_type) -> int:
        return client.access_token_lifetime

    @staticmethod
    def refresh_token(**_) -> str:
        """Opaque, 256 bits; stored only as a hash."""
        return secrets.token_urlsafe(32)

    def get_extra_claims(self, client, grant_type, user, scope):
        """For a person: when they signed in, and their roles in this app only."""
        if user is None:
            return {}
        from idp.crossapp.services import roles_for

        from .services import epoch

        claims = {"auth_time": epoch(user.auth_time)}
        roles = roles_for(user.user_id, client.client_id)
        if roles:
            claims["roles"] = roles
        return claims

    def access_token_generator(self, client, grant_type, user, scope):
        now = int(time.time())
        aud = audiences(client, scope)
        claims = {
            "iss": self.issuer,
            "sub": str(user.get_user_id()) if user else client.get_client_id(),
            "aud": aud[0] if len(aud) == 1 else aud,
            "client_id": client.get_client_id(),
            "scope": scope or "",
            "jti": secrets.token_urlsafe(16),  # 128 bits; Authlib's generator is 20x slower
            "iat": now,
            "exp": now + self._get_expires_in(client, grant_type),
        }
        claims.update(self.get_extra_claims(client, grant_type, user, scope))
        return key_cache().sign(claims, typ="at+jwt")


def unverified_claims(token: str) -> dict:
    """Claims of a token this process just signed (no need to verify our own output)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
