"""`flask apps ...`: the registry from a shell or a script."""

import hashlib
import json

import pytest
from sqlalchemy import select

from idp.apps import services
from idp.apps.models import AppIntegration

ISSUE_EXAMPLE = [
    "apps",
    "create",
    "--name",
    "shop",
    "--type",
    "confidential",
    "--redirect-uri",
    "https://shop.example/cb",
    "--origin",
    "https://shop.example",
    "--scope",
    "openid profile credits:read",
    "--audience",
    "https://shop.example",
    "--json",
]


def flask_apps(runner, *args):
    return runner.invoke(args=["apps", *args])


def as_json(result):
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return json.loads(result.stdout)


def readable(result) -> dict[str, str]:
    """The key/value lines printed without --json."""
    pairs = (line.partition(" ") for line in result.stdout.splitlines())
    return {key: value.strip() for key, _, value in pairs}


def stored_hash(db, client_id: str) -> str:
    return db.session.scalar(
        select(AppIntegration.client_secret_hash).where(AppIntegration.client_id == client_id)
    )


@pytest.fixture
def shop(apps):
    return apps.confidential("shop", "credits:read", audience="https://shop.example")


def test_create_example_from_the_issue(runner, client, apps):
    result = runner.invoke(args=ISSUE_EXAMPLE)
    assert result.exit_code == 0, result.output
    body = as_json(result)
    assert body["client_id"].startswith("app_")
    assert {
        k: body[k]
        for k in (
            "name",
            "type",
            "redirect_uris",
            "allowed_origins",
            "allowed_scopes",
            "audience",
            "status",
        )
    } == {
        "name": "shop",
        "type": "confidential",
        "redirect_uris": ["https://shop.example/cb"],
        "allowed_origins": ["https://shop.example"],
        "allowed_scopes": ["openid", "profile", "credits:read"],
        "audience": "https://shop.example",
        "status": "active",
    }
    token = apps.token(client, body, "credits:read")
    assert token.status_code == 200, token.json
    assert token.json["scope"] == "credits:read"


def test_create_with_every_option(runner, client, apps):
    result = flask_apps(
        runner,
        "create",
        "--name",
        "Ops",
        "--client-id",
        "ops-cli",
        "--scope",
        "admin",
        "--first-party",
        "--token-lifetime",
        "120",
        "--json",
    )
    assert result.exit_code == 0, result.output
    body = as_json(result)
    assert (
        body["client_id"],
        body["audience"],
        body["first_party"],
        body["access_token_lifetime"],
    ) == ("ops-cli", "ops-cli", True, 120)
    token = apps.token(client, body, "admin")
    assert token.status_code == 200
    assert token.json["expires_in"] == 120


def test_create_public_prints_no_secret(runner):
    result = flask_apps(
        runner,
        "create",
        "--name",
        "Mobile",
        "--scope",
        "openid",
        "--type",
        "public",
        "--redirect-uri",
        "com.example.app:/cb",
        "--json",
    )
    assert result.exit_code == 0, result.output
    body = as_json(result)
    assert body["type"] == "public"
    assert "client_secret" not in body


def test_create_readable_output_shows_secret_once(runner, db):
    result = flask_apps(
        runner, "create", "--name", "Shop", "--client-id", "shop", "--scope", "openid"
    )
    assert result.exit_code == 0, result.output
    lines = readable(result)
    assert (lines["client_id"], lines["type"], lines["status"]) == (
        "shop",
        "confidential",
        "active",
    )
    secret = lines["client_secret"]
    assert stored_hash(db, "shop") == hashlib.sha256(secret.encode()).hexdigest()
    shown = flask_apps(runner, "show", "shop")
    assert shown.exit_code == 0
    assert secret not in shown.stdout
    assert "client_secret" not in shown.stdout


def test_list(runner, apps, shop):
    apps.create(
        client_id="mobile", name="Mobile", type="public", redirect_uris=["com.example.app:/cb"]
    )
    result = flask_apps(runner, "list", "--json")
    assert result.exit_code == 0
    listed = as_json(result)
    assert [a["client_id"] for a in listed] == ["shop", "mobile"]
    assert listed == [services.to_dict(a) for a in services.list_all()]
    readable = flask_apps(runner, "list")
    assert readable.exit_code == 0
    rows = [line.split() for line in readable.stdout.splitlines()]
    assert rows == [
        ["CLIENT_ID", "TYPE", "STATUS", "NAME"],
        ["shop", "confidential", "active", "Test", "app", "shop"],
        ["mobile", "public", "active", "Mobile"],
    ]


def test_show(runner, shop):
    result = flask_apps(runner, "show", "shop", "--json")
    assert result.exit_code == 0
    assert as_json(result) == {k: v for k, v in shop.items() if k != "client_secret"}


