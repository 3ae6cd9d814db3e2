"""OpenID Connect RP-Initiated Logout 1.0 at /oauth/logout."""

import time

import pytest

from idp.audit import services as audit
from keys.signer import key_cache
from tests.helpers import confirm_logout, csrf_of, form_action, logout_url, query_of
from tests.oauth2.conftest import SHOP_BYE, SHOP_CB

ISSUER = "https://idp.test"


@pytest.fixture
def id_token(flow, shop) -> str:
    """Signed in, consented, and holding an ID token for ``shop``."""
    return flow.tokens(shop, "openid")["id_token"]


def still_signed_in(flow, shop) -> bool:
    """prompt=none answers with a code only while the SSO session lives."""
    response, _, _ = flow.authorize(shop, "openid", prompt="none")
    query = query_of(response.headers["Location"])
    assert "code" in query or query["error"] == "login_required", query
    return "code" in query


def test_get_asks_for_confirmation_and_signs_nobody_out(flow, shop, id_token):
    url = logout_url(id_token_hint=id_token, post_logout_redirect_uri=SHOP_BYE, state="s-1")
    page = flow.http.get(url)
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    assert b"ada@example.com" in page.data
    assert csrf_of(page.data)
    assert form_action(page) == url
    assert page.headers["Cache-Control"] == "no-store"
    assert still_signed_in(flow, shop)


@pytest.mark.parametrize("identify", ["id_token_hint", "client_id", "both"])
def test_post_ends_the_session_and_returns_to_the_app(flow, shop, user, id_token, identify):
    url = logout_url(
        id_token_hint=id_token if identify != "client_id" else None,
        client_id="shop" if identify != "id_token_hint" else None,
        post_logout_redirect_uri=SHOP_BYE,
        state="s-1",
    )
    response = confirm_logout(flow.http, url)
    assert response.status_code == 302
    assert response.headers["Location"] == SHOP_BYE + "?state=s-1"
    cookies = response.headers.getlist("Set-Cookie")
    assert any(c.startswith("idp_session=;") for c in cookies)
    events = audit.tail(event=audit.LOGOUT)
    assert [(e.user_id, e.client_id, e.detail) for e in events] == [
        (user.id, "shop", {"via": "rp_initiated"})
    ]
    assert not still_signed_in(flow, shop)


def test_without_state_the_uri_is_followed_as_registered(flow, shop, id_token):
    response = confirm_logout(
        flow.http, logout_url(id_token_hint=id_token, post_logout_redirect_uri=SHOP_BYE)
    )
    assert response.status_code == 302
    assert response.headers["Location"] == SHOP_BYE


def test_without_a_redirect_uri_our_page_says_signed_out(flow, shop, id_token):
    response = confirm_logout(flow.http, logout_url(id_token_hint=id_token, state="s-1"))
    assert response.status_code == 200
    assert b"You are signed out" in response.data
    assert not still_signed_in(flow, shop)


def test_an_expired_id_token_hint_still_identifies_the_app(flow, shop, user, id_token):
    """Section 2: the OP should accept an expired ID token as a hint."""
    now = int(time.time())
    expired = key_cache().sign(
        {"iss": ISSUER, "sub": user.sub, "aud": "shop", "iat": now - 7200, "exp": now - 3600}
    )
    response = confirm_logout(
        flow.http, logout_url(id_token_hint=expired, post_logout_redirect_uri=SHOP_BYE)
    )
    assert response.status_code == 302
    assert response.headers["Location"] == SHOP_BYE


def _forged_hint(id_token: str) -> str:
    head, claims, sig = id_token.split(".")
    return f"{head}.{claims}.{('A' if sig[0] != 'A' else 'B') + sig[1:]}"


@pytest.mark.parametrize(
    "params",
    [
        # Not registered for the app, even if it is its login redirect URI or a near miss.
        {"post_logout_redirect_uri": "https://evil.example/bye"},
        {"post_logout_redirect_uri": SHOP_CB},
        {"post_logout_redirect_uri": SHOP_BYE + "/"},
        {"post_logout_redirect_uri": SHOP_BYE + "?next=https://evil.example"},
        # A registered URI, but no app identified to check it against.
        {"post_logout_redirect_uri": SHOP_BYE, "id_token_hint": None},
        {"post_logout_redirect_uri": SHOP_BYE, "id_token_hint": "not-a-jwt"},
        {"post_logout_redirect_uri": SHOP_BYE, "id_token_hint": "forged"},
        {"post_logout_redirect_uri": SHOP_BYE, "client_id": "no-such-app", "id_token_hint": None},
        # client_id contradicting the hint.
        {"client_id": "blog"},
        {"client_id": "blog", "post_logout_redirect_uri": SHOP_BYE},
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_refusals_are_shown_on_our_page_and_sign_nobody_out(
    flow, apps, shop, id_token, params, method
):
    apps.create(
        client_id="blog",
        redirect_uris=["https://blog.example/cb"],
        post_logout_redirect_uris=["https://evil.example/bye"],
        allowed_scopes="openid",
        audience="https://blog.example",
    )
    hint = params.get("id_token_hint", id_token)
    if hint == "forged":
        hint = _forged_hint(id_token)
    url = logout_url(**{**params, "id_token_hint": hint, "state": "s-1"})
    if method == "GET":
        response = flow.http.get(url)
    else:
        token = csrf_of(flow.http.get("/logout").data)
        response = flow.http.post(url, data={"csrf_token": token})
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert b"<code>invalid_request</code>" in response.data
    assert audit.tail(event=audit.LOGOUT) == []
    assert still_signed_in(flow, shop)


@pytest.mark.parametrize("token", [None, "forged"], ids=["missing", "forged"])
def test_post_needs_the_csrf_token(flow, shop, id_token, token):
    """A cross-site POST must not sign the user out (logout CSRF)."""
    url = logout_url(id_token_hint=id_token, post_logout_redirect_uri=SHOP_BYE)
    response = flow.http.post(url, data={"csrf_token": token} if token else {})
    assert response.status_code == 400
    assert b"<code>csrf_failed</code>" in response.data
    assert still_signed_in(flow, shop)


def test_logout_without_a_session_still_returns_to_the_app(new_browser, shop, id_token):
    http = new_browser()  # another browser, never signed in
    url = logout_url(id_token_hint=id_token, post_logout_redirect_uri=SHOP_BYE, state="s-2")
    page = http.get(url)
    assert b"You are not signed in" in page.data
    response = http.post(form_action(page), data={"csrf_token": csrf_of(page.data)})
    assert response.status_code == 302
    assert response.headers["Location"] == SHOP_BYE + "?state=s-2"
    assert audit.tail(event=audit.LOGOUT) == []
