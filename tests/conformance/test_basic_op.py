"""The OpenID Foundation's Basic OP plan (``oidcc-basic-certification-test-plan``:
code flow, ``client_secret_basic``), one test per module, named after it.

Each docstring lists what that module checks; ``OP`` (conftest) adds the checks every
module makes of each response: the callback at the redirect URI with ``state`` and
``iss``, a ``no-store`` Bearer token response, and the ID token verified against the
published JWKS (alg, kid, iss, aud, azp, sub, exp, iat, auth_time, nonce, at_hash).
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import jwt
import pytest
from sqlalchemy import select

from idp.oauth2.models import AuthorizationCode
from idp.users.models import CrossAppSession
from tests.helpers import pkce_pair, query_of

from .conftest import ISSUER, OP, STATE

PROFILE = {"name", "updated_at"}
EMAIL = {"email", "email_verified"}


def test_oidcc_server(op, rp, user):
    """Code flow with client_secret_basic: the code, state and iss come back to the
    redirect URI; the token response is a no-store Bearer response with an ID token
    that verifies against the JWKS with every required claim; UserInfo names the same
    ``sub``."""
    body = op.login(rp)
    claims = op.id_token(body, rp)
    assert claims["sub"] == user.sub
    assert set(body["scope"].split()) == {"openid"}
    assert op.claims(body["access_token"]) == {"sub": user.sub}


def test_oidcc_server_client_secret_post(op, rp, user):
    """The same flow, the client authenticating with client_secret_post (advertised)."""
    assert "client_secret_post" in op.metadata()["token_endpoint_auth_methods_supported"]
    body = op.login(rp, style="post")
    assert op.id_token(body, rp)["sub"] == user.sub


def test_oidcc_response_type_missing(op, rp):
    """An authorization request without ``response_type`` is an error sent back to the
    (valid) redirect URI, with state and iss, and no code."""
    response = op.http.get(op.url(rp, response_type=None))
    op.error(response, rp, "unsupported_response_type")


def test_oidcc_idtoken_signature(op, rp):
    """The ID token is signed with an advertised alg (RS256, never ``none``) by a key of
    the JWKS named by its ``kid``; a changed signature or claim does not verify."""
    body = op.login(rp)
    op.id_token(body, rp)
    head, payload, signature = body["id_token"].split(".")
    keys = op.jwks()
    key = keys[jwt.get_unverified_header(body["id_token"])["kid"]].key
    forged = f"{head}.{payload}.{('A' if signature[0] != 'A' else 'B') + signature[1:]}"
    other = jwt.api_jws.base64url_encode(json.dumps({"sub": "someone-else"}).encode()).decode()
    for token in (forged, f"{head}.{other}.{signature}"):
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(token, key, algorithms=["RS256"], audience=rp["client_id"])
    assert "none" not in op.metadata()["id_token_signing_alg_values_supported"]


def test_oidcc_userinfo_get(op, rp, user):
    """UserInfo by GET with the Bearer header: 200 JSON, ``sub`` equal to the ID token's."""
    body = op.login(rp)
    assert op.claims(body["access_token"], "GET")["sub"] == op.id_token(body, rp)["sub"]


def test_oidcc_userinfo_post_header(op, rp, user):
    """UserInfo by POST with the Bearer header: 200 JSON, ``sub`` equal to the ID token's."""
    body = op.login(rp)
    assert op.claims(body["access_token"], "POST")["sub"] == op.id_token(body, rp)["sub"]


def test_oidcc_userinfo_post_body(op, rp):
    """The access token as a form field (RFC 6750 section 2.2, optional; the suite
    accepts an OP that refuses it): not supported here, so a 401 Bearer challenge and
    no claims, while the same token in the header works."""
    body = op.login(rp, "openid email")
    response = op.userinfo(body["access_token"], in_body=True)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].lower().startswith("bearer")
    assert "sub" not in (response.json or {}) and "email" not in (response.json or {})
    assert op.claims(body["access_token"], "POST")["email"] == "ada@example.com"


