"""Partner apps and a signed-in user for the cross-app APIs."""

from __future__ import annotations

import pytest

from tests.helpers import mint_tokens

APP_SCOPES = "openid profile email offline_access user:metadata roles:manage credits:read"


@pytest.fixture
def shop(apps):
    return apps.partner("shop", APP_SCOPES, origin=True)


@pytest.fixture
def blog(apps):
    return apps.partner("blog", APP_SCOPES, origin=True)


@pytest.fixture
def shop_tokens(user, shop):
    """The user's tokens for ``shop``, with metadata access and a refresh token (minted:
    the flow itself is tested in tests/oauth2)."""
    return mint_tokens(shop, user, "openid profile email offline_access user:metadata", True)
