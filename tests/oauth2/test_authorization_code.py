"""Authorization-code grant (RFC 6749 section 4.1) with PKCE (RFC 7636, S256 only),
RFC 9207 ``iss`` and one-time codes (RFC 9700 section 4.2)."""

from datetime import timedelta

import pytest
from sqlalchemy import update

from idp.audit import services as audit
from idp.core.db_types import utcnow
from idp.oauth2.models import AuthorizationCode
from tests.helpers import Browser, Flow, b64_claims, basic, pkce_pair, query_of

ISSUER = "https://idp.test"


def introspect(http, caller, token):
    return http.post("/oauth/introspect", data={"token": token}, headers=basic(caller))


def _error_page(response, error: str):
    """Our own HTML error page: nothing is sent to an unverified redirect URI."""
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "Location" not in response.headers
    assert f"<code>{error}</code>".encode() in response.data


# -- happy paths ----------------------------------------------------------------------------
def test_public_spa_with_pkce(flow, spa, user):
    code, verifier = flow.code(spa, "openid credits:read")
    response = flow.exchange(spa, code, verifier)
    assert response.status_code == 200, response.json
    body = response.json
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "openid credits:read"
    assert "refresh_token" not in body  # no offline_access asked
    assert response.headers["Cache-Control"] == "no-store"
    claims = b64_claims(body["access_token"])
    assert claims["sub"] == user.sub
    assert claims["client_id"] == "spa"
    assert claims["iss"] == ISSUER


@pytest.mark.parametrize("pkce", [True, False], ids=["pkce", "no-pkce"])
def test_confidential_client(flow, shop, user, pkce):
    code, verifier = flow.code(shop, "openid credits:read", pkce=pkce)
    assert (verifier is not None) is pkce
    response = flow.exchange(shop, code, verifier)
    assert response.status_code == 200, response.json
    claims = b64_claims(response.json["access_token"])
    assert claims["sub"] == user.sub and claims["client_id"] == "shop"


def test_success_redirect_carries_state_and_iss(flow, spa):
    url = flow.url(spa, "openid", pkce_pair()[1], state="opaque value/+=&")
    response = flow.browser.consent(url)
    assert response.status_code == 302
    params = query_of(response.headers["Location"])
    assert params["state"] == "opaque value/+=&"
    assert params["iss"] == ISSUER  # RFC 9207 section 2
    assert len(params["code"]) >= 43


# -- errors sent back to the app (RFC 6749 section 4.1.2.1) --------------------------------
_, _CHALLENGE = pkce_pair()


@pytest.mark.parametrize(
    ("target", "params", "error"),
    [
        # A public client must use PKCE (RFC 9700 section 2.1.1).
        ("spa", {}, "invalid_request"),
        # Only S256: plain, or a challenge without its method (defaults to plain), is refused.
        (
            "spa",
            {"code_challenge": _CHALLENGE, "code_challenge_method": "plain"},
            "invalid_request",
        ),
        ("spa", {"code_challenge": _CHALLENGE}, "invalid_request"),
        (
            "shop",
            {"code_challenge": _CHALLENGE, "code_challenge_method": "plain"},
            "invalid_request",
        ),
        ("shop", {"code_challenge_method": "S256"}, "invalid_request"),
        # Scopes outside the app's allowance fail instead of being narrowed.
        ("shop", {"scope": "openid admin"}, "invalid_scope"),
        ("shop", {"scope": "openid no-such-scope"}, "invalid_scope"),
        ("shop", {"scope": ""}, "invalid_scope"),
        ("shop", {"response_type": "token"}, "unsupported_response_type"),
        ("shop", {"prompt": "none login"}, "invalid_request"),
        ("shop", {"max_age": "soon"}, "invalid_request"),
    ],
)
def test_rejections_redirect_with_state_and_iss(flow, shop, spa, target, params, error):
    app = {"shop": shop, "spa": spa}[target]
    response = flow.http.get(flow.url(app, **{"scope": "openid", **params}))
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(Flow.redirect_uri(app) + "?")
    query = query_of(location)
    assert query["error"] == error
    assert query["state"] == "st-123"
    assert query["iss"] == ISSUER
    assert "code" not in query


