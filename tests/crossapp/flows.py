"""The authorization-code flow as a partner app runs it, for tests that need user tokens."""

from __future__ import annotations

from tests.helpers import basic, pkce_pair, query_of


def authorization_code(http, browser, app: dict, scope: str, challenge: str | None = None):
    """A code for the signed-in ``browser``, consenting on the way when asked."""
    url = browser.authorize_url(app["client_id"], app["redirect_uris"][0], scope, challenge)
    response = http.get(url)
    if response.status_code == 200:  # the consent page
        response = browser.consent(url)
    assert response.status_code == 302, response.data[:300]
    return query_of(response.headers["Location"])["code"]


def code_form(app: dict, code: str, verifier: str | None = None) -> dict:
    """The token request for ``code``: a public app names itself and proves PKCE."""
    form = {"grant_type": "authorization_code", "code": code}
    form["redirect_uri"] = app["redirect_uris"][0]
    if app["type"] == "public":
        form.update(client_id=app["client_id"], code_verifier=verifier)
    return form


def exchange(http, app: dict, code: str, verifier: str | None = None, **headers):
    """POST the code to /oauth/token (HTTP Basic for a confidential app)."""
    if app["type"] != "public":
        headers.update(basic(app))
    return http.post("/oauth/token", data=code_form(app, code, verifier), headers=headers)


def user_tokens(http, browser, app: dict, scope: str = "openid user:metadata") -> dict:
    """Run the whole flow for ``app`` (with PKCE for a public app); the token response."""
    verifier, challenge = pkce_pair() if app["type"] == "public" else (None, None)
    response = exchange(
        http, app, authorization_code(http, browser, app, scope, challenge), verifier
    )
    assert response.status_code == 200, response.json
    return response.json


def refresh(http, app: dict, refresh_token: str):
    return http.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        headers=basic(app),
    )
