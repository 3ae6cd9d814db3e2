"""Fixtures for the browser flows: a third-party confidential app, a public SPA, a
signed-in browser, and ``flow`` (``tests.helpers.Flow``) to walk authorize -> consent ->
token."""

from __future__ import annotations

import pytest

from tests.helpers import Flow

SHOP_CB = "https://shop.example/cb"
SHOP_BYE = "https://shop.example/bye"
SPA_CB = "https://spa.example/cb"
USER_SCOPES = "openid profile email offline_access credits:read"


@pytest.fixture
def shop(apps):
    """A third-party confidential web app (asks for consent)."""
    return apps.create(
        client_id="shop",
        type="confidential",
        redirect_uris=[SHOP_CB],
        post_logout_redirect_uris=[SHOP_BYE],
        allowed_scopes=USER_SCOPES,
        audience="https://shop.example",
    )


@pytest.fixture
def spa(apps):
    """A third-party public single-page app (PKCE, no secret)."""
    return apps.create(
        client_id="spa",
        type="public",
        redirect_uris=[SPA_CB],
        allowed_scopes=USER_SCOPES,
        audience="https://spa.example",
    )


@pytest.fixture
def web(client):
    """The browser the flow tests drive."""
    return client


@pytest.fixture
def flow(web, signed_in):
    """A signed-in browser ready to run the flow."""
    return Flow(web, signed_in)