def test_oidcc_ensure_request_without_nonce_succeeds_for_code_flow(op, rp):
    """``nonce`` is optional in the code flow: the request succeeds and the ID token
    carries no ``nonce``."""
    body = op.login(rp, nonce=None)
    op.id_token(body, rp, nonce=None)


def _scope_claims(op, rp, scope: str) -> tuple[dict, dict]:
    body = op.login(rp, scope)
    claims = op.id_token(body, rp)
    return claims, op.claims(body["access_token"])


def test_oidcc_scope_profile(op, rp):
    """``openid profile``: the profile claims we hold (name, updated_at as a number) in
    UserInfo, each listed in ``claims_supported``; nothing of other scopes."""
    _, info = _scope_claims(op, rp, "openid profile")
    assert set(info) == {"sub"} | PROFILE
    assert info["name"] == "Ada" and isinstance(info["updated_at"], int)
    assert set(op.metadata()["claims_supported"]) >= PROFILE


def test_oidcc_scope_email(op, rp):
    """``openid email``: email and email_verified (a boolean) in UserInfo and listed in
    ``claims_supported``; no profile claims."""
    _, info = _scope_claims(op, rp, "openid email")
    assert info == {"sub": info["sub"], "email": "ada@example.com", "email_verified": True}
    assert set(op.metadata()["claims_supported"]) >= EMAIL


def _unsupported_scope(op, rp, scopes: str, absent: set[str]) -> None:
    meta = op.metadata()
    for scope in scopes.split():
        assert scope not in meta["scopes_supported"]
    assert not absent & set(meta["claims_supported"])
    claims, info = _scope_claims(op, rp, f"openid {scopes}")
    assert not absent & (set(claims) | set(info))


def test_oidcc_scope_address(op, rp):
    """``address`` is not supported: not advertised (so the suite skips the module), and
    a request naming it still succeeds, without an ``address`` claim."""
    _unsupported_scope(op, rp, "address", {"address"})


def test_oidcc_scope_phone(op, rp):
    """``phone`` is not supported: not advertised, and a request naming it still
    succeeds, without phone_number / phone_number_verified."""
    _unsupported_scope(op, rp, "phone", {"phone_number", "phone_number_verified"})


def test_oidcc_scope_all(op, rp):
    """``openid profile email address phone``: the profile and email claims, and none of
    the unsupported scopes' claims."""
    claims, info = _scope_claims(op, rp, "openid profile email address phone")
    assert set(info) == {"sub"} | PROFILE | EMAIL
    assert not {"address", "phone_number"} & set(claims)


def test_oidcc_ensure_other_scope_order_succeeds(op, rp):
    """Scope order does not matter: ``email openid`` and ``openid email`` both succeed
    with the same claims."""
    first = op.claims(op.login(rp, "email openid")["access_token"])
    second = op.claims(op.login(rp, "openid email")["access_token"])
    assert first == second and set(first) >= EMAIL


def test_oidcc_display_page(anonymous_op, rp, user):
    """``display=page`` is accepted: the sign-in page is shown and the flow completes."""
    _display(anonymous_op, rp, "page")


def test_oidcc_display_popup(anonymous_op, rp, user):
    """``display=popup`` is accepted: the sign-in page is shown and the flow completes."""
    _display(anonymous_op, rp, "popup")


def _display(op, rp, display):
    response = op.authorize(rp, display=display)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?")
    login = query_of(response.headers["Location"])
    assert query_of(login["return_to"])["display"] == display
    page = op.http.get(response.headers["Location"])
    assert page.status_code == 200 and b'name="password"' in page.data
    assert op.browser.login(**login).status_code == 302
    resumed = op.http.get(login["return_to"])
    if resumed.status_code == 200:
        resumed = op.browser.consent(login["return_to"])
    code = op.callback(resumed, rp)["code"]
    op.id_token(op.tokens(rp, code), rp)