@pytest.mark.parametrize("parameter", ["request", "request_uri"])
def test_an_empty_request_object_parameter_counts_as_omitted(flow, spa, parameter):
    """RFC 6749 section 3.1: ``request=`` with no value is no request object."""
    code, verifier = flow.code(spa, "openid", **{parameter: ""})
    assert flow.exchange(spa, code, verifier).status_code == 200


def test_user_denies_consent(flow, shop):
    url = flow.url(shop, "openid email")
    response = flow.browser.consent(url, decision="deny")
    assert response.status_code == 302
    query = query_of(response.headers["Location"])
    assert query == {
        "error": "access_denied",
        "error_description": query["error_description"],
        "state": "st-123",
        "iss": ISSUER,
    }
    # Nothing was remembered: the next request asks again.
    assert flow.http.get(url).status_code == 200


# -- errors shown on our own page (RFC 6749 section 4.1.2.1, first paragraph) ------------------
@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/cb",
        "https://shop.example/cb/",  # exact match only (RFC 9700 section 4.1.3)
        "https://shop.example/cb?x=1",
        "http://shop.example/cb",
    ],
)
def test_unregistered_redirect_uri_is_shown_on_our_page(flow, shop, redirect_uri):
    response = flow.http.get(flow.url(shop, "openid", redirect_uri=redirect_uri))
    _error_page(response, "invalid_request")


def test_missing_redirect_uri_is_shown_on_our_page(flow, shop):
    """OIDC and RFC 9700: the app must name it, even with a single registered URI."""
    response = flow.http.get(flow.url(shop, "openid", redirect_uri=None))
    _error_page(response, "invalid_request")


@pytest.mark.parametrize("client_id", ["no-such-app", None], ids=["unknown", "missing"])
def test_unknown_client_is_shown_on_our_page(flow, shop, client_id):
    response = flow.http.get(flow.url({**shop, "client_id": client_id}, "openid"))
    _error_page(response, "invalid_client")


def test_disabled_client_is_shown_on_our_page(flow, shop):
    from idp.apps import services as app_services

    app_services.disable("shop")
    _error_page(flow.http.get(flow.url(shop, "openid")), "invalid_client")


# -- the token endpoint ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "redirect_uri", ["https://shop.example/other", None], ids=["different", "missing"]
)
def test_token_request_must_repeat_the_redirect_uri(flow, shop, redirect_uri):
    code, verifier = flow.code(shop, "openid")
    form = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
    if redirect_uri:
        form["redirect_uri"] = redirect_uri
    response = flow.token_request(shop, form)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("target", "pkce", "send", "error"),
    [
        ("spa", True, "wrong", "invalid_grant"),  # RFC 7636 section 4.6
        ("shop", True, "wrong", "invalid_grant"),
        ("spa", True, "none", "invalid_request"),  # a challenge needs its verifier
        ("shop", True, "none", "invalid_request"),
        ("spa", True, "short", "invalid_request"),  # 43..128 characters (section 4.1)
        # RFC 9700 section 4.8.2: a verifier without a challenge is refused (downgrade).
        ("shop", False, "wrong", "invalid_request"),
    ],
)
def test_pkce_at_the_token_endpoint(flow, shop, spa, target, pkce, send, error):
    app = {"shop": shop, "spa": spa}[target]
    code, _ = flow.code(app, "openid", pkce=pkce)
    verifier = {"wrong": pkce_pair()[0], "none": None, "short": "a" * 42}[send]
    response = flow.exchange(app, code, verifier)
    assert response.status_code == 400
    assert response.json["error"] == error


@pytest.mark.parametrize(
    ("target", "bad"),
    [("spa", "verifier"), ("shop", "verifier"), ("spa", "redirect_uri"), ("shop", "no_verifier")],
)
def test_a_request_that_misses_the_binding_does_not_burn_the_code(flow, shop, spa, target, bad):
    """RFC 7636 section 4.6: the binding is checked before the code is claimed, so the
    client holding the right verifier can still redeem it afterwards."""
    app = {"shop": shop, "spa": spa}[target]
    code, verifier = flow.code(app, "openid")
    wrong = {
        "verifier": {"verifier": pkce_pair()[0]},
        "no_verifier": {"verifier": None},
        "redirect_uri": {"verifier": verifier, "redirect_uri": "https://spa.example/other"},
    }[bad]
    assert flow.exchange(app, code, **wrong).status_code == 400

    assert flow.exchange(app, code, verifier).status_code == 200