def test_rotate_secret(runner, client, apps, shop):
    assert apps.token(client, shop).status_code == 200  # the old secret is cached now
    result = flask_apps(runner, "rotate-secret", "shop", "--json")
    assert result.exit_code == 0, result.output
    new_secret = as_json(result)["client_secret"]
    assert new_secret != shop["client_secret"]
    old = apps.token(client, shop)
    assert old.status_code == 401
    assert old.json["error"] == "invalid_client"
    assert apps.token(client, {**shop, "client_secret": new_secret}).status_code == 200


def test_disable_and_enable(runner, client, apps, shop):
    assert apps.token(client, shop).status_code == 200
    result = flask_apps(runner, "disable", "shop", "--json")
    assert result.exit_code == 0, result.output
    assert as_json(result)["status"] == "disabled"
    refused = apps.token(client, shop)
    assert refused.status_code == 401
    assert refused.json["error"] == "invalid_client"

    result = flask_apps(runner, "enable", "shop")
    assert result.exit_code == 0, result.output
    assert readable(result)["status"] == "active"
    assert services.get("shop").status == "active"
    assert apps.token(client, shop).status_code == 200


CREATE_REJECTIONS = [
    (["--redirect-uri", "https://shop.example/cb#x"], "invalid_redirect_uri", "redirect_uris"),
    (["--redirect-uri", "https://*.shop.example/cb"], "invalid_redirect_uri", "redirect_uris"),
    (["--redirect-uri", "javascript:alert(1)"], "invalid_redirect_uri", "redirect_uris"),
    (["--type", "public"], "invalid_redirect_uri", "redirect_uris"),
    (["--origin", "https://shop.example/"], "invalid_client_metadata", "allowed_origins"),
    (["--scope", "credits:read bogus"], "invalid_client_metadata", "allowed_scopes"),
    (["--scope", "admin"], "invalid_client_metadata", "allowed_scopes"),
    (["--client-id", "Shop"], "invalid_client_metadata", "client_id"),
    (["--client-id", "shop"], "client_id_in_use", "client_id"),
    (["--audience", "https://idp.test/api/wallet"], "invalid_client_metadata", "audience"),
    (["--audience", "https://idp.test"], "invalid_client_metadata", "audience"),
    (["--token-lifetime", "30"], "invalid_client_metadata", "access_token_lifetime"),
    (["--refresh-reuse-grace", "61"], "invalid_client_metadata", "refresh_reuse_grace_seconds"),
    (["--refresh-reuse-grace", "-1"], "invalid_client_metadata", "refresh_reuse_grace_seconds"),
]


@pytest.mark.parametrize(("args", "error", "field"), CREATE_REJECTIONS)
def test_create_rejections_as_json(runner, shop, args, error, field):
    before = len(services.list_all())
    result = flask_apps(runner, "create", "--name", "Other", "--scope", "openid", *args, "--json")
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert set(body) == {"error", "error_description", "field"}
    assert (body["error"], body["field"]) == (error, field)
    assert body["error_description"]
    assert len(services.list_all()) == before


@pytest.mark.parametrize(("args", "error", "field"), CREATE_REJECTIONS)
def test_create_rejections_readable(runner, shop, args, error, field):
    result = flask_apps(runner, "create", "--name", "Other", "--scope", "openid", *args)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"Error: {error}: ")


def test_blank_name_is_rejected(runner):
    result = flask_apps(runner, "create", "--name", "   ", "--scope", "openid", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["field"] == "name"


@pytest.mark.parametrize("command", ["show", "rotate-secret", "disable", "enable"])
def test_unknown_client_id(runner, command):
    result = flask_apps(runner, command, "nope", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "error": "not_found",
        "error_description": "No app is registered with that client_id.",
    }
    readable = flask_apps(runner, command, "nope")
    assert readable.exit_code == 1
    assert readable.stderr.startswith("Error: not_found: ")


def test_rotate_secret_of_public_app(runner, apps):
    apps.create(client_id="mobile", type="public", redirect_uris=["com.example.app:/cb"])
    result = flask_apps(runner, "rotate-secret", "mobile", "--json")
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert (body["error"], body["field"]) == ("invalid_client_metadata", "type")
    assert services.get("mobile").client_secret_hash is None


def test_secret_hash_never_in_cli_output(runner, db):
    created = flask_apps(
        runner, "create", "--name", "Shop", "--client-id", "shop", "--scope", "openid", "--json"
    )
    hashes = {stored_hash(db, "shop")}
    outputs = [created]
    for args in (
        ["list"],
        ["list", "--json"],
        ["show", "shop"],
        ["show", "shop", "--json"],
        ["rotate-secret", "shop", "--json"],
        ["disable", "shop"],
        ["enable", "shop"],
    ):
        result = flask_apps(runner, *args)
        assert result.exit_code == 0, result.output
        hashes.add(stored_hash(db, "shop"))
        outputs.append(result)
    rotated = flask_apps(runner, "rotate-secret", "shop")
    hashes.add(stored_hash(db, "shop"))
    outputs.append(rotated)
    assert len(hashes) == 3 and None not in hashes
    for result in outputs:
        assert "client_secret_hash" not in result.output
        assert not any(h in result.output for h in hashes)
