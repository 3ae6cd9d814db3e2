"""Every hosted page: own assets only, a language, labelled inputs, the app's branding."""

import re

import pytest

from idp.apps import services as app_services
from idp.users import services as users
from tests.helpers import Browser, authorize_url, pkce_pair
from tests.pages.flows import sign_up, submit
from tests.pages.html import read

LOGO = "https://cdn.shop.example/logo.png"


@pytest.fixture
def shop(apps):
    return apps.create(
        client_id="shop",
        name="Shop & Co",
        logo_uri=LOGO,
        redirect_uris=["https://shop.example/cb"],
        post_logout_redirect_uris=["https://shop.example/bye"],
        allowed_scopes="openid profile",
        audience="https://shop.example",
    )


def _signed_in(http):
    assert Browser(http).login().status_code == 302


def _reset_path(http):
    links = []
    users.request_reset("ada@example.com", lambda token: links.append(token))
    return f"/reset/{links[0]}"


def _consent_path(http):
    _signed_in(http)
    return authorize_url("shop", "https://shop.example/cb", "openid profile", pkce_pair()[1])


# name -> (prepare the browser and return the path, expected status)
PAGES = {
    "sign in": (lambda http: "/login", 200),
    "sign up": (lambda http: "/signup", 200),
    "verify": (lambda http: sign_up(http, "new@example.com") and "/verify", 200),
    "forgot": (lambda http: "/forgot", 200),
    "reset": (_reset_path, 200),
    "reset, invalid link": (lambda http: "/reset/nonsense", 400),
    "account": (lambda http: _signed_in(http) or "/account", 200),
    "logout": (lambda http: _signed_in(http) or "/logout", 200),
    "purchase": (lambda http: _signed_in(http) or "/purchase", 200),
    "consent": (_consent_path, 200),
    "rp-initiated logout": (lambda http: _signed_in(http) or "/oauth/logout", 200),
    "authorization error": (lambda http: "/oauth/authorize?client_id=nobody", 400),
    "not found": (lambda http: "/no-such-page", 404),
}


def _with_client(path: str, client_id: str) -> str:
    if "client_id=" in path:
        return path
    return f"{path}{'&' if '?' in path else '?'}client_id={client_id}"


def _render(app, name: str, client_id: str | None = None):
    http = app.test_client()
    prepare, status = PAGES[name]
    path = prepare(http)
    response = http.get(_with_client(path, client_id) if client_id else path)
    assert response.status_code == status, response.data[:300]
    assert response.mimetype == "text/html"
    return read(response.data), response


def _asset_urls(page) -> list[str]:
    """Every URL a page loads, except inline ``data:`` ones (the empty favicon)."""
    urls = (
        [a.get("src", "") for a in page.all("script")]
        + [a.get("href", "") for a in page.all("link")]
        + [a.get("src", "") for a in page.all("img")]
    )
    return [url for url in urls if not url.startswith("data:")]


@pytest.mark.parametrize("name", PAGES)
def test_page_is_self_contained_and_accessible(app, db, user, shop, name):
    page, response = _render(app, name)

    html = response.data.decode()
    assert re.search(r"<html lang=\"[a-z]{2}", html)
    links = [a["href"] for a in page.all("link")]
    assert links[:2] == ["data:,", "/static/idp/idp.css"]
    assert all(href.startswith("/static/") for href in links[2:])  # a page's own stylesheet
    own = ("/static/", LOGO) if name == "consent" else ("/static/",)  # consent names the app
    assert all(url.startswith(own) for url in _asset_urls(page)), _asset_urls(page)
    assert all(a.get("src") for a in page.all("script"))  # CSP forbids inline scripts
    assert " style=" not in html and "<style" not in html  # and inline styles
    labelled = {a.get("for") for a in page.all("label")}
    for field in page.all("input"):
        # A field with the ``hidden`` attribute is for password managers, nobody sees it.
        if field.get("type") not in ("hidden", "submit") and "hidden" not in field:
            assert field.get("id") in labelled, field
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


BRANDED = ["sign in", "sign up", "verify", "forgot", "logout", "purchase", "consent"]


@pytest.mark.parametrize("name", BRANDED)
def test_page_is_branded_for_the_app(app, db, user, shop, name):
    page, _ = _render(app, name, client_id="shop")

    assert "Shop & Co" in page.text
    assert [a["src"] for a in page.all("img")] == [LOGO]
    assert all(url.startswith(("/static/", LOGO)) for url in _asset_urls(page))


@pytest.mark.parametrize("name", ["sign in", "sign up", "forgot"])
@pytest.mark.parametrize("client_id", ["nobody", "disabled", "x" * 65])
def test_unknown_or_disabled_app_gets_no_branding(app, db, user, apps, name, client_id):
    apps.create(
        client_id="disabled",
        name="Ghost",
        logo_uri="https://ghost.example/logo.png",
        audience="https://ghost.example",
    )
    app_services.disable("disabled")

    page, _ = _render(app, name, client_id=client_id)

    assert "Ghost" not in page.text and page.all("img") == []


def test_app_name_is_escaped(app, db, user, apps):
    apps.create(client_id="xss", name='<script>alert("x")</script>', audience="https://x.example")

    response = app.test_client().get("/login?client_id=xss")

    assert "<script>" not in response.data.decode()
    assert '<script>alert("x")</script>' in read(response.data).text


def test_sign_in_carries_the_app_through_its_links(app, db, shop):
    page, _ = _render(app, "sign in", client_id="shop")
    hidden = {a["name"]: a["value"] for a in page.all("input") if a.get("type") == "hidden"}
    assert hidden["client_id"] == "shop"
    links = [a["href"] for a in page.all("a")]
    assert all(
        "client_id=shop" in href for href in links if href.startswith(("/signup", "/forgot"))
    )


def test_signed_out_page(app, db, user):
    http = app.test_client()
    _signed_in(http)
    response = submit(http, "/logout")
    assert re.search(r"<html lang=\"en\"", response.data.decode())
    assert [a["href"] for a in read(response.data).all("link")] == ["data:,", "/static/idp/idp.css"]
