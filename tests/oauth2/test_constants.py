"""Discovery advertises exactly what the grants and endpoints enforce: both read the
same constants (idp/oauth2/constants.py)."""

from idp.apps.services import Client
from idp.oauth2 import constants
from idp.oauth2.endpoints import IntrospectionEndpoint, RevocationEndpoint
from idp.oauth2.grants import (
    PKCE,
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    RefreshTokenGrant,
)
from keys.signer import ALG


def test_discovery_matches_the_grants_and_endpoints(client):
    meta = client.get("/.well-known/openid-configuration").json
    token_methods = {
        *AuthorizationCodeGrant.TOKEN_ENDPOINT_AUTH_METHODS,
        *RefreshTokenGrant.TOKEN_ENDPOINT_AUTH_METHODS,
        *ClientCredentialsGrant.TOKEN_ENDPOINT_AUTH_METHODS,
    }
    assert set(meta["token_endpoint_auth_methods_supported"]) == token_methods
    assert meta["introspection_endpoint_auth_methods_supported"] == (
        IntrospectionEndpoint.CLIENT_AUTH_METHODS
    )
    assert meta["revocation_endpoint_auth_methods_supported"] == (
        RevocationEndpoint.CLIENT_AUTH_METHODS
    )
    assert meta["code_challenge_methods_supported"] == PKCE.SUPPORTED_CODE_CHALLENGE_METHOD
    assert meta["id_token_signing_alg_values_supported"] == [ALG]
    assert meta["access_token_signing_alg_values_supported"] == [ALG]
    assert set(meta["prompt_values_supported"]) <= constants.ACCEPTED_PROMPTS


def _client(client_type: str) -> Client:
    return Client(client_type, client_type, None, (), (), (), "aud", 600, False, 60, 60, (), None)


def test_the_registry_accepts_what_discovery_advertises(client):
    meta = client.get("/.well-known/oauth-authorization-server").json
    confidential, public = _client("confidential"), _client("public")
    for method in meta["token_endpoint_auth_methods_supported"]:
        assert confidential.check_endpoint_auth_method(method, "token") or (
            public.check_endpoint_auth_method(method, "token")
        )
    assert all(confidential.check_grant_type(g) for g in meta["grant_types_supported"])
    assert all(public.check_response_type(t) for t in meta["response_types_supported"])
