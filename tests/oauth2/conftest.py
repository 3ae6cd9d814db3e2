"""Fixtures for the browser flows: a third-party confidential app, a public SPA, and
``Flow`` (flaskr's AuthActions pattern) to walk authorize -> consent -> token."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.helpers import Browser, basic, pkce_pair, query_of

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
def web(make_app, app):
    """A test client on a second instance (node) of the app, on the same database.

    The ``app`` fixture keeps an app context pushed for the whole test, so requests made
    with the ``client`` fixture all share one ``g``: the SSO session and the CSRF token
    cached there leak from request to request and from one browser to another.  A
    request to another app instance gets its own context, as in production.
    """
    return make_app().test_client()


@pytest.fixture
def signed_in(web, user):
    """A browser holding an SSO session for ``user``."""
    browser = Browser(web)
    response = browser.login()
    assert response.status_code == 302, response.data[:300]
    return browser


class Flow:
    """Walks the authorization-code flow for one browser and one token endpoint."""

    def __init__(self, http, browser):
        self.http = http
        self.browser = browser

    @staticmethod
    def redirect_uri(app: dict) -> str:
        return app["redirect_uris"][0]

    def url(self, app: dict, scope: str = "openid", challenge: str | None = None, **extra) -> str:
        """An authorization request; a parameter given as None is left out."""
        params = {
            "response_type": "code",
            "client_id": app["client_id"],
            "redirect_uri": self.redirect_uri(app),
            "scope": scope,
            "state": "st-123",
        }
        if challenge:
            params.update(code_challenge=challenge, code_challenge_method="S256")
        params.update(extra)
        return "/oauth/authorize?" + urlencode({k: v for k, v in params.items() if v is not None})

    def authorize(self, app: dict, scope: str = "openid", pkce: bool = True, **extra):
        """GET /oauth/authorize; returns (response, verifier or None, url)."""
        verifier, challenge = pkce_pair() if pkce else (None, None)
        url = self.url(app, scope, challenge, **extra)
        return self.http.get(url), verifier, url

    def code(self, app: dict, scope: str = "openid", pkce: bool = True, **extra):
        """Authorize (consenting when asked); returns (code, verifier)."""
        response, verifier, url = self.authorize(app, scope, pkce, **extra)
        if response.status_code == 200:  # the consent page
            response = self.browser.consent(url)
        assert response.status_code == 302, response.data[:500]
        location = response.headers["Location"]
        assert location.startswith(self.redirect_uri(app) + "?"), location
        params = query_of(location)
        assert "code" in params, params
        return params["code"], verifier

    def exchange(self, app: dict, code: str, verifier=None, redirect_uri=None, auth=None):
        """POST the code to /oauth/token as ``auth`` (default: ``app`` itself)."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri or self.redirect_uri(app),
        }
        if verifier:
            form["code_verifier"] = verifier
        return self.token_request(auth or app, form)

    def refresh(self, app: dict, refresh_token: str, scope: str | None = None):
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        if scope is not None:
            form["scope"] = scope
        return self.token_request(app, form)

    def token_request(self, app: dict, form: dict):
        if app.get("client_secret"):
            return self.http.post("/oauth/token", data=form, headers=basic(app))
        return self.http.post("/oauth/token", data={**form, "client_id": app["client_id"]})

    def tokens(self, app: dict, scope: str = "openid", **extra) -> dict:
        """The whole flow; returns the token response body."""
        code, verifier = self.code(app, scope, **extra)
        response = self.exchange(app, code, verifier)
        assert response.status_code == 200, response.json
        return response.json


@pytest.fixture
def flow(web, signed_in):
    """A signed-in browser ready to run the flow."""
    return Flow(web, signed_in)
