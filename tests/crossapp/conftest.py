"""Partner apps and a signed-in user for the cross-app APIs."""

from __future__ import annotations

import pytest

from tests.helpers import mint_tokens

APP_SCOPES = "openid profile email offline_access user:metadata roles:manage credits:read"


def partner(apps, name: str) -> dict:
    return apps.confidential(
        name,
        APP_SCOPES,
        audience=f"https://{name}.example",
        redirect_uris=[f"https://{name}.example/cb"],
        allowed_origins=[f"https://{name}.example"],
    )


@pytest.fixture
def shop(apps):
    return partner(apps, "shop")


@pytest.fixture
def blog(apps):
    return partner(apps, "blog")


@pytest.fixture
def signed_in(browser, user):
    """``browser`` with ``user`` signed in."""
    assert browser.login().status_code == 302
    return browser


@pytest.fixture
def shop_tokens(user, shop):
    """The user's tokens for ``shop``, with metadata access and a refresh token (minted:
    the flow itself is tested in tests/oauth2)."""
    return mint_tokens(shop, user, "openid profile email offline_access user:metadata", True)
