"""`flask apps update` (fix a redirect URI, a logo, the scopes, the branding), and the
operator rules of `flask apps create`: `--scope` required, names unique in any case."""

import json

import pytest

from idp.apps import services
from tests.apps.test_cli import as_json, flask_apps, readable


@pytest.fixture
def shop(apps):
    return apps.create(
        client_id="shop",
        name="Shop",
        type="public",
        redirect_uris=["https://shop.example/cb"],
        allowed_scopes="openid",
        logo_uri="https://cdn.shop.example/old.png",
    )


def test_update_fixes_redirect_uri_logo_scope_and_branding(runner, client, shop):
    services.query_client("shop")  # cached: the change must be seen at once
    result = flask_apps(
        runner,
        "update",
        "shop",
        "--redirect-uri",
        "https://shop.example/callback",
        "--redirect-uri",
        "https://shop.example/cb2",
        "--scope",
        "openid profile email",
        "--logo-uri",
        "https://cdn.shop.example/new.png",
        "--brand-color",
        "#0B5FFF",
        "--home-uri",
        "https://shop.example/",
        "--privacy-uri",
        "https://shop.example/privacy",
        "--terms-uri",
        "https://shop.example/terms",
        "--json",
    )
    assert result.exit_code == 0, result.output
    body = as_json(result)
    assert {k: body[k] for k in ("redirect_uris", "allowed_scopes", "logo_uri", "brand_color")} == {
        "redirect_uris": ["https://shop.example/callback", "https://shop.example/cb2"],
        "allowed_scopes": ["openid", "profile", "email"],
        "logo_uri": "https://cdn.shop.example/new.png",
        "brand_color": "#0b5fff",
    }
    assert (body["client_uri"], body["policy_uri"], body["tos_uri"]) == (
        "https://shop.example/",
        "https://shop.example/privacy",
        "https://shop.example/terms",
    )
    assert body["name"] == "Shop"  # options not given stay as they are
    served = services.query_client("shop")
    assert served.check_redirect_uri("https://shop.example/callback")
    assert not served.check_redirect_uri("https://shop.example/cb")


def test_update_readable_output(runner, shop):
    result = flask_apps(runner, "update", "shop", "--brand-color", "#036")
    assert result.exit_code == 0, result.output
    lines = readable(result)
    assert (lines["client_id"], lines["brand_color"]) == ("shop", "#003366")


def test_update_empty_option_removes_the_logo(runner, shop):
    result = flask_apps(runner, "update", "shop", "--logo-uri", "", "--json")
    assert result.exit_code == 0, result.output
    assert as_json(result)["logo_uri"] is None
    assert services.get("shop").logo_uri is None


def test_update_first_party_flag(runner, apps):
    apps.confidential("ops", "openid")
    result = flask_apps(runner, "update", "ops", "--first-party", "--json")
    assert as_json(result)["first_party"] is True
    result = flask_apps(runner, "update", "ops", "--third-party", "--json")
    assert as_json(result)["first_party"] is False


UPDATE_REJECTIONS = [
    (["--logo-uri", "http://cdn.shop.example/logo.png"], "invalid_client_metadata", "logo_uri"),
    (["--brand-color", "#ffcc00"], "invalid_client_metadata", "brand_color"),
    (["--brand-color", "teal"], "invalid_client_metadata", "brand_color"),
    (["--privacy-uri", "http://shop.example/p"], "invalid_client_metadata", "policy_uri"),
    (["--redirect-uri", "https://shop.example/cb#x"], "invalid_redirect_uri", "redirect_uris"),
    (["--scope", "bogus"], "invalid_client_metadata", "allowed_scopes"),
    (["--name", "OTHER"], "name_in_use", "name"),
]


@pytest.mark.parametrize(("args", "error", "field"), UPDATE_REJECTIONS)
def test_update_rejections(runner, apps, shop, args, error, field):
    apps.create(client_id="other", name="Other", allowed_scopes="openid")
    before = services.to_dict(services.get("shop"))
    result = flask_apps(runner, "update", "shop", *args, "--json")
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert (body["error"], body["field"]) == (error, field)
    assert services.to_dict(services.get("shop")) == before
    readable_result = flask_apps(runner, "update", "shop", *args)
    assert readable_result.exit_code == 1
    assert readable_result.stderr.startswith(f"Error: {error}: ")


def test_update_unknown_app(runner):
    result = flask_apps(runner, "update", "nope", "--name", "X", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"] == "not_found"


def test_update_with_nothing_to_change_is_a_usage_error(runner, shop):
    result = flask_apps(runner, "update", "shop")
    assert result.exit_code == 2
    assert "nothing to change" in result.stderr


# --- create: the operator rules ------------------------------------------------------


def test_create_without_scope_is_refused_before_anything_is_stored(runner, db):
    result = flask_apps(runner, "create", "--name", "Shop", "--json")
    assert result.exit_code == 2
    assert "--scope" in result.stderr
    assert services.list_all() == []


def test_create_with_empty_scope_says_which_scopes_exist(runner, db):
    result = flask_apps(runner, "create", "--name", "Shop", "--scope", "", "--json")
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert (body["error"], body["field"]) == ("invalid_client_metadata", "allowed_scopes")
    assert "credits:read" in body["error_description"]
    assert services.list_all() == []


@pytest.mark.parametrize("name", ["Shop", "SHOP", "shop"])
def test_create_refuses_a_taken_name_in_any_case(runner, shop, name):
    result = flask_apps(runner, "create", "--name", name, "--scope", "openid", "--json")
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert (body["error"], body["field"]) == ("name_in_use", "name")
    assert "'shop'" in body["error_description"]
    assert [a.client_id for a in services.list_all()] == ["shop"]
    readable_result = flask_apps(runner, "create", "--name", name, "--scope", "openid")
    assert readable_result.stderr.startswith("Error: name_in_use: ")


def test_create_with_branding(runner):
    result = flask_apps(
        runner,
        "create",
        "--name",
        "Shop",
        "--scope",
        "openid",
        "--logo-uri",
        "https://cdn.shop.example/logo.png",
        "--brand-color",
        "#1f6feb",
        "--privacy-uri",
        "https://shop.example/privacy",
        "--json",
    )
    assert result.exit_code == 0, result.output
    body = as_json(result)
    assert (body["logo_uri"], body["brand_color"], body["policy_uri"], body["tos_uri"]) == (
        "https://cdn.shop.example/logo.png",
        "#1f6feb",
        "https://shop.example/privacy",
        None,
    )


def test_create_refuses_an_http_logo(runner, db):
    args = ["--name", "Shop", "--scope", "openid", "--logo-uri", "http://127.0.0.1/logo.png"]
    result = flask_apps(runner, "create", *args, "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["field"] == "logo_uri"


def test_list_has_a_header_row_even_when_empty(runner, db):
    result = flask_apps(runner, "list")
    assert result.exit_code == 0
    assert result.stdout.split() == ["CLIENT_ID", "TYPE", "STATUS", "NAME"]
