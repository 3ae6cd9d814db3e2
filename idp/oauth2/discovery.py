"""Authorization server metadata (RFC 8414) and OpenID Provider metadata (OIDC Discovery).

Only what is implemented is advertised: every list is derived from the constants the
grants and endpoints enforce (``constants.py``), so the two cannot drift apart.
"""

from __future__ import annotations

from flask import current_app

from idp.core import scopes as scope_names
from idp.core.i18n import LOCALES
from idp.users.factors import ACR_VALUES

from . import constants

# OIDC Core section 5.1 (and the ID token claims of section 2) that we issue.
_CLAIMS = (
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "amr",
    "acr",
    "nonce",
    "azp",
    "at_hash",
    "name",
    "email",
    "email_verified",
    "updated_at",
)


def metadata() -> dict:
    """RFC 8414 section 2 / OIDC Discovery section 3, for this server's issuer."""
    return {**_endpoints(current_app.config["IDP_ISSUER"]), **_capabilities()}


def _endpoints(issuer: str) -> dict:
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth/authorize",
        "token_endpoint": f"{issuer}/oauth/token",
        "userinfo_endpoint": f"{issuer}/oauth/userinfo",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "introspection_endpoint": f"{issuer}/oauth/introspect",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "end_session_endpoint": f"{issuer}/oauth/logout",
    }


def _capabilities() -> dict:
    algs = list(constants.SIGNING_ALGS)
    return {
        "grant_types_supported": list(constants.GRANT_TYPES),
        "response_types_supported": list(constants.RESPONSE_TYPES),
        "response_modes_supported": list(constants.RESPONSE_MODES),
        "scopes_supported": sorted(scope_names.SUPPORTED),
        "claims_supported": list(_CLAIMS),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
        "code_challenge_methods_supported": list(constants.CODE_CHALLENGE_METHODS),
        "prompt_values_supported": list(constants.PROMPT_VALUES),
        "token_endpoint_auth_methods_supported": list(constants.ANY_CLIENT_AUTH_METHODS),
        "introspection_endpoint_auth_methods_supported": list(constants.CONFIDENTIAL_AUTH_METHODS),
        "revocation_endpoint_auth_methods_supported": list(constants.ANY_CLIENT_AUTH_METHODS),
        "authorization_response_iss_parameter_supported": True,
        # OIDC Discovery: request_uri_parameter_supported defaults to true when absent.
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "access_token_signing_alg_values_supported": algs,
        # OIDC Discovery: the languages the hosted pages speak (ui_locales).
        "ui_locales_supported": list(LOCALES),
        # OIDC Discovery: the levels acr_values may ask for (idp.users.factors).
        "acr_values_supported": list(ACR_VALUES),
    }
