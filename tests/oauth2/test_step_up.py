"""Step-up: ``amr``/``acr`` in ID and access tokens (verified with joserfc, not our own
code), ``acr_values`` and ``max_age`` forcing the second factor, an app's
``require_mfa``, and the RFC 9470 challenge of a large purchase."""

from __future__ import annotations

import time

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.users import factors
from tests.helpers import Flow, basic, bearer, query_of
from tests.users.mfa_actions import Mfa, code_at

from .conftest import USER_SCOPES

ISSUER = "https://idp.test"


def verified(http, token: str) -> dict:
    """The claims of ``token`` checked with joserfc against the published JWKS."""
    keys = KeySet.import_key_set(http.get("/.well-known/jwks.json").json)
    claims = jwt.decode(token, keys, algorithms=["RS256"]).claims
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": ISSUER}).validate(claims)
    return claims


@pytest.fixture
def enrolled(signed_in, monkeypatch):
    """``user`` with an authenticator app (``signed_in`` set it up: two factors now)."""
    return Mfa(signed_in.http).enrol(monkeypatch)[0]


@pytest.fixture
def password_only(new_browser, user):
    """Another browser signed in with the password only (before any factor existed)."""
    http = new_browser()
    assert Flow(http).browser.login().status_code == 302
    return http


def test_discovery_advertises_the_levels_and_claims(client):
    meta = client.get("/.well-known/openid-configuration").json
    assert meta["acr_values_supported"] == [factors.ACR_1FA, factors.ACR_2FA]
    assert {"amr", "acr"} <= set(meta["claims_supported"])


def test_a_password_sign_in_is_one_factor(flow, shop, signing_keys):
    body = flow.tokens(shop, "openid")
    claims = verified(flow.http, body["id_token"])
    assert claims["amr"] == ["pwd"]
    assert claims["acr"] == factors.ACR_1FA
    assert verified(flow.http, body["access_token"])["acr"] == factors.ACR_1FA


def test_a_sign_in_with_the_app_is_two_factors(enrolled, new_browser, shop, signing_keys):
    http = new_browser()
    assert Mfa(http).sign_in(code_at(enrolled, 0)).status_code == 302
    body = Flow(http).tokens(shop, "openid offline_access")
    claims = verified(http, body["id_token"])
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["acr"] == factors.ACR_2FA
    assert verified(http, body["access_token"])["acr"] == factors.ACR_2FA
    # A refreshed token keeps the grant's authentication.
    refreshed = Flow(http).refresh(shop, body["refresh_token"]).json
    assert verified(http, refreshed["access_token"])["acr"] == factors.ACR_2FA


def _second_factor_detour(response) -> dict:
    assert response.status_code == 302, response.data[:300]
    location = response.headers["Location"]
    assert location.startswith("/login/second-factor?"), location
    return query_of(location)


def test_acr_values_steps_a_password_session_up(
    password_only, enrolled, shop, user, signing_keys, db
):
    flow = Flow(password_only)
    response, _, _ = flow.authorize(shop, "openid", acr_values=factors.ACR_2FA)
    back = _second_factor_detour(response)["return_to"]
    done = Mfa(password_only).second_step(response.headers["Location"], code=code_at(enrolled, 0))
    assert done.status_code == 302 and done.headers["Location"] == back
    code, verifier = flow.code(shop, "openid", acr_values=factors.ACR_2FA)
    claims = verified(password_only, flow.exchange(shop, code, verifier).json["id_token"])
    assert claims["acr"] == factors.ACR_2FA and "mfa" in claims["amr"]


def test_acr_values_without_a_factor_leads_to_setting_one_up(flow, shop):
    response, _, _ = flow.authorize(shop, "openid", acr_values=factors.ACR_2FA)
    detour = response.headers["Location"]
    assert detour.startswith("/login/second-factor")
    setup = flow.http.get(detour)
    assert setup.status_code == 302
    assert setup.headers["Location"].startswith("/account/two-step?")


def test_a_one_factor_request_is_served_as_before(flow, shop):
    code, _ = flow.code(shop, "openid", acr_values=factors.ACR_1FA)
    assert code


def test_prompt_none_cannot_step_up(password_only, enrolled, shop):
    response, _, _ = Flow(password_only).authorize(
        shop, "openid", acr_values=factors.ACR_2FA, prompt="none"
    )
    assert query_of(response.headers["Location"])["error"] == "interaction_required"


def test_max_age_asks_for_the_password_and_then_the_factor(password_only, enrolled, shop):
    flow = Flow(password_only)
    response, _, _ = flow.authorize(shop, "openid", max_age="0")
    assert response.headers["Location"].startswith("/login?")
    signed = Mfa(password_only).browser.login(**query_of(response.headers["Location"]))
    assert signed.headers["Location"].startswith("/login/second-factor")


def test_an_app_that_requires_two_factors(password_only, enrolled, apps, runner):
    result = runner.invoke(args=["apps", "update", "shop", "--require-mfa"])
    assert result.exit_code != 0  # no such app yet
    apps.create(
        client_id="shop",
        redirect_uris=["https://shop.example/cb"],
        allowed_scopes=USER_SCOPES,
        audience="https://shop.example",
        first_party=True,
    )
    app = {"client_id": "shop", "redirect_uris": ["https://shop.example/cb"], "client_secret": "x"}
    assert (
        Flow(password_only)
        .authorize(app, "openid")[0]
        .headers["Location"]
        .startswith("https://shop.example/cb?")
    )
    result = runner.invoke(args=["apps", "update", "shop", "--require-mfa", "--json"])
    assert result.exit_code == 0, result.output
    assert '"require_mfa": true' in result.output
    _second_factor_detour(Flow(password_only).authorize(app, "openid")[0])


def test_introspection_says_the_level_and_when(password_only, enrolled, new_browser, shop):
    """RFC 9470 section 6.2: a resource server that introspects learns acr and auth_time."""
    http = new_browser()
    assert Mfa(http).sign_in(code_at(enrolled, 0)).status_code == 302
    token = Flow(http).tokens(shop, "openid")["access_token"]
    body = http.post("/oauth/introspect", data={"token": token}, headers=basic(shop)).json
    assert body["acr"] == factors.ACR_2FA
    assert abs(body["auth_time"] - time.time()) < 60


def test_require_mfa_is_a_registry_setting(client, apps, runner):
    """``flask apps create --require-mfa`` and the admin API's ``require_mfa``."""
    args = ["apps", "create", "--name", "Vault", "--client-id", "vault", "--scope", "openid"]
    result = runner.invoke(args=[*args, "--redirect-uri", "https://vault.example/cb", "--json"])
    assert result.exit_code == 0, result.output
    assert '"require_mfa": false' in result.output
    admin = apps.admin()
    headers = bearer(apps.token(client, admin, "admin").json["access_token"])
    changed = client.patch("/api/cross-app/apps/vault", json={"require_mfa": True}, headers=headers)
    assert changed.status_code == 200 and changed.json["require_mfa"] is True
    refused = client.patch(
        "/api/cross-app/apps/vault", json={"require_mfa": "yes"}, headers=headers
    )
    assert refused.status_code == 400 and refused.json["field"] == "require_mfa"
    created = runner.invoke(
        args=["apps", "create", "--name", "Safe", "--scope", "openid", "--require-mfa", "--json"]
    )
    assert '"require_mfa": true' in created.output
