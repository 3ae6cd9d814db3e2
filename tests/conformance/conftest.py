"""Fixtures for the OpenID Foundation's certification modules, written as tests.

``rp`` is the relying party the suite registers (a confidential web app, HTTP Basic
by default, no PKCE unless a module asks); ``op`` drives this provider as the suite
does, from one browser, and checks what every module checks of each response:
``state`` and ``iss`` on the callback, the token response, and the ID token against
the published JWKS (OIDC Core sections 3.1.2.5, 3.1.3.3, 3.1.3.7).
"""

from __future__ import annotations

import secrets
import time

import jwt
import pytest

from tests.helpers import (
    Browser,
    at_hash,
    authorize_url,
    b64_header,
    bearer,
    query_of,
    token_request,
)

ISSUER = "https://idp.test"
RP_CB = "https://rp.example/cb"
RP_CB2 = "https://rp.example/cb2"
RP_BYE = "https://rp.example/bye"
RP_SCOPES = "openid profile email offline_access"
STATE = "st-conformance"
SENT = object()  # "the nonce this OP object sent last"


@pytest.fixture
def rp(apps):
    """The suite's first client: confidential, two redirect URIs, one logout URI."""
    return apps.create(
        client_id="rp-one",
        redirect_uris=[RP_CB, RP_CB2],
        post_logout_redirect_uris=[RP_BYE],
        allowed_scopes=RP_SCOPES,
        audience="https://rp.example",
    )


@pytest.fixture
def rp2(apps):
    """The suite's second client (refresh-token binding, code binding)."""
    return apps.create(
        client_id="rp-two",
        redirect_uris=["https://rp2.example/cb"],
        allowed_scopes=RP_SCOPES,
        audience="https://rp2.example",
    )


@pytest.fixture
def op(client, signed_in):
    """This provider, seen from the suite's signed-in browser."""
    return OP(client)


@pytest.fixture
def anonymous_op(new_browser, signing_keys):
    """This provider, seen from a browser that has never signed in."""
    return OP(new_browser())


