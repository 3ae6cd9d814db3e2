"""Consent at the authorization endpoint: who is asked, when, and what is remembered."""

import re

import pytest

from idp.audit import services as audit
from idp.oauth2 import services
from tests.helpers import Browser, Flow, csrf_of, make_user, query_of


def scopes_listed(page) -> list[str]:
    return re.findall(r'data-scope="([^"]+)"', page.data.decode())


def asks(flow, app, scope="openid", **extra) -> bool:
    """Whether the authorization request shows the consent page (else: a code)."""
    response = flow.http.get(flow.url(app, scope, **extra))
    if response.status_code == 200:
        assert b'name="decision" value="allow"' in response.data
        return True
    assert response.status_code == 302
    assert "code" in query_of(response.headers["Location"])
    return False


@pytest.fixture
def first_party(apps):
    return apps.create(
        client_id="console",
        redirect_uris=["https://console.example/cb"],
        allowed_scopes="openid profile email",
        audience="https://console.example",
        first_party=True,
    )


def test_third_party_app_asks_and_first_party_app_does_not(flow, shop, first_party, user):
    assert asks(flow, shop, "openid email") is True
    assert asks(flow, first_party, "openid email") is False
    assert services.granted_scopes(user.id, "console") == set()  # nothing to remember


def test_consent_page_names_the_app_the_user_and_every_scope(flow, apps, user):
    app = apps.create(
        client_id="gallery",
        name="Gallery",
        redirect_uris=["https://gallery.example/cb"],
        allowed_scopes="openid email credits:read",
        audience="https://gallery.example",
    )
    page = flow.http.get(flow.url(app, "openid email credits:read"))
    assert page.status_code == 200
    assert scopes_listed(page) == ["openid", "email", "credits:read"]
    assert b"Gallery wants to access your account" in page.data
    assert user.email.encode() in page.data
    assert page.headers["Cache-Control"] == "no-store"


def test_consent_is_remembered_per_user_and_app(new_browser, flow, shop, user):
    flow.code(shop, "openid email")
    assert services.granted_scopes(user.id, "shop") == {"openid", "email"}
    events = audit.tail(event=audit.CONSENT_GRANTED)
    assert [(e.user_id, e.client_id) for e in events] == [(user.id, "shop")]
    assert asks(flow, shop, "openid email") is False
    assert asks(flow, shop, "email") is False  # a subset needs nothing new
    # Another person in another browser is asked for themselves.
    make_user("bob@example.com", name="Bob")
    http = new_browser()  # a second browser, with its own cookies
    other = Flow(http, Browser(http))
    other.browser.login("bob@example.com")
    assert asks(other, shop, "openid email") is True


def test_more_scopes_ask_again_and_the_grant_grows(flow, shop, user):
    flow.code(shop, "openid email")
    page = flow.http.get(flow.url(shop, "openid email profile"))
    assert page.status_code == 200
    assert "profile" in scopes_listed(page)
    flow.code(shop, "openid email profile")
    assert services.granted_scopes(user.id, "shop") == {"openid", "email", "profile"}
    assert asks(flow, shop, "openid profile") is False


def test_prompt_consent_forces_the_page(flow, shop, first_party):
    flow.code(shop, "openid")
    assert asks(flow, shop, "openid", prompt="consent") is True
    assert asks(flow, first_party, "openid", prompt="consent") is True


def test_consent_is_per_app(flow, apps, shop):
    other = apps.create(
        client_id="blog",
        redirect_uris=["https://blog.example/cb"],
        allowed_scopes="openid email",
        audience="https://shop.example",  # even sharing shop's audience
    )
    flow.code(shop, "openid email")
    assert asks(flow, other, "openid email") is True


def test_revoked_consent_asks_again(flow, shop, user):
    flow.code(shop, "openid")
    page = flow.http.get("/account/apps/shop/revoke")  # the confirmation
    response = flow.http.post("/account/apps/shop/revoke", data={"csrf_token": csrf_of(page.data)})
    assert response.status_code == 302  # back to the account page (redirect after POST)
    assert services.granted_scopes(user.id, "shop") == set()
    assert asks(flow, shop, "openid") is True


@pytest.mark.parametrize("decision", ["deny", "", "yes"])
def test_anything_but_allow_is_access_denied(flow, shop, user, decision):
    response = flow.browser.consent(flow.url(shop, "openid"), decision=decision)
    assert response.status_code == 302
    assert query_of(response.headers["Location"])["error"] == "access_denied"
    assert services.granted_scopes(user.id, "shop") == set()


@pytest.mark.parametrize("token", [None, "forged"], ids=["missing", "forged"])
def test_consent_needs_the_forms_csrf_token(flow, shop, user, token):
    """Without it another site could submit "allow" in the user's name."""
    url = flow.url(shop, "openid")
    assert flow.http.get(url).status_code == 200
    form = {"decision": "allow", **({"csrf_token": token} if token else {})}
    response = flow.http.post(url, data=form)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert b"<code>csrf_failed</code>" in response.data
    assert services.granted_scopes(user.id, "shop") == set()
