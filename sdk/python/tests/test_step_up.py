"""RFC 9470 step-up: the guards' ``require_acr=``/``max_age=`` answer a token whose
sign-in is too weak or too old with 401 ``insufficient_user_authentication`` and its
``acr_values``/``max_age`` (tokens forged with the server's own key, so the real JWKS
vouches for them); the wallet client raises the typed error with the parameters.
(No ``from __future__ import annotations``: FastAPI reads the routes' annotations.)"""

import asyncio
import secrets
import time
from typing import Annotated

import flask
import httpx
import pytest
from fastapi import Depends, FastAPI

import sdk_live as live
from cross_app_sdk import (
    ApiError,
    ApiInsufficientUserAuthentication,
    AsyncTokenVerifier,
    AsyncWalletClient,
    Claims,
    ConfigurationError,
    InsufficientUserAuthentication,
    TokenVerifier,
    UserToken,
    WalletClient,
)
from cross_app_sdk import challenge as step_up
from cross_app_sdk import fastapi as fastapi_guard
from cross_app_sdk import flask as flask_guard

SHOP = "https://shop.example"
TWO = "urn:idp:acr:2fa"
ONE = "urn:idp:acr:1fa"


def _flask_app(issuer: str) -> flask.Flask:
    app = flask.Flask(__name__)
    require = flask_guard.ResourceProtector(TokenVerifier(issuer, SHOP), app)

    @app.get("/strong")
    @require("credits:read", require_acr=TWO)
    def strong():
        return {"acr": flask.g.claims.acr, "amr": list(flask.g.claims.amr)}

    @app.get("/recent")
    @flask_guard.require_scope("credits:read", max_age=60)
    def recent():
        return {"auth_time": flask.g.claims.auth_time}

    return app


def _fastapi_app(issuer: str) -> FastAPI:
    app = FastAPI()
    require = fastapi_guard.ResourceProtector(AsyncTokenVerifier(issuer, SHOP), app)

    @app.get("/strong")
    async def strong(
        claims: Annotated[Claims, Depends(require("credits:read", require_acr=[TWO]))],
    ):
        return {"acr": claims.acr, "amr": list(claims.amr)}

    @app.get("/recent")
    async def recent(
        claims: Annotated[Claims, Depends(fastapi_guard.require_scope("credits:read", max_age=60))],
    ):
        return {"auth_time": claims.auth_time}

    return app


def _call(app, path: str, token: str):
    headers = {"Authorization": f"Bearer {token}"}
    if isinstance(app, flask.Flask):
        r = app.test_client().get(path, headers=headers)
        return r.status_code, r.headers, r.get_json()

    async def call():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            return await client.get(path, headers=headers)

    r = asyncio.run(call())
    return r.status_code, r.headers, r.json()


@pytest.fixture(params=["flask", "fastapi"])
def guarded(request, server):
    return _flask_app(server.url) if request.param == "flask" else _fastapi_app(server.url)


@pytest.fixture
def token(server, ada, services):
    """``token(acr=..., auth_age=...)``: a user's access token signed with the active key."""
    kid = services.data["kids"]["active"]

    def make(acr=None, auth_age=5, amr=None):
        now = int(time.time())
        claims = {
            "iss": server.url,
            "sub": ada["sub"],
            "aud": [SHOP],
            "client_id": "shop",
            "scope": "openid credits:read",
            "jti": secrets.token_urlsafe(16),
            "iat": now,
            "exp": now + 300,
        }
        if auth_age is not None:
            claims["auth_time"] = now - auth_age
        if acr is not None:
            claims["acr"] = acr
        if amr is not None:
            claims["amr"] = amr
        return live.sign(claims, kid, typ="at+jwt")

    return make


def test_a_strong_enough_sign_in_passes(guarded, token):
    status, _, body = _call(guarded, "/strong", token(acr=TWO, amr=["pwd", "otp", "mfa"]))
    assert (status, body) == (200, {"acr": TWO, "amr": ["pwd", "otp", "mfa"]})


@pytest.mark.parametrize("acr", [ONE, None, "urn:other"])
def test_a_weaker_sign_in_gets_the_rfc_9470_challenge(guarded, token, acr):
    status, headers, body = _call(guarded, "/strong", token(acr=acr))
    assert status == 401
    assert headers["WWW-Authenticate"] == (
        'Bearer error="insufficient_user_authentication", '
        f'error_description="a stronger sign-in is required", acr_values="{TWO}"'
    )
    assert body == {
        "error": "insufficient_user_authentication",
        "error_description": "a stronger sign-in is required",
        "acr_values": TWO,
    }
    assert headers["Cache-Control"] == "no-store"