@pytest.mark.parametrize("thief", ["blog", "spa"])
def test_code_of_another_client_is_refused_without_side_effect(flow, apps, shop, spa, thief):
    blog = apps.create(
        client_id="blog",
        redirect_uris=[Flow.redirect_uri(shop)],  # even with the very same redirect URI
        allowed_scopes="openid",
        audience="https://blog.example",
    )
    code, verifier = flow.code(shop, "openid")
    other = {"blog": blog, "spa": spa}[thief]
    response = flow.exchange(shop, code, verifier, auth=other)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_grant"
    assert flow.exchange(shop, code, verifier).status_code == 200
    assert audit.tail(event=audit.CODE_REPLAY) == []


def test_wrong_client_secret_is_invalid_client(flow, shop):
    code, verifier = flow.code(shop, "openid")
    response = flow.exchange(shop, code, verifier, auth={**shop, "client_secret": "nope"})
    assert response.status_code == 401
    assert response.json["error"] == "invalid_client"
    assert flow.exchange(shop, code, verifier).status_code == 200


@pytest.mark.parametrize("how", ["config", "clock"])
def test_expired_code_is_invalid_grant(make_app, flow, shop, db, how):
    if how == "config":
        short = make_app(IDP_AUTH_CODE_TTL=0)
        http = short.test_client()
        flow = Flow(http, Browser(http))
        flow.browser.login()
        code, verifier = flow.code(shop, "openid")
    else:
        code, verifier = flow.code(shop, "openid")
        db.session.execute(
            update(AuthorizationCode).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
    response = flow.exchange(shop, code, verifier)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_grant"


@pytest.mark.parametrize("code", ["x" * 300, "not-a-code"])
def test_unknown_code_is_invalid_grant(flow, shop, code):
    response = flow.exchange(shop, code)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_grant"


@pytest.mark.parametrize("code", [None, ""], ids=["missing", "empty"])
def test_missing_code_is_invalid_request(flow, shop, code):
    """RFC 6749 section 3.1: a parameter sent without a value counts as omitted."""
    form = {"grant_type": "authorization_code", "redirect_uri": Flow.redirect_uri(shop)}
    if code is not None:
        form["code"] = code
    response = flow.token_request(shop, form)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"


# -- one-time codes ---------------------------------------------------------------------------
def test_replay_is_refused_and_revokes_what_the_code_produced(flow, shop, user):
    """RFC 6749 section 4.1.2: deny the second use and revoke the tokens of the first."""
    code, verifier = flow.code(shop, "openid offline_access")
    first = flow.exchange(shop, code, verifier).json
    assert introspect(flow.http, shop, first["access_token"]).json["active"] is True

    replay = flow.exchange(shop, code, verifier)
    assert replay.status_code == 400
    assert replay.json["error"] == "invalid_grant"

    assert introspect(flow.http, shop, first["access_token"]).json == {"active": False}
    refreshed = flow.refresh(shop, first["refresh_token"])
    assert refreshed.status_code == 400
    assert refreshed.json["error"] == "invalid_grant"
    events = audit.tail(event=audit.CODE_REPLAY)
    assert [(e.user_id, e.client_id) for e in events] == [(user.id, "shop")]


def test_replay_also_revokes_refresh_tokens_rotated_since(flow, shop):
    code, verifier = flow.code(shop, "openid offline_access")
    first = flow.exchange(shop, code, verifier).json
    rotated = flow.refresh(shop, first["refresh_token"]).json
    assert flow.exchange(shop, code, verifier).json["error"] == "invalid_grant"
    response = flow.refresh(shop, rotated["refresh_token"])
    assert response.status_code == 400
    assert response.json["error"] == "invalid_grant"


def test_replay_by_a_public_client_is_refused(flow, spa):
    code, verifier = flow.code(spa, "openid offline_access")
    first = flow.exchange(spa, code, verifier).json
    assert flow.exchange(spa, code, verifier).json["error"] == "invalid_grant"
    assert flow.refresh(spa, first["refresh_token"]).json["error"] == "invalid_grant"