def _auth_times(db) -> list[int]:
    db.session.expire_all()
    rows = db.session.scalars(select(CrossAppSession.auth_time).order_by(CrossAppSession.id))
    return [int(t.timestamp()) for t in rows]


def _sign_in_again(op, response, rp) -> str:
    """The /login detour of a forced re-authentication, completed; the code."""
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/login?"), location
    login = query_of(location)
    assert op.browser.login(**login).status_code == 302
    return op.callback(op.http.get(login["return_to"]), rp)["code"]


def _age_session(db, seconds: int) -> None:
    """The browser's sign-in happened ``seconds`` earlier."""
    for row in db.session.scalars(select(CrossAppSession)):
        row.auth_time -= timedelta(seconds=seconds)
    db.session.commit()


def test_oidcc_prompt_login(op, rp, db):
    """``prompt=login`` with a session: the user is asked to sign in again (no code
    first), and the new ID token's ``auth_time`` is that of the new sign-in, later than
    the first one's."""
    _age_session(db, 5)
    first = op.id_token(op.login(rp), rp)
    code = _sign_in_again(op, op.authorize(rp, prompt="login"), rp)
    second = op.id_token(op.tokens(rp, code), rp)
    assert second["auth_time"] > first["auth_time"]
    assert second["auth_time"] == _auth_times(db)[-1]
    assert second["sub"] == first["sub"]


def test_oidcc_prompt_none_not_logged_in(anonymous_op, rp, user):
    """``prompt=none`` without a session: ``login_required`` at the redirect URI (with
    state and iss), never a page."""
    anonymous_op.error(anonymous_op.authorize(rp, prompt="none"), rp, "login_required")


def test_oidcc_prompt_none_logged_in(op, rp):
    """``prompt=none`` with a session and consent: a code at once, no page, and an ID
    token for the same user and sign-in."""
    first = op.id_token(op.login(rp), rp)
    response = op.authorize(rp, prompt="none")
    code = op.callback(response, rp)["code"]
    second = op.id_token(op.tokens(rp, code), rp)
    assert (second["sub"], second["auth_time"]) == (first["sub"], first["auth_time"])


def test_oidcc_max_age_1(op, rp, db):
    """``max_age=1`` after a sign-in more than a second old: sign in again, and the new
    ID token's ``auth_time`` is the new sign-in's (later than the first)."""
    first = op.id_token(op.login(rp), rp)
    _age_session(db, 2)
    code = _sign_in_again(op, op.authorize(rp, max_age="1"), rp)
    second = op.id_token(op.tokens(rp, code), rp)
    aged, fresh = _auth_times(db)
    assert second["auth_time"] == fresh > aged == first["auth_time"] - 2


def test_oidcc_max_age_10000(op, rp, db):
    """``max_age=10000`` with a recent sign-in: no new sign-in, and ``auth_time`` (which
    must be present when max_age is asked) is the first sign-in's."""
    first = op.id_token(op.login(rp), rp)
    second = op.id_token(op.login(rp, max_age="10000"), rp)
    assert second["auth_time"] == first["auth_time"] == _auth_times(db)[-1]
    assert len(_auth_times(db)) == 1


def test_oidcc_ensure_request_with_unknown_parameter_succeeds(op, rp):
    """An unknown authorization parameter is ignored (OIDC Core 3.1.2.1)."""
    op.id_token(op.login(rp, extra_unknown_param="value"), rp)


def test_oidcc_id_token_hint(op, rp):
    """A second request with ``prompt=none`` and the first ID token as
    ``id_token_hint`` succeeds for the same user."""
    body = op.login(rp)
    first = op.id_token(body, rp)
    again = op.tokens(rp, op.code(rp, prompt="none", id_token_hint=body["id_token"]))
    assert op.id_token(again, rp)["sub"] == first["sub"]


