"""Key rotation on the real server (``flask keys rotate``): old tokens keep verifying, a
token with a new kid verifies after exactly one fetch, and a key the server stopped
publishing stops verifying after the next successful fetch.

Runs last (see conftest): its last rotation removes rsa_key_1."""

from __future__ import annotations

import time

import httpx
import pytest

import sdk_live as live
from cross_app_sdk import InvalidToken, Reason, TokenVerifier

SHOP = "https://shop.example"
SHORT = {"IDP_MAX_ACCESS_TOKEN_LIFETIME": "1"}  # retired keys published for 1 + 1 s


@pytest.fixture
def rotate(services):
    """``flask keys rotate --force``, retired keys published for 2 s."""
    cli = live.CLISession(services, **SHORT)
    yield lambda: cli("keys", "rotate", "--force")
    cli.close()


def _token_signed_by_new_key(server, shop, old_kid: str) -> str:
    """Once the server noticed the rotation (IDP_KEY_REFRESH_SECONDS=1)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        token = live.client_credentials(server.url, shop)["access_token"]
        if live.header_of(token)["kid"] != old_kid:
            return token
        time.sleep(0.2)
    raise AssertionError("the server kept signing with the old key")


def _published(server) -> set[str]:
    return {k["kid"] for k in httpx.get(server.url + "/.well-known/jwks.json").json()["keys"]}


def test_rotation_and_removal(server, shop, rotate):
    verifier = TokenVerifier(server.url, SHOP, cooldown=0.3)
    old = live.client_credentials(server.url, shop)["access_token"]
    first_kid = live.header_of(old)["kid"]
    verifier.verify(old)
    start = server.settle()

    rotate()  # the next key, already published, now signs
    second = _token_signed_by_new_key(server, shop, first_kid)
    assert verifier.verify(second).sub == "shop"
    assert verifier.verify(old).sub == "shop"
    assert server.settle() == start  # both kids were in the cached set

    rotate()  # a key the verifier has never seen now signs
    second_kid = live.header_of(second)["kid"]
    third = _token_signed_by_new_key(server, shop, second_kid)
    time.sleep(0.35)  # past the cooldown of the first fetch
    assert verifier.verify(third).sub == "shop"
    assert server.settle() == start + 1  # exactly one refetch

    third_kid = live.header_of(third)["kid"]
    rotate()  # retires the third key...
    time.sleep(2.2)
    rotate()  # ...and prunes every key retired more than 2 s ago
    _token_signed_by_new_key(server, shop, third_kid)
    assert third_kid not in _published(server) and first_kid not in _published(server)
    assert verifier.verify(third).sub == "shop"  # still cached
    assert verifier.refresh_keys() is True
    for token in (third, old):
        with pytest.raises(InvalidToken) as caught:
            verifier.verify(token)
        assert caught.value.reason == Reason.UNKNOWN_KID
