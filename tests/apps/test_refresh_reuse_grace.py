"""The per-app refresh-token reuse grace window (``refresh_reuse_grace_seconds``): 0 by
default, 0 to 60 seconds, set at registration or later through the admin API and the
CLI; ``IDP_REFRESH_REUSE_GRACE_SECONDS`` is only the default of new apps."""

import json

import pytest

from idp import create_app
from idp.apps import services
from idp.core.config import ConfigError
from tests.helpers import bearer

API = "/api/cross-app"
FIELD = "refresh_reuse_grace_seconds"


@pytest.fixture
def admin_headers(client, apps):
    return bearer(apps.token(client, apps.admin(), "admin").json["access_token"])


def test_new_apps_default_to_no_window(apps):
    assert apps.create(client_id="shop")[FIELD] == 0
    assert services.query_client("shop").refresh_reuse_grace_seconds == 0


@pytest.mark.parametrize("seconds", [0, 1, 60])
def test_registration_within_bounds(client, admin_headers, seconds):
    body = {
        "name": "Tabs",
        "type": "public",
        "redirect_uris": ["https://tabs.example/cb"],
        "allowed_scopes": "openid",
    }
    response = client.post(f"{API}/register", json={**body, FIELD: seconds}, headers=admin_headers)
    assert response.status_code == 201, response.json
    assert response.json[FIELD] == seconds
    assert services.query_client(response.json["client_id"]).refresh_reuse_grace_seconds == seconds


def test_patch_takes_effect_at_once(client, apps, admin_headers):
    apps.create(client_id="shop")
    assert services.query_client("shop").refresh_reuse_grace_seconds == 0  # now cached
    response = client.patch(f"{API}/apps/shop", json={FIELD: 15}, headers=admin_headers)
    assert response.status_code == 200, response.json
    assert response.json[FIELD] == 15
    assert services.query_client("shop").refresh_reuse_grace_seconds == 15


def test_cli_create_and_update(runner):
    args = ["--name", "Tabs", "--client-id", "tabs", "--scope", "openid"]
    args += ["--refresh-reuse-grace", "5", "--json"]
    created = runner.invoke(args=["apps", "create", *args])
    assert created.exit_code == 0, created.output
    assert json.loads(created.stdout)[FIELD] == 5
    updated = runner.invoke(args=["apps", "update", "tabs", "--refresh-reuse-grace", "0", "--json"])
    assert updated.exit_code == 0, updated.output
    body = json.loads(updated.stdout)
    assert (body[FIELD], body["name"]) == (0, "Tabs")  # options not given stay as they are
    assert services.get("tabs").refresh_reuse_grace_seconds == 0


def test_cli_update_other_settings(runner, apps):
    apps.create(client_id="shop", name="Shop")
    result = runner.invoke(
        args=["apps", "update", "shop", "--name", "Shop 2", "--token-lifetime", "120"]
    )
    assert result.exit_code == 0, result.output
    app = services.get("shop")
    assert (app.name, app.access_token_lifetime, app.refresh_reuse_grace_seconds) == (
        "Shop 2",
        120,
        0,
    )


@pytest.mark.parametrize(
    ("args", "error", "field"),
    [
        (["shop", "--refresh-reuse-grace", "61"], "invalid_client_metadata", FIELD),
        (["shop", "--token-lifetime", "1"], "invalid_client_metadata", "access_token_lifetime"),
        (["nobody", "--name", "X"], "not_found", None),
    ],
)
def test_cli_update_rejections(runner, apps, args, error, field):
    apps.create(client_id="shop")
    result = runner.invoke(args=["apps", "update", *args, "--json"])
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert (body["error"], body.get("field")) == (error, field)
    assert services.get("shop").refresh_reuse_grace_seconds == 0


def test_setting_is_the_default_of_new_apps(make_app, apps):
    node = make_app(IDP_REFRESH_REUSE_GRACE_SECONDS=10)
    with node.app_context():
        app, _ = services.create({"name": "Tabs", "client_id": "tabs"})
        assert app.refresh_reuse_grace_seconds == 10


@pytest.mark.parametrize("value", [-1, 61])
def test_setting_out_of_bounds_is_refused_at_start_up(tmp_path, value):
    with pytest.raises(ConfigError, match=r"^IDP_REFRESH_REUSE_GRACE_SECONDS "):
        create_app({"IDP_REFRESH_REUSE_GRACE_SECONDS": value, "IDP_INSTANCE_PATH": str(tmp_path)})