class OP:
    """The provider under test, driven from one browser (``http``)."""

    def __init__(self, http):
        self.http = http
        self.browser = Browser(http)
        self.nonce: str | None = None

    # -- metadata and keys ---------------------------------------------------------------
    def metadata(self) -> dict:
        response = self.http.get("/.well-known/openid-configuration")
        assert response.status_code == 200
        return response.json

    def jwks(self) -> jwt.PyJWKSet:
        response = self.http.get("/.well-known/jwks.json")
        assert response.status_code == 200
        return jwt.PyJWKSet.from_dict(response.json)

    # -- the authorization endpoint ---------------------------------------------------------
    def url(self, app: dict, scope: str | None = "openid", **params) -> str:
        """An authorization request as the suite sends it (``state`` and a fresh ``nonce``
        unless given; a parameter given as None is left out)."""
        params.setdefault("nonce", secrets.token_urlsafe(12))
        params.setdefault("state", STATE)
        params.setdefault("redirect_uri", app["redirect_uris"][0])
        return authorize_url(app["client_id"], scope=scope, **params)

    def authorize(self, app: dict, scope: str | None = "openid", method="GET", **params):
        """Send the request, consenting if the consent page is shown; the last response."""
        url = self.url(app, scope, **params)
        self.nonce = query_of(url).get("nonce")
        if method == "POST":
            path, _, query = url.partition("?")
            response = self.http.post(path, data=dict(query_of("?" + query)))
        else:
            response = self.http.get(url)
        if response.status_code == 200 and b'name="decision"' in response.data:
            response = self.browser.consent(url)
        return response

    def callback(self, response, app: dict, state: str | None = STATE, redirect_uri=None) -> dict:
        """The authorization response at the app's redirect URI: sent there (302), with
        the request's ``state`` echoed and our ``iss`` (RFC 9207)."""
        assert response.status_code == 302, response.data[:500]
        location = response.headers["Location"]
        redirect_uri = redirect_uri or app["redirect_uris"][0]
        assert location.startswith(redirect_uri + "?"), location
        query = query_of(location)
        assert query["iss"] == ISSUER
        if state is None:
            assert "state" not in query
        else:
            assert query["state"] == state
        return query

    def error(self, response, app: dict, error: str, state: str | None = STATE) -> dict:
        """An error response sent back to the app's redirect URI, no code in it."""
        query = self.callback(response, app, state)
        assert query["error"] == error, query
        assert "code" not in query
        return query

    def code(self, app: dict, scope: str = "openid", **params) -> str:
        query = self.callback(self.authorize(app, scope, **params), app, params.get("state", STATE))
        assert "error" not in query, query
        return query["code"]

    # -- the token endpoint -------------------------------------------------------------------
    def exchange(self, app: dict, code: str, style: str = "basic", **extra):
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": extra.pop("redirect_uri", app["redirect_uris"][0]),
            **extra,
        }
        return token_request(self.http, app, form, style)

    def tokens(self, app: dict, code: str, style: str = "basic", **extra) -> dict:
        """A successful token response (OIDC Core section 3.1.3.3)."""
        response = self.exchange(app, code, style, **extra)
        assert response.status_code == 200, response.json
        assert response.mimetype == "application/json"
        assert "no-store" in response.headers["Cache-Control"]
        body = response.json
        assert body["token_type"].lower() == "bearer"
        assert body["access_token"] and body["id_token"]
        assert isinstance(body["expires_in"], int) and body["expires_in"] > 0
        return body

    def login(self, app: dict, scope: str = "openid", style: str = "basic", **params) -> dict:
        """The whole code flow; the token response."""
        return self.tokens(app, self.code(app, scope, **params), style)

    # -- ID token ------------------------------------------------------------------------------
    def id_token(self, body: dict, app: dict, nonce=SENT) -> dict:
        """Every ID-token check of the suite (OIDC Core sections 2, 3.1.3.7): RS256 by a
        published key, iss, aud, azp, sub, exp, iat, auth_time, nonce, at_hash."""
        token = body["id_token"]
        header = b64_header(token)
        assert header["alg"] in self.metadata()["id_token_signing_alg_values_supported"]
        assert header["alg"] == "RS256"
        keys = self.jwks()
        assert header["kid"] in {k.key_id for k in keys.keys}
        claims = jwt.decode(
            token,
            keys[header["kid"]].key,
            algorithms=["RS256"],
            audience=app["client_id"],
            issuer=ISSUER,
            options={"require": ["iss", "sub", "aud", "exp", "iat"]},
        )
        now = time.time()
        assert claims["aud"] == app["client_id"] or claims["aud"] == [app["client_id"]]
        assert claims["azp"] == app["client_id"]
        assert isinstance(claims["sub"], str) and 0 < len(claims["sub"]) <= 255
        assert claims["exp"] > now and claims["exp"] > claims["iat"]
        assert abs(claims["iat"] - now) < 30
        assert isinstance(claims["auth_time"], int) and claims["auth_time"] <= claims["iat"]
        nonce = self.nonce if nonce is SENT else nonce
        if nonce is None:
            assert "nonce" not in claims
        else:
            assert claims["nonce"] == nonce
        assert claims["at_hash"] == at_hash(body["access_token"])
        return claims

    # -- UserInfo ------------------------------------------------------------------------------
    def userinfo(self, access_token: str, method: str = "GET", in_body: bool = False):
        if in_body:
            return self.http.post("/oauth/userinfo", data={"access_token": access_token})
        return self.http.open("/oauth/userinfo", method=method, headers=bearer(access_token))

    def claims(self, access_token: str, method: str = "GET") -> dict:
        """A successful UserInfo response (OIDC Core section 5.3.2): JSON, with ``sub``."""
        response = self.userinfo(access_token, method)
        assert response.status_code == 200, response.json
        assert response.mimetype == "application/json"
        assert response.json["sub"]
        return response.json


# -- RP-Initiated Logout -------------------------------------------------------------------
def prompt_none(op: OP, app: dict) -> dict:
    """A ``prompt=none`` request's answer at the redirect URI: a code while the session
    lives, ``login_required`` once it has ended."""
    return op.callback(op.authorize(app, prompt="none"), app)