def test_oidcc_login_hint(anonymous_op, rp, user):
    """``login_hint`` is accepted and pre-fills the sign-in page; the flow completes."""
    response = anonymous_op.authorize(rp, login_hint="ada@example.com")
    assert response.headers["Location"].startswith("/login?")
    page = anonymous_op.http.get(response.headers["Location"])
    assert page.status_code == 200
    assert re.search(rb'id="email"[^>]*value="ada@example.com"', page.data)
    login = query_of(response.headers["Location"])
    assert anonymous_op.browser.login(**login).status_code == 302
    resumed = anonymous_op.http.get(login["return_to"])
    if resumed.status_code == 200:
        resumed = anonymous_op.browser.consent(login["return_to"])
    anonymous_op.id_token(anonymous_op.tokens(rp, anonymous_op.callback(resumed, rp)["code"]), rp)


def test_oidcc_ui_locales(op, rp):
    """``ui_locales=se`` is accepted (we have one language; it is ignored)."""
    op.id_token(op.login(rp, ui_locales="se"), rp)


def test_oidcc_claims_locales(op, rp):
    """``claims_locales=se`` is accepted; the claims come in their only language."""
    body = op.login(rp, "openid profile", claims_locales="se")
    op.id_token(body, rp)
    assert op.claims(body["access_token"])["name"] == "Ada"


def test_oidcc_ensure_request_with_acr_values_succeeds(op, rp):
    """``acr_values`` is a voluntary claim request (OIDC Core 5.5.1.1): values we do not
    know are accepted and ignored; the ID token's ``acr`` names the level the sign-in
    reached, one of those advertised."""
    claims = op.id_token(op.login(rp, acr_values="1 2"), rp)
    supported = op.metadata()["acr_values_supported"]
    assert claims["acr"] in supported
    assert "1" not in supported and "2" not in supported


def test_oidcc_codereuse(op, rp):
    """A code is one-time: the second exchange is ``invalid_grant`` (400)."""
    code = op.code(rp)
    op.tokens(rp, code)
    again = op.exchange(rp, code)
    assert again.status_code == 400
    assert again.json["error"] == "invalid_grant"


def test_oidcc_codereuse_30seconds(op, rp, db):
    """A code presented again 30 s after its use is ``invalid_grant``, and the access
    token it produced is revoked (UserInfo refuses it: 401 ``invalid_token``)."""
    code = op.code(rp)
    body = op.tokens(rp, code)
    assert op.claims(body["access_token"])
    for row in db.session.scalars(select(AuthorizationCode)):
        row.used_at -= timedelta(seconds=30)
        row.created_at -= timedelta(seconds=30)
        row.expires_at -= timedelta(seconds=30)
    db.session.commit()
    again = op.exchange(rp, code)
    assert again.status_code == 400
    assert again.json["error"] == "invalid_grant"
    refused = op.userinfo(body["access_token"])
    assert refused.status_code == 401
    assert refused.json["error"] == "invalid_token"


@pytest.mark.parametrize(
    "redirect_uri",
    ["https://rp.example/cb/attack", "https://rp.example/CB", "https://evil.example/cb"],
)
def test_oidcc_ensure_registered_redirect_uri(op, rp, redirect_uri):
    """An unregistered redirect URI is never redirected to: an error page (400) of
    ours, no Location.  (The suite's variant: a near miss of the registered URI.)"""
    response = op.http.get(op.url(rp, redirect_uri=redirect_uri))
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert b"<code>invalid_request</code>" in response.data


def test_oidcc_ensure_post_request_succeeds(op, rp, user):
    """The authorization request sent by POST (form-encoded, OIDC Core 3.1.2.1)
    succeeds: code, state and iss at the redirect URI, a valid ID token."""
    response = op.authorize(rp, method="POST")
    assert response.status_code == 303
    follow = op.http.get(response.headers["Location"])
    if follow.status_code == 200:
        follow = op.browser.consent(response.headers["Location"])
    body = op.tokens(rp, op.callback(follow, rp)["code"])
    assert op.id_token(body, rp)["sub"] == user.sub


