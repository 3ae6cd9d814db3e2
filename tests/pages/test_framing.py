"""Who may frame the hosted pages: the registered origins of the app named in the request
(CSP ``frame-ancestors``), nobody otherwise."""

import pytest

from idp.apps import services as app_services
from tests.helpers import PASSWORD, csrf_of

SHOP_ORIGINS = ["https://shop.example", "https://www.shop.example:8443"]
BLOG_ORIGINS = ["https://blog.example"]


@pytest.fixture
def partners(apps):
    """Two apps with origins, and one without."""
    for name, origins in (("shop", SHOP_ORIGINS), ("blog", BLOG_ORIGINS), ("bare", [])):
        apps.confidential(
            name,
            "openid profile",
            audience=f"https://{name}.example",
            redirect_uris=[f"https://{name}.example/cb"],
            allowed_origins=origins,
        )


def directives(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    parsed = {}
    for directive in filter(None, (d.strip() for d in policy.split(";"))):
        name, *values = directive.split()
        parsed[name] = values
    return parsed


def assert_framable_by(response, origins):
    assert directives(response)["frame-ancestors"] == origins
    # X-Frame-Options cannot name origins; any value would forbid the app's frame.
    assert "X-Frame-Options" not in response.headers


def assert_not_framable(response):
    assert directives(response)["frame-ancestors"] == ["'none'"]
    assert response.headers["X-Frame-Options"] == "DENY"


def consent_url(client_id: str) -> str:
    from urllib.parse import urlencode

    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": f"https://{client_id}.example/cb",
        "scope": "openid profile",
        "state": "s",
    }
    return "/oauth/authorize?" + urlencode(query)


@pytest.mark.parametrize(("client_id", "origins"), [("shop", SHOP_ORIGINS), ("blog", BLOG_ORIGINS)])
@pytest.mark.parametrize("path", ["/login", "/signup", "/forgot"])
def test_hosted_pages_for_an_app(client, partners, path, client_id, origins):
    response = client.get(path, query_string={"client_id": client_id})
    assert response.status_code == 200
    assert_framable_by(response, origins)


@pytest.mark.parametrize(("client_id", "origins"), [("shop", SHOP_ORIGINS), ("blog", BLOG_ORIGINS)])
def test_consent_page(client, partners, signed_in, client_id, origins):
    response = client.get(consent_url(client_id))
    assert response.status_code == 200
    assert b'name="decision"' in response.data
    assert_framable_by(response, origins)


def test_failed_sign_in_keeps_the_apps_policy(client, partners, user):
    page = client.get("/login", query_string={"client_id": "shop"})
    form = {
        "email": user.email,
        "password": PASSWORD + "x",
        "client_id": "shop",
        "csrf_token": csrf_of(page.data),
    }
    response = client.post("/login", data=form)
    assert response.status_code == 401
    assert_framable_by(response, SHOP_ORIGINS)


@pytest.mark.parametrize("path", ["/login", "/signup", "/forgot"])
@pytest.mark.parametrize("client_id", [None, "bare", "no-such-app", ""])
def test_pages_without_an_app_with_origins(client, partners, path, client_id):
    query = {} if client_id is None else {"client_id": client_id}
    response = client.get(path, query_string=query)
    assert response.status_code == 200
    assert_not_framable(response)


def test_consent_page_of_an_app_without_origins(client, partners, signed_in):
    response = client.get(consent_url("bare"))
    assert response.status_code == 200
    assert_not_framable(response)


def test_disabled_app_loses_its_frames(client, partners):
    app_services.disable("shop")
    assert_not_framable(client.get("/login", query_string={"client_id": "shop"}))


def test_account_page_is_never_framed(client, partners, signed_in):
    """Only the pages a partner app sends its users to are framable by it."""
    response = client.get("/account", query_string={"client_id": "shop"})
    assert response.status_code == 200
    assert_not_framable(response)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/.well-known/jwks.json"),
        ("GET", "/.well-known/openid-configuration"),
        ("POST", "/oauth/token"),
        ("POST", "/oauth/introspect"),
        ("GET", "/oauth/userinfo"),
        ("GET", "/api/cross-app/user/metadata"),
        ("GET", "/healthz"),
    ],
)
def test_json_endpoints_are_never_framed(client, signing_keys, partners, method, path):
    response = client.open(path, method=method, query_string={"client_id": "shop"})
    assert response.is_json
    assert_not_framable(response)


def test_one_apps_origins_never_reach_another_apps_pages(client, partners, signed_in):
    for url in ("/login?client_id=blog", "/signup?client_id=blog", consent_url("blog")):
        assert_framable_by(client.get("/login?client_id=shop"), SHOP_ORIGINS)
        response = client.get(url)
        assert response.status_code == 200
        assert_framable_by(response, BLOG_ORIGINS)
        assert "shop.example" not in response.headers["Content-Security-Policy"]
