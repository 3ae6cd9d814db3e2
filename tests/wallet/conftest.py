"""Fixtures for the credit API: two partner apps and one user spending through them."""

from __future__ import annotations

import pytest

from tests.helpers import mint_tokens

from .actions import PARTNER_SCOPES, USER_SCOPE, Credits, delegated


@pytest.fixture
def shop(apps):
    return apps.partner("shop", PARTNER_SCOPES)


@pytest.fixture
def blog(apps):
    return apps.partner("blog", PARTNER_SCOPES)


@pytest.fixture
def shop_credits(client, shop, user) -> Credits:
    """``user`` spending through ``shop`` with a user token (minted as the token endpoint
    mints it; the flow itself is tested in tests/oauth2 and tests/wallet/test_scopes)."""
    return Credits(client, mint_tokens(shop, user, USER_SCOPE)["access_token"])


@pytest.fixture
def blog_credits(client, blog, user) -> Credits:
    """The same user's credits through another app, ``blog``, acting for them."""
    return delegated(client, blog, user)


# -- payments: fixtures of the checkout, webhook and purchase-page tests ---------------
from .payment_fixtures import (  # noqa: E402, F401
    _fake_stripe_server,
    buyer,
    catalogue,
    fake_stripe,
    signed_in,
    store,
)
