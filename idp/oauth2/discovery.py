"""Authorization server metadata (RFC 8414) and OpenID Provider metadata (OIDC Discovery).

Only what is implemented is advertised.
"""

from __future__ import annotations

from flask import current_app

from idp.core import scopes as scope_names

_CLIENT_AUTH = ["client_secret_basic", "client_secret_post"]


def metadata() -> dict:
    issuer = current_app.config["IDP_ISSUER"]
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth/authorize",
        "token_endpoint": f"{issuer}/oauth/token",
        "userinfo_endpoint": f"{issuer}/oauth/userinfo",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "introspection_endpoint": f"{issuer}/oauth/introspect",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "end_session_endpoint": f"{issuer}/oauth/logout",
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "scopes_supported": sorted(scope_names.SUPPORTED),
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "azp",
            "at_hash",
            "name",
            "email",
            "email_verified",
            "updated_at",
        ],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login", "consent", "create"],
        "token_endpoint_auth_methods_supported": [*_CLIENT_AUTH, "none"],
        "introspection_endpoint_auth_methods_supported": _CLIENT_AUTH,
        "revocation_endpoint_auth_methods_supported": [*_CLIENT_AUTH, "none"],
        "authorization_response_iss_parameter_supported": True,
        # OIDC Discovery: request_uri_parameter_supported defaults to true when absent.
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "access_token_signing_alg_values_supported": ["RS256"],
    }
