"""The app's contact address (``contact_email``, a registry field since migration
0012): set by `flask apps create/update --contact` and the admin API, shown with the
app, removed by an empty value; the address a disabled webhook endpoint is mailed to."""

from __future__ import annotations

import pytest

from tests.apps.test_cli import as_json, flask_apps
from tests.helpers import bearer

REGISTER = "/api/cross-app/register"


@pytest.fixture
def admin_headers(client, apps):
    return bearer(apps.token(client, apps.admin(), "admin").json["access_token"])


def test_the_cli_sets_changes_and_removes_the_contact(runner, apps):
    made = flask_apps(
        runner, "create", "--name", "Shop", "--client-id", "shop", "--scope", "openid",
        "--contact", "ops@shop.example", "--json",
    )  # fmt: skip
    assert as_json(made)["contact_email"] == "ops@shop.example"
    changed = flask_apps(runner, "update", "shop", "--contact", "dev@shop.example", "--json")
    assert as_json(changed)["contact_email"] == "dev@shop.example"
    removed = flask_apps(runner, "update", "shop", "--contact", "", "--json")
    assert as_json(removed)["contact_email"] is None
    shown = flask_apps(runner, "show", "shop", "--json")
    assert as_json(shown)["contact_email"] is None


def test_an_app_has_no_contact_unless_given(runner, apps):
    made = flask_apps(runner, "create", "--name", "Blog", "--scope", "openid", "--json")
    assert as_json(made)["contact_email"] is None


@pytest.mark.parametrize("value", ["x", "ops@", "a b@shop.example", "o" * 250 + "@x.example"])
def test_the_cli_refuses_what_is_not_an_address(runner, apps, value):
    made = flask_apps(
        runner, "create", "--name", "Shop", "--scope", "openid", "--contact", value, "--json"
    )
    assert made.exit_code == 1
    body = as_json(made)
    assert (body["error"], body["field"]) == ("invalid_client_metadata", "contact_email")


def test_the_admin_api_sets_and_removes_the_contact(client, admin_headers):
    body = {"name": "Shop", "client_id": "shop", "allowed_scopes": "openid"}
    made = client.post(
        REGISTER, json={**body, "contact_email": "ops@shop.example"}, headers=admin_headers
    )
    assert made.status_code == 201, made.json
    assert made.json["contact_email"] == "ops@shop.example"
    url = "/api/cross-app/apps/shop"
    assert client.get(url, headers=admin_headers).json["contact_email"] == "ops@shop.example"
    cleared = client.patch(url, json={"contact_email": None}, headers=admin_headers)
    assert (cleared.status_code, cleared.json["contact_email"]) == (200, None)
    bad = client.patch(url, json={"contact_email": 7}, headers=admin_headers)
    assert (bad.status_code, bad.json["error"], bad.json["field"]) == (
        400,
        "invalid_client_metadata",
        "contact_email",
    )
