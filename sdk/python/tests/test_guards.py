"""The Flask and FastAPI guards: exact statuses, challenges and bodies, with tokens from
the real server.  (No ``from __future__ import annotations``: FastAPI reads the
routes' annotations at runtime, and they name local dependencies.)"""

import asyncio
from typing import Annotated

import flask
import httpx
import pytest
from fastapi import Depends, FastAPI

import sdk_live as live
from cross_app_sdk import AsyncTokenVerifier, Claims, TokenVerifier
from cross_app_sdk import fastapi as fastapi_guard
from cross_app_sdk import flask as flask_guard

SHOP = "https://shop.example"


def _flask_app(issuer: str, shop: dict) -> flask.Flask:
    app = flask.Flask(__name__)
    verifier = TokenVerifier(
        issuer, SHOP, client_id=shop["client_id"], client_secret=shop["client_secret"]
    )
    require = flask_guard.ResourceProtector(verifier, app)

    @app.get("/read")
    @flask_guard.require_scope("credits:read")
    def read():
        return {"sub": flask.g.claims.sub, "user": flask.g.claims.is_user}

    @app.post("/spend")
    @require("credits:consume", "credits:read", introspect=True)
    def spend():
        return {"client_id": flask_guard.current_claims().client_id}

    @app.get("/admin")
    @require("admin")
    def admin():
        return {}

    return app


def _fastapi_app(issuer: str, shop: dict) -> FastAPI:
    app = FastAPI()
    verifier = AsyncTokenVerifier(
        issuer, SHOP, client_id=shop["client_id"], client_secret=shop["client_secret"]
    )
    require = fastapi_guard.ResourceProtector(verifier, app)

    @app.get("/read")
    async def read(claims: Annotated[Claims, Depends(fastapi_guard.require_scope("credits:read"))]):
        return {"sub": claims.sub, "user": claims.is_user}

    @app.post("/spend")
    async def spend(
        claims: Annotated[Claims, Depends(require("credits:consume", introspect=True))],
    ):
        return {"client_id": claims.client_id}

    @app.get("/admin")
    async def admin(claims: Annotated[Claims, Depends(require("admin"))]):
        return {}

    return app


class FlaskHTTP:
    def __init__(self, app):
        self.client = app.test_client()

    def call(self, method, path, headers):
        r = self.client.open(path, method=method, headers=headers)
        return r.status_code, r.headers, r.get_json()


class FastAPIHTTP:
    """The ASGI app in-process through httpx; each call runs in a new event loop."""

    def __init__(self, app):
        self.app = app

    async def _call(self, method, path, headers):
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            return await client.request(method, path, headers=headers)

    def call(self, method, path, headers):
        r = asyncio.run(self._call(method, path, headers))
        return r.status_code, r.headers, r.json()


@pytest.fixture(params=["flask", "fastapi"])
def guarded(request, server, shop):
    if request.param == "flask":
        return FlaskHTTP(_flask_app(server.url, shop))
    return FastAPIHTTP(_fastapi_app(server.url, shop))


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_a_valid_token_passes_with_its_claims(guarded, ada, ada_tokens):
    status, _, body = guarded.call("GET", "/read", _bearer(ada_tokens["access_token"]))
    assert (status, body) == (200, {"sub": ada["sub"], "user": True})


def test_introspected_route_passes_a_live_token(guarded, ada_tokens):
    status, _, body = guarded.call("POST", "/spend", _bearer(ada_tokens["access_token"]))
    assert (status, body) == (200, {"client_id": "shop"})


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic dTpw"}])
def test_no_bearer_token_is_a_bare_challenge(guarded, headers):
    status, response_headers, body = guarded.call("GET", "/read", headers)
    assert status == 401
    assert response_headers["WWW-Authenticate"] == "Bearer"
    assert body["error"] == "missing_authorization"


@pytest.mark.parametrize(
    "authorization", ["Bearer not-a-jwt", "Bearer a.b.c", "Bearer", "Bearer two tokens"]
)
def test_an_invalid_token_is_401_invalid_token(guarded, authorization):
    status, headers, body = guarded.call("GET", "/read", {"Authorization": authorization})
    assert status == 401
    assert headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert body["error"] == "invalid_token" and body["error_description"]
    assert headers["Cache-Control"] == "no-store"


def test_missing_scope_is_403_with_the_scope(guarded, ada_tokens):
    status, headers, body = guarded.call("GET", "/admin", _bearer(ada_tokens["access_token"]))
    assert status == 403
    challenge = headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer error="insufficient_scope"')
    assert challenge.endswith('scope="admin"')
    assert body["error"] == "insufficient_scope" and body["scope"] == "admin"


def test_a_revoked_token_is_refused_where_introspection_is_on(server, shop):
    token = live.client_credentials(server.url, shop)["access_token"]
    apps = [FlaskHTTP(_flask_app(server.url, shop)), FastAPIHTTP(_fastapi_app(server.url, shop))]
    httpx.post(
        server.url + "/oauth/revoke",
        data={"token": token},
        auth=(shop["client_id"], shop["client_secret"]),
    ).raise_for_status()
    for app in apps:
        assert app.call("GET", "/read", _bearer(token))[0] == 200  # offline cannot know
        status, headers, body = app.call("POST", "/spend", _bearer(token))
        assert status == 401 and body["error"] == "invalid_token"
        assert "revoked" in headers["WWW-Authenticate"]


def test_unreachable_idp_is_503_not_401(shop):
    for app in (FlaskHTTP(_flask_app("http://127.0.0.1:9", shop)),
                FastAPIHTTP(_fastapi_app("http://127.0.0.1:9", shop))):  # fmt: skip
        token = live.compact({"alg": "RS256", "typ": "at+jwt", "kid": "k"}, {}, b"x")
        status, headers, body = app.call("GET", "/read", _bearer(token))
        assert status == 503 and body["error"] == "temporarily_unavailable"
        assert headers["Retry-After"]


def test_nothing_the_token_says_reaches_the_challenge(guarded):
    """A hostile alg or kid (CR LF, non-ASCII) is never echoed into a response header."""
    for header in (
        {"alg": "RS256\r\nSet-Cookie: x=1", "typ": "at+jwt", "kid": "k"},
        {"alg": "RS256", "typ": "at+jwt", "kid": "é\r\nSet-Cookie: x=1"},
        {"alg": "é", "typ": "at+jwt", "kid": "k"},
    ):
        token = live.compact(header, {"sub": "x"}, b"sig")
        status, headers, body = guarded.call("GET", "/read", _bearer(token))
        assert status == 401 and body["error"] == "invalid_token"
        assert "Set-Cookie" not in headers and "é" not in headers["WWW-Authenticate"]
        assert headers["WWW-Authenticate"].isascii()
