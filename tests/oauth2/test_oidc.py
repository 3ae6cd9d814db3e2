"""OpenID Connect Core: ID tokens, UserInfo, and the authentication-request parameters
(prompt, max_age, login_hint, nonce) plus our ``next=purchase`` extension."""

import html
import re
import time

import jwt
import pytest
from sqlalchemy import func, select

from idp.users import services as users
from idp.users.models import CrossAppSession
from tests.helpers import (
    Browser,
    Flow,
    at_hash,
    b64_claims,
    b64_header,
    basic,
    bearer,
    csrf_of,
    query_of,
)

ISSUER = "https://idp.test"
API = "https://idp.test/api"


def verify(http, token: str, audience: str, typ: str = "JWT") -> dict:
    """Verify with PyJWT against the published JWKS, as a relying party would."""
    header = b64_header(token)
    assert header["alg"] == "RS256" and header["typ"] == typ
    keys = jwt.PyJWKSet.from_dict(http.get("/.well-known/jwks.json").json)
    return jwt.decode(
        token,
        keys[header["kid"]].key,
        algorithms=["RS256"],
        audience=audience,
        issuer=ISSUER,
        options={"require": ["iss", "sub", "aud", "exp", "iat"]},
    )


def session_auth_time(db) -> int:
    db.session.expire_all()
    value = db.session.scalar(select(func.max(CrossAppSession.auth_time)))
    return int(value.timestamp())


def sessions_opened(db) -> int:
    return db.session.scalar(select(func.count()).select_from(CrossAppSession))


# -- ID token -----------------------------------------------------------------------------------
@pytest.mark.parametrize("target", ["shop", "spa"])
def test_id_token_claims(flow, shop, spa, user, db, signing_keys, target):
    app = {"shop": shop, "spa": spa}[target]
    body = flow.tokens(app, "openid", nonce="n-0S6_WzA2Mj")
    token = body["id_token"]
    assert b64_header(token)["kid"] == signing_keys["active"]
    claims = verify(flow.http, token, app["client_id"])
    assert claims["iss"] == ISSUER
    assert claims["sub"] == user.sub
    assert claims["aud"] == app["client_id"]
    assert claims["azp"] == app["client_id"]
    assert claims["nonce"] == "n-0S6_WzA2Mj"
    assert claims["auth_time"] == session_auth_time(db)
    assert claims["auth_time"] <= claims["iat"]
    assert claims["at_hash"] == at_hash(body["access_token"])
    assert claims["exp"] - claims["iat"] == 600
    assert abs(claims["iat"] - time.time()) < 30


def test_id_token_without_nonce_has_none(flow, shop):
    claims = b64_claims(flow.tokens(shop, "openid")["id_token"])
    assert "nonce" not in claims


def test_no_id_token_without_openid(flow, shop):
    body = flow.tokens(shop, "email credits:read")
    assert "id_token" not in body


def test_id_token_is_not_an_access_token(flow, shop):
    """Its ``typ`` is JWT, not at+jwt, so it cannot be replayed at our APIs."""
    body = flow.tokens(shop, "openid email")
    response = flow.http.get("/oauth/userinfo", headers=bearer(body["id_token"]))
    assert response.status_code == 401
    assert response.json["error"] == "invalid_token"


def test_nonce_replay_is_refused(flow, shop, spa):
    """OIDC Core section 15.5.2: a nonce already used by this client is a replay."""
    flow.code(shop, "openid", nonce="n-1")
    response, _, _ = flow.authorize(shop, "openid", nonce="n-1")
    assert response.status_code == 302
    query = query_of(response.headers["Location"])
    assert query["error"] == "invalid_request"
    assert query["state"] == "st-123" and query["iss"] == ISSUER
    flow.code(spa, "openid", nonce="n-1")  # another client's nonces are its own


