"""An app's branding in the registry (logo, colour, home/privacy/terms links) and the
operator rules of registration (at least one scope, a name unique in any case), through
the admin API: every rejection names its field, nothing is stored on a refusal."""

import pytest
from sqlalchemy import func, select

from idp.apps import branding, services, uris
from idp.apps.models import AppIntegration
from tests.helpers import bearer

REGISTER = "/api/cross-app/register"
META = "invalid_client_metadata"
BRANDED = {
    "logo_uri": "https://cdn.shop.example/logo.png",
    "brand_color": "#1F6FEB",
    "client_uri": "https://shop.example/",
    "policy_uri": "https://shop.example/privacy",
    "tos_uri": "https://shop.example/terms",
}


@pytest.fixture
def admin_headers(client, apps):
    return bearer(apps.token(client, apps.admin(), "admin").json["access_token"])


def register(client, headers, **body):
    body = {"name": "Shop", "allowed_scopes": "openid", **body}
    return client.post(REGISTER, json=body, headers=headers)


def app_count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(AppIntegration))


@pytest.mark.parametrize(
    ("first", "second", "ratio"),
    [("#000000", "#ffffff", 21.0), ("#ffffff", "#ffffff", 1.0), ("#767676", "#ffffff", 4.54)],
)
def test_contrast_is_wcag_ratio(first, second, ratio):
    assert round(branding.contrast(first, second), 2) == ratio


def test_registration_stores_and_shows_branding(client, db, admin_headers):
    response = register(client, admin_headers, client_id="shop", **BRANDED)
    assert response.status_code == 201, response.json
    expected = {**BRANDED, "brand_color": "#1f6feb"}  # stored lower-cased
    assert {k: response.json[k] for k in BRANDED} == expected
    client_view = services.query_client("shop")
    assert {k: getattr(client_view, k) for k in BRANDED} == expected


def test_short_hex_colour_is_expanded(client, admin_headers):
    response = register(client, admin_headers, brand_color="#036")
    assert response.status_code == 201, response.json
    assert response.json["brand_color"] == "#003366"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        # the hosted pages' CSP allows an https logo only: http would be a broken image
        ("logo_uri", "http://cdn.shop.example/logo.png"),
        ("logo_uri", "http://127.0.0.1:8000/logo.png"),
        ("logo_uri", "data:image/png;base64,AAAA"),
        ("logo_uri", "javascript:alert(1)"),
        ("logo_uri", "https://user:pw@cdn.shop.example/logo.png"),
        ("logo_uri", "https://cdn;shop.example/logo.png"),  # would break out of the CSP
        ("logo_uri", "https://cdn.shop.example/logo png"),
        ("logo_uri", "https://cdn.shop.example/" + "x" * 500),
        ("logo_uri", "//cdn.shop.example/logo.png"),
        ("logo_uri", 42),
        ("client_uri", "http://shop.example/"),
        ("policy_uri", "http://shop.example/privacy"),
        ("tos_uri", "ftp://shop.example/terms"),
        ("tos_uri", ["https://shop.example/terms"]),
        ("brand_color", "blue"),
        ("brand_color", "#12345"),
        ("brand_color", "#gggggg"),
        ("brand_color", "1f6feb"),
        ("brand_color", 0x1F6FEB),
        # too light for white button text and for links on the white card
        ("brand_color", "#ffcc00"),
        ("brand_color", "#777777"),
        ("brand_color", "#ffffff"),
    ],
)
def test_branding_rejections(client, db, admin_headers, field, value):
    before = app_count(db)
    response = register(client, admin_headers, **{field: value})
    assert response.status_code == 400
    assert (response.json["error"], response.json["field"]) == (META, field)
    assert app_count(db) == before


def test_low_contrast_refusal_gives_the_ratio(client, admin_headers):
    response = register(client, admin_headers, brand_color="#FFCC00")
    assert "1.51:1" in response.json["error_description"]
    assert "4.5:1" in response.json["error_description"]


@pytest.mark.parametrize("color", ["#767676", "#1f6feb", "#000000", "#b42318"])
def test_colours_at_or_above_4_5_are_accepted(client, admin_headers, color):
    response = register(client, admin_headers, brand_color=color)
    assert response.status_code == 201, response.json
    assert branding.contrast(response.json["brand_color"], "#ffffff") >= 4.5


def test_patch_changes_and_clears_branding(client, admin_headers):
    register(client, admin_headers, client_id="shop", **BRANDED)
    services.query_client("shop")  # cached now: a change must be seen at once
    response = client.patch(
        "/api/cross-app/apps/shop",
        json={"brand_color": "#000", "logo_uri": "", "tos_uri": None},
        headers=admin_headers,
    )
    assert response.status_code == 200, response.json
    assert (response.json["brand_color"], response.json["logo_uri"], response.json["tos_uri"]) == (
        "#000000",
        None,
        None,
    )
    assert services.query_client("shop").logo_uri is None
    assert response.json["policy_uri"] == BRANDED["policy_uri"]


@pytest.mark.parametrize(
    ("uri", "origin"),
    [
        ("https://cdn.shop.example/a/logo.png?v=2", "https://cdn.shop.example"),
        ("https://CDN.Shop.example:443/logo.png", "https://cdn.shop.example"),
        ("https://cdn.shop.example:8443/logo.png", "https://cdn.shop.example:8443"),
        ("https://[::1]:8443/logo.png", "https://[::1]:8443"),
        (None, None),
    ],
)
def test_logo_origin_is_the_csp_source(uri, origin):
    assert uris.logo_origin(uri) == origin


# --- the operator rules of registration ------------------------------------------------


@pytest.mark.parametrize("scopes", [None, "", "  ", []])
def test_registration_names_at_least_one_scope(client, db, admin_headers, scopes):
    before = app_count(db)
    body = {"name": "Shop"} if scopes is None else {"name": "Shop", "allowed_scopes": scopes}
    response = client.post(REGISTER, json=body, headers=admin_headers)
    assert response.status_code == 400
    assert (response.json["error"], response.json["field"]) == (META, "allowed_scopes")
    assert "openid profile email" in response.json["error_description"]
    assert app_count(db) == before


@pytest.mark.parametrize("name", ["Shop", "shop", "SHOP", "  sHoP  "])
def test_duplicate_name_is_refused_in_any_case(client, db, admin_headers, name):
    assert register(client, admin_headers, client_id="shop", name="Shop").status_code == 201
    before = app_count(db)
    response = register(client, admin_headers, client_id="other", name=name)
    assert response.status_code == 400
    assert (response.json["error"], response.json["field"]) == ("name_in_use", "name")
    assert "'shop'" in response.json["error_description"]  # which app holds it
    assert app_count(db) == before


def test_rename_to_a_taken_name_is_refused(client, admin_headers):
    register(client, admin_headers, client_id="shop", name="Shop")
    register(client, admin_headers, client_id="other", name="Other")
    response = client.patch(
        "/api/cross-app/apps/other", json={"name": "SHOP"}, headers=admin_headers
    )
    assert response.status_code == 400
    assert response.json["error"] == "name_in_use"
    assert services.get("other").name == "Other"


def test_an_app_may_change_the_case_of_its_own_name(client, admin_headers):
    register(client, admin_headers, client_id="shop", name="Shop")
    response = client.patch(
        "/api/cross-app/apps/shop", json={"name": "SHOP"}, headers=admin_headers
    )
    assert response.status_code == 200, response.json
    assert response.json["name"] == "SHOP"
