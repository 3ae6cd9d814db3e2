"""Authorization server metadata (RFC 8414) and OpenID Provider metadata.

Only what is implemented is advertised; each later capability adds its fields.
"""

from __future__ import annotations

from flask import current_app

from idp import scopes as scope_names

_CLIENT_AUTH = ["client_secret_basic", "client_secret_post"]


def metadata() -> dict:
    issuer = current_app.config["IDP_ISSUER"]
    return {
        "issuer": issuer,
        "token_endpoint": f"{issuer}/oauth/token",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "introspection_endpoint": f"{issuer}/oauth/introspect",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "grant_types_supported": ["client_credentials"],
        "scopes_supported": sorted(scope_names.SUPPORTED - scope_names.USER_SCOPES),
        "token_endpoint_auth_methods_supported": _CLIENT_AUTH,
        "introspection_endpoint_auth_methods_supported": _CLIENT_AUTH,
        "revocation_endpoint_auth_methods_supported": [*_CLIENT_AUTH, "none"],
        "access_token_signing_alg_values_supported": ["RS256"],
    }
