"""Tokens the real server issues verify; the typed claims; the revocation check."""

from __future__ import annotations

import asyncio
import secrets

import httpx
import pytest

import sdk_live as live
from cross_app_sdk import (
    AsyncTokenVerifier,
    InsufficientScope,
    IntrospectionUnavailable,
    InvalidToken,
    Reason,
    TokenVerifier,
)

SHOP = "https://shop.example"


def test_authorization_code_token_verifies(server, shop, ada, ada_tokens):
    claims = TokenVerifier(server.url, SHOP).verify(ada_tokens["access_token"], "credits:read")
    assert claims.sub == ada["sub"]
    assert claims.client_id == "shop"
    assert claims.is_user and claims.auth_time is not None
    assert {"credits:read", "credits:consume"} <= claims.scopes
    assert SHOP in claims.aud and server.url + "/api/wallet" in claims.aud
    assert claims.iss == server.url
    assert claims.exp > claims.iat and claims.jti
    assert claims.raw["client_id"] == "shop"
    assert claims.token == ada_tokens["access_token"]
    assert ada_tokens["access_token"] not in repr(claims)


def test_client_credentials_token_verifies(server, shop):
    token = live.client_credentials(server.url, shop)["access_token"]
    claims = TokenVerifier(server.url, SHOP).verify(token)
    assert claims.sub == "shop" and claims.client_id == "shop"
    assert not claims.is_user and claims.auth_time is None


def test_async_verifier_verifies(server, ada_tokens):
    verifier = AsyncTokenVerifier(server.url, SHOP)
    claims = asyncio.run(verifier.verify(ada_tokens["access_token"], ["credits:consume"]))
    assert claims.client_id == "shop"
    # A second event loop gets its own single-flight lock and reuses the cached keys.
    before = server.settle()
    again = asyncio.run(verifier.verify(ada_tokens["access_token"]))
    assert again.jti == claims.jti and server.settle() == before


def test_missing_scopes_are_named(server, ada_tokens):
    with pytest.raises(InsufficientScope) as caught:
        TokenVerifier(server.url, SHOP).verify(
            ada_tokens["access_token"], ["credits:read", "admin", "roles:manage"]
        )
    assert caught.value.missing == ("admin", "roles:manage")


def test_another_audience_is_refused(server, ada_tokens):
    with pytest.raises(InvalidToken) as caught:
        TokenVerifier(server.url, "https://other.example").verify(ada_tokens["access_token"])
    assert caught.value.reason == Reason.INVALID_AUDIENCE


def test_introspection_catches_a_revoked_token(server, shop):
    token = live.client_credentials(server.url, shop, "credits:read")["access_token"]
    verifier = TokenVerifier(
        server.url,
        SHOP,
        client_id=shop["client_id"],
        client_secret=shop["client_secret"],
        introspection_ttl=0,
    )
    assert verifier.verify(token, introspect=True).client_id == "shop"
    revoked = httpx.post(
        server.url + "/oauth/revoke",
        data={"token": token},
        auth=(shop["client_id"], shop["client_secret"]),
    )
    assert revoked.status_code == 200
    assert verifier.verify(token).client_id == "shop"  # offline cannot know
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(token, introspect=True)
    assert caught.value.reason == Reason.REVOKED


def test_introspection_answers_are_cached(server, shop):
    token = live.client_credentials(server.url, shop, "credits:read")["access_token"]
    verifier = TokenVerifier(
        server.url, SHOP, client_id="shop", client_secret=shop["client_secret"]
    )
    verifier.verify(token, introspect=True)
    asked = server.settle("POST /oauth/introspect")
    for _ in range(5):
        verifier.verify(token, introspect=True)
    assert server.settle("POST /oauth/introspect") == asked


def test_async_introspection(server, shop):
    token = live.client_credentials(server.url, shop, "credits:read")["access_token"]
    verifier = AsyncTokenVerifier(
        server.url, SHOP, client_id="shop", client_secret=shop["client_secret"]
    )
    assert asyncio.run(verifier.verify(token, introspect=True)).sub == "shop"


def test_introspection_fails_closed(server, shop):
    token = live.client_credentials(server.url, shop, "credits:read")["access_token"]
    verifier = TokenVerifier(
        server.url,
        SHOP,
        client_id="shop",
        client_secret=shop["client_secret"],
        introspection_endpoint="http://127.0.0.1:9/introspect",
    )
    with pytest.raises(IntrospectionUnavailable):
        verifier.verify(token, introspect=True)


def test_async_verifier_single_flight_in_one_loop(server, ada_tokens):
    verifier = AsyncTokenVerifier(server.url, SHOP)
    before = server.settle()

    async def herd():
        return await asyncio.gather(
            *(verifier.verify(ada_tokens["access_token"]) for _ in range(32))
        )

    assert {c.client_id for c in asyncio.run(herd())} == {"shop"}
    assert server.settle() - before == 1


def test_async_kid_spray_is_bounded(server, ada_tokens):
    verifier = AsyncTokenVerifier(server.url, SHOP, cooldown=30)
    claims = live.claims_of(ada_tokens["access_token"])

    async def spray():
        await verifier.verify(ada_tokens["access_token"])
        for _ in range(200):
            header = {"alg": "RS256", "typ": "at+jwt", "kid": secrets.token_hex(8)}
            with pytest.raises(InvalidToken):
                await verifier.verify(live.compact(header, claims, b"s" * 256))

    before = server.settle()
    asyncio.run(spray())
    assert server.settle() - before == 1  # the warm-up fetch; the spray is inside the cooldown