# -- UserInfo (OIDC Core section 5.3) ------------------------------------------------------------
@pytest.mark.parametrize(
    ("scope", "claims"),
    [
        ("openid", {"sub"}),
        ("openid email", {"sub", "email", "email_verified"}),
        ("openid profile", {"sub", "name", "updated_at"}),
        ("openid profile email", {"sub", "name", "updated_at", "email", "email_verified"}),
        ("openid offline_access credits:read", {"sub"}),
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_userinfo_claims_follow_the_scope(flow, shop, user, scope, claims, method):
    token = flow.tokens(shop, scope)["access_token"]
    response = flow.http.open("/oauth/userinfo", method=method, headers=bearer(token))
    assert response.status_code == 200, response.json
    assert set(response.json) == claims
    assert response.json["sub"] == user.sub
    if "email" in claims:
        assert response.json["email"] == "ada@example.com"
        assert response.json["email_verified"] is True
    if "name" in claims:
        assert response.json["name"] == "Ada"


@pytest.mark.parametrize("problem", ["garbage", "revoked", "tampered", "disabled_user"])
def test_userinfo_needs_a_valid_token(flow, shop, user, problem):
    token = flow.tokens(shop, "openid email")["access_token"]
    if problem == "garbage":
        token = "not.a.token"
    elif problem == "revoked":
        flow.http.post("/oauth/revoke", data={"token": token}, headers=basic(shop))
    elif problem == "tampered":
        head, claims, sig = token.split(".")
        sig = ("A" if sig[0] != "A" else "B") + sig[1:]
        token = f"{head}.{claims}.{sig}"
    else:
        users.set_disabled(user.email, True)
    response = flow.http.get("/oauth/userinfo", headers=bearer(token))
    assert response.status_code == 401
    assert response.json["error"] == "invalid_token"


def test_userinfo_without_a_token(flow):
    response = flow.http.get("/oauth/userinfo")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].lower().startswith("bearer")


def test_userinfo_needs_the_openid_scope(flow, shop):
    token = flow.tokens(shop, "profile email")["access_token"]
    response = flow.http.get("/oauth/userinfo", headers=bearer(token))
    assert response.status_code == 403
    assert response.json["error"] == "insufficient_scope"


# -- prompt, max_age, login_hint ---------------------------------------------------------------
def test_prompt_none_succeeds_silently_with_session_and_consent(flow, shop):
    flow.code(shop, "openid email")
    response, verifier, _ = flow.authorize(shop, "openid email", prompt="none")
    assert response.status_code == 302
    query = query_of(response.headers["Location"])
    assert query["state"] == "st-123" and query["iss"] == ISSUER
    assert flow.exchange(shop, query["code"], verifier).status_code == 200


@pytest.mark.parametrize(
    ("situation", "error"),
    [
        ("no_session", "login_required"),
        ("signed_out", "login_required"),
        ("too_old", "login_required"),  # max_age=0
        ("no_consent", "consent_required"),
        ("more_scopes", "consent_required"),
    ],
)
def test_prompt_none_errors(new_browser, flow, shop, situation, error):
    """OIDC Core section 3.1.2.6: errors go to the redirect URI, never to a page."""
    scope, extra = "openid", {}
    if situation != "no_consent":
        flow.code(shop, "openid")
    if situation == "no_session":
        http = new_browser()
        flow = Flow(http, Browser(http))
    elif situation == "signed_out":
        page = flow.http.get("/logout")
        flow.http.post("/logout", data={"csrf_token": csrf_of(page.data)})
    elif situation == "too_old":
        extra = {"max_age": "0"}
    elif situation == "more_scopes":
        scope = "openid email"
    response, _, _ = flow.authorize(shop, scope, prompt="none", **extra)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(Flow.redirect_uri(shop) + "?")
    query = query_of(location)
    assert query["error"] == error
    assert query["state"] == "st-123" and query["iss"] == ISSUER
    assert "code" not in query


def login_redirect(response) -> dict:
    """The /login (or /signup) detour: its path and query."""
    assert response.status_code == 302
    location = response.headers["Location"]
    path, _, _ = location.partition("?")
    return {"path": path, **query_of(location)}


@pytest.mark.parametrize(
    ("extra", "forces_login"),
    [
        ({"prompt": "login"}, True),
        ({"max_age": "0"}, True),
        ({"prompt": "login", "max_age": "3600"}, True),
        ({"max_age": "3600"}, False),
        ({}, False),
    ],
)
def test_prompt_login_and_max_age(flow, shop, db, extra, forces_login):
    flow.code(shop, "openid")  # signed in and consented
    response, verifier, _ = flow.authorize(shop, "openid", **extra)
    if not forces_login:
        assert "code" in query_of(response.headers["Location"])
        assert sessions_opened(db) == 1
        return
    detour = login_redirect(response)
    assert detour["path"] == "/login"
    assert detour["client_id"] == "shop"
    resumed = query_of(detour["return_to"])
    assert "prompt" not in resumed and "max_age" not in resumed  # no loop
    assert resumed["code_challenge"] and resumed["state"] == "st-123"
    signed_in = flow.browser.login(return_to=detour["return_to"], client_id="shop")
    assert signed_in.headers["Location"] == detour["return_to"]
    assert sessions_opened(db) == 2  # a fresh sign-in, not the old session
    code = query_of(flow.http.get(detour["return_to"]).headers["Location"])["code"]
    assert flow.exchange(shop, code, verifier).status_code == 200


@pytest.mark.parametrize("signed_in", [True, False])
def test_prompt_create_sends_to_signup(new_browser, flow, shop, signed_in):
    if not signed_in:
        http = new_browser()
        flow = Flow(http, Browser(http))
    response, _, _ = flow.authorize(shop, "openid", prompt="create")
    detour = login_redirect(response)
    assert detour["path"] == "/signup"
    assert "prompt" not in query_of(detour["return_to"])
    page = flow.http.get(response.headers["Location"])
    assert page.status_code == 200
    assert b'name="display_name"' in page.data


@pytest.mark.parametrize(("prompt", "path"), [(None, "/login"), ("create", "/signup")])
def test_login_hint_prefills_the_email(new_browser, shop, prompt, path):
    web = new_browser()  # a browser without a session
    flow = Flow(web, Browser(web))
    response, _, _ = flow.authorize(shop, "openid", login_hint="grace@example.com", prompt=prompt)
    detour = login_redirect(response)
    assert detour["path"] == path
    page = web.get(response.headers["Location"])
    assert page.status_code == 200
    assert re.search(rb'id="email"[^>]*value="grace@example.com"', page.data)


# -- next=purchase --------------------------------------------------------------------------------
@pytest.mark.parametrize("consented", [False, True])
def test_next_purchase_detours_after_consent(flow, shop, consented):
    if consented:
        flow.code(shop, "openid credits:read")
    response, verifier, url = flow.authorize(shop, "openid credits:read", next="purchase")
    if not consented:
        assert response.status_code == 200  # consent first
        response = flow.browser.consent(url)
    detour = login_redirect(response)
    assert detour["path"] == "/purchase" and detour["client_id"] == "shop"
    assert "next" not in query_of(detour["return_to"])
    page = flow.http.get(response.headers["Location"])
    assert page.status_code == 200
    continue_link = re.search(r'<a [^>]*href="(/oauth/authorize\?[^"]+)"', page.data.decode())
    assert html.unescape(continue_link.group(1)) == detour["return_to"]
    back = flow.http.get(detour["return_to"])
    assert back.status_code == 302
    query = query_of(back.headers["Location"])
    assert query["state"] == "st-123" and query["iss"] == ISSUER
    assert flow.exchange(shop, query["code"], verifier).status_code == 200


def test_next_purchase_is_skipped_under_prompt_none(flow, shop):
    """prompt=none forbids any page, and the purchase page is only an offer."""
    flow.code(shop, "openid")
    response, _, _ = flow.authorize(shop, "openid", next="purchase", prompt="none")
    assert response.status_code == 302
    assert response.headers["Location"].startswith(Flow.redirect_uri(shop) + "?code=")


# -- access tokens for people ---------------------------------------------------------------------
def test_user_access_token_carries_auth_time_and_the_apps_audience(flow, shop, user, db):
    body = flow.tokens(shop, "openid credits:read")
    claims = verify(flow.http, body["access_token"], "https://shop.example", typ="at+jwt")
    assert claims["sub"] == user.sub and claims["client_id"] == "shop"
    assert claims["auth_time"] == session_auth_time(db)
    assert claims["auth_time"] == b64_claims(body["id_token"])["auth_time"]
    assert claims["aud"] == ["https://shop.example", API, "https://idp.test/api/wallet"]


def test_audience_isolation_between_apps(flow, apps, shop):
    blog = apps.create(
        client_id="blog",
        redirect_uris=["https://blog.example/cb"],
        allowed_scopes="openid",
        audience="https://blog.example",
    )
    shop_token = flow.tokens(shop, "openid")["access_token"]
    blog_token = flow.tokens(blog, "openid")["access_token"]
    verify(flow.http, shop_token, "https://shop.example", typ="at+jwt")
    with pytest.raises(jwt.InvalidAudienceError):
        verify(flow.http, shop_token, "https://blog.example", typ="at+jwt")
    with pytest.raises(jwt.InvalidAudienceError):
        verify(flow.http, blog_token, "https://shop.example", typ="at+jwt")
    seen_by_blog = flow.http.post(
        "/oauth/introspect", data={"token": shop_token}, headers=basic(blog)
    )
    assert seen_by_blog.json == {"active": False}
