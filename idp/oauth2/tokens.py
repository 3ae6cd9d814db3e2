"""RFC 9068 JWT access tokens."""

from __future__ import annotations

import base64
import json
import secrets
import time

from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from flask import current_app

from idp.core import scopes as scope_names
from idp.users.factors import acr_of
from keys.signer import ALG, key_cache

from .services import epoch

_CLAIMS_HOOKS = "idp_token_claims"


def register_claims_hook(app, hook) -> None:
    """Add claims to the access tokens issued for a person: ``hook(client, subject)``
    returns a dict (``idp.crossapp`` adds the user's roles in that app, RFC 9068
    section 7.2.1.1).  Packages above this one plug in here instead of being imported."""
    app.extensions.setdefault(_CLAIMS_HOOKS, []).append(hook)


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
    if granted & scope_names.OPERATOR_SCOPES:  # the registry (admin) and /metrics
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
            alg=ALG,
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
        """For a person: when they signed in, and what the registered hooks add."""
        if user is None:
            return {}
        # RFC 9068 section 2.2.1 / RFC 9470: the level a resource server may demand.
        claims = {"auth_time": epoch(user.auth_time), "acr": user.acr or acr_of(user.methods)}
        for hook in current_app.extensions.get(_CLAIMS_HOOKS, ()):
            claims.update(hook(client, user))
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
