"""Tokens verified by an independent JOSE library (PyJWT) against the JWKS over HTTP."""

import json
import urllib.request
from urllib.parse import urlencode

import jwt as pyjwt
import pytest

from tests.helpers import basic
from tests.live import serve


@pytest.fixture
def live(committed_db, make_app, signing_keys):
    """A second node on the same database, served over real HTTP (its threads use
    connections of their own, so this test commits for real)."""
    with serve(make_app) as url:
        yield url


def post_form(url, form, headers):
    request = urllib.request.Request(url, data=urlencode(form).encode(), headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def test_pyjwt_verifies_tokens_against_published_jwks(live, apps):
    shop = apps.confidential("shop", "credits:read", audience="https://shop.example")
    blog = apps.confidential("blog", "credits:read", audience="https://blog.example")
    meta = get_json(f"{live}/.well-known/oauth-authorization-server")
    assert meta["issuer"] == live
    token = post_form(meta["token_endpoint"], {"grant_type": "client_credentials"}, basic(shop))[
        "access_token"
    ]

    jwks = pyjwt.PyJWKClient(meta["jwks_uri"])
    signing_key = jwks.get_signing_key_from_jwt(token)
    claims = pyjwt.decode(
        token, signing_key.key, algorithms=["RS256"], audience="https://shop.example", issuer=live
    )
    assert claims["client_id"] == "shop"
    assert pyjwt.get_unverified_header(token)["typ"] == "at+jwt"

    # The same token fails audience validation at another app, in an independent library.
    with pytest.raises(pyjwt.InvalidAudienceError):
        pyjwt.decode(
            token,
            signing_key.key,
            algorithms=["RS256"],
            audience="https://blog.example",
            issuer=live,
        )
    other = post_form(meta["token_endpoint"], {"grant_type": "client_credentials"}, basic(blog))
    assert pyjwt.decode(
        other["access_token"],
        jwks.get_signing_key_from_jwt(other["access_token"]).key,
        algorithms=["RS256"],
        audience="https://blog.example",
    )


def test_discovery_documents_agree(live):
    oauth = get_json(f"{live}/.well-known/oauth-authorization-server")
    oidc = get_json(f"{live}/.well-known/openid-configuration")
    assert oauth == oidc
    assert oauth["grant_types_supported"] == [
        "authorization_code",
        "refresh_token",
        "client_credentials",
    ]
    assert oauth["code_challenge_methods_supported"] == ["S256"]
    assert oauth["authorization_response_iss_parameter_supported"] is True
    assert oauth["id_token_signing_alg_values_supported"] == ["RS256"]
    assert oauth["token_endpoint"] == f"{live}/oauth/token"
    assert oauth["introspection_endpoint"] == f"{live}/oauth/introspect"
    assert oauth["revocation_endpoint"] == f"{live}/oauth/revoke"
    assert {"openid", "offline_access", "admin", "credits:read"} <= set(oauth["scopes_supported"])