def test_oidcc_request_uri_unsigned_supported_correctly_or_rejected_as_unsupported(op, rp):
    """``request_uri`` is not supported: discovery says so explicitly (the default is
    true), and a request carrying one gets ``request_uri_not_supported`` at the redirect
    URI (OIDC Core section 6.2), with state and iss, never a code."""
    response = op.authorize(rp, request_uri="https://rp.example/requests/1")
    op.error(response, rp, "request_uri_not_supported")
    assert op.metadata()["request_uri_parameter_supported"] is False


def _unsigned_request_object(rp, nonce: str) -> str:
    claims = {
        "iss": rp["client_id"],
        "aud": ISSUER,
        "response_type": "code",
        "client_id": rp["client_id"],
        "redirect_uri": rp["redirect_uris"][0],
        "scope": "openid",
        "state": STATE,
        "nonce": nonce,
    }
    return jwt.encode(claims, None, algorithm="none")


@pytest.mark.parametrize("inside", ["also_in_query", "only_in_object"])
def test_oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported(
    op, rp, inside
):
    """``request`` (an ``alg: none`` request object) is not supported: discovery says so,
    and the request gets ``request_not_supported`` at the redirect URI (OIDC Core section
    6.1), with state and iss, never a code, also when the object alone holds the scope."""
    obj = _unsigned_request_object(rp, "n-object")
    scope = "openid" if inside == "also_in_query" else None
    response = op.authorize(rp, scope, request=obj)
    op.error(response, rp, "request_not_supported")
    assert op.metadata()["request_parameter_supported"] is False


def test_oidcc_claims_essential(op, rp):
    """``claims`` asking for ``name`` as essential in UserInfo: the parameter is not
    supported (not advertised, ``claims_parameter_supported`` absent means false), so it
    is ignored: the request succeeds and claims follow the scope alone."""
    assert op.metadata().get("claims_parameter_supported", False) is False
    claims = json.dumps({"userinfo": {"name": {"essential": True}}})
    body = op.login(rp, claims=claims)
    op.id_token(body, rp)
    assert set(op.claims(body["access_token"])) == {"sub"}
    with_scope = op.login(rp, "openid profile", claims=claims)
    assert op.claims(with_scope["access_token"])["name"] == "Ada"


def test_oidcc_refresh_token(op, rp, rp2):
    """With ``offline_access`` a refresh token is issued; refreshing gives a new access
    token (and a rotated refresh token) for the same user, and any new ID token keeps
    iss/sub/aud/azp/auth_time (OIDC Core 12.2); the refresh token is bound to its
    client: another client presenting it gets ``invalid_grant`` and it still works for
    its own client."""
    body = op.login(rp, "openid offline_access", prompt="consent")
    first = op.id_token(body, rp)
    stolen = token_of(op, rp2, body["refresh_token"])
    assert stolen.status_code == 400
    assert stolen.json["error"] == "invalid_grant"
    refreshed = token_of(op, rp, body["refresh_token"])
    assert refreshed.status_code == 200, refreshed.json
    new = refreshed.json
    assert new["access_token"] != body["access_token"]
    assert new["refresh_token"] != body["refresh_token"]
    assert op.claims(new["access_token"])["sub"] == first["sub"]
    if "id_token" in new:
        again = jwt.decode(new["id_token"], options={"verify_signature": False})
        for claim in ("iss", "sub", "aud", "azp", "auth_time"):
            assert again[claim] == first[claim]


def token_of(op: OP, app: dict, refresh_token: str):
    from tests.helpers import token_request

    return token_request(
        op.http, app, {"grant_type": "refresh_token", "refresh_token": refresh_token}
    )


def test_oidcc_ensure_request_with_valid_pkce_succeeds(op, rp):
    """A confidential client using PKCE (S256, advertised) succeeds; the verifier is
    checked: the exchange works with it."""
    assert "S256" in op.metadata()["code_challenge_methods_supported"]
    verifier, challenge = pkce_pair()
    code = op.code(rp, code_challenge=challenge, code_challenge_method="S256")
    op.id_token(op.tokens(rp, code, code_verifier=verifier), rp)