def test_a_recent_sign_in_passes(guarded, token):
    status, _, body = _call(guarded, "/recent", token(auth_age=10))
    assert status == 200 and body["auth_time"]


@pytest.mark.parametrize("auth_age", [3600, None])
def test_an_old_or_unknown_sign_in_must_be_repeated(guarded, token, auth_age):
    """An hour ago is older than 60 s (+ the verifier's 30 s leeway); a token without
    ``auth_time`` (an app's own) names no sign-in at all."""
    status, headers, body = _call(guarded, "/recent", token(auth_age=auth_age))
    assert status == 401
    challenge = headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer error="insufficient_user_authentication"')
    assert challenge.endswith('max_age="60"')
    assert "acr_values" not in challenge
    assert body["error"] == "insufficient_user_authentication" and body["max_age"] == 60


@pytest.mark.parametrize("options", [{"require_acr": ""}, {"require_acr": []}, {"max_age": -1}])
def test_a_bad_option_fails_where_the_route_is_declared(server, options):
    require = flask_guard.ResourceProtector(TokenVerifier(server.url, SHOP))
    with pytest.raises(ConfigurationError):
        require("credits:read", **options)
    with pytest.raises(ConfigurationError):
        fastapi_guard.require_scope("credits:read", **options)


# -- the challenge, read ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "header, body, expected",
    [
        (
            f'Bearer error="insufficient_user_authentication", acr_values="{TWO}"',
            {},
            ((TWO,), None),
        ),
        ('Bearer error="insufficient_user_authentication", max_age=300', {}, ((), 300)),
        ('Bearer error="insufficient_user_authentication", max_age="0"', {}, ((), 0)),
        ('Bearer error="insufficient_user_authentication", max_age="-3"', {}, ((), None)),
        ('Bearer error="insufficient_user_authentication", max_age="soon"', {}, ((), None)),
        ('Bearer realm="api"', {"acr_values": f"{TWO} {ONE}", "max_age": 5}, ((TWO, ONE), 5)),
        (None, {}, ((), None)),
    ],
)
def test_the_challenge_parameters(header, body, expected):
    assert step_up.parameters(header, body) == expected


def _answering(status: int, headers: dict, body: dict) -> httpx.MockTransport:
    """The API's side: the same answer to every request (no server needed to read it)."""
    return httpx.MockTransport(lambda request: httpx.Response(status, headers=headers, json=body))


CHALLENGE = {
    "WWW-Authenticate": 'Bearer error="insufficient_user_authentication", '
    f'error_description="Confirm it is you", acr_values="{TWO}", max_age="300"'
}
REFUSAL = {"error": "insufficient_user_authentication", "error_description": "Confirm it is you"}


def test_the_wallet_client_raises_the_typed_error():
    transport = _answering(401, CHALLENGE, REFUSAL)
    wallet = WalletClient("https://idp.example", transport=transport, max_retries=0)
    with wallet, pytest.raises(InsufficientUserAuthentication) as caught:
        wallet.consume(UserToken("user-token"), 500, "big-purchase")
    error = caught.value
    assert isinstance(error, ApiInsufficientUserAuthentication) and isinstance(error, ApiError)
    assert (error.acr_values, error.max_age) == ((TWO,), 300)
    assert (error.status_code, error.error, error.description) == (
        401,
        "insufficient_user_authentication",
        "Confirm it is you",
    )


def test_the_async_wallet_client_raises_it_too():
    async def run():
        transport = _answering(401, CHALLENGE, REFUSAL)
        wallet = AsyncWalletClient("https://idp.example", transport=transport, max_retries=0)
        async with wallet:
            await wallet.consume(UserToken("user-token"), 500, "big-purchase")

    with pytest.raises(ApiInsufficientUserAuthentication) as caught:
        asyncio.run(run())
    assert caught.value.acr_values == (TWO,) and caught.value.max_age == 300


def test_a_large_purchase_is_refused_with_the_challenge_end_to_end(server, ada_tokens):
    """The real server (purchases above 1000 credits want a recent second factor): Ada
    signed in with her password alone, so the wallet client raises the typed error with
    the parameters to sign in again with; a small purchase goes through."""
    user = UserToken(ada_tokens["access_token"])
    with WalletClient(server.url, max_retries=0) as wallet:
        with pytest.raises(ApiInsufficientUserAuthentication) as caught:
            wallet.purchase(user, amount=5000)
        assert (caught.value.acr_values, caught.value.max_age) == ((TWO,), 600)
        assert caught.value.status_code == 401
        assert wallet.purchase(user, amount=10).url
