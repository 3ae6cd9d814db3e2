"""`flask dev ...`: development conveniences used by `make run`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from keys import services as key_services

from .apps import services as app_services
from .apps.errors import AppNotFound

dev = AppGroup("dev", help="Development helpers.")

DEMO_CLIENT_ID = "demo-app"


@dev.command("bootstrap")
def bootstrap_command() -> None:
    """Create signing keys and the demo partner app, then print how to get a token."""
    if current_app.config["IDP_ENV"] == "production":
        raise click.ClickException("dev bootstrap is for development only")
    key_services.ensure_active()
    creds = _demo_credentials(Path(current_app.instance_path) / "demo_app.json")
    issuer = current_app.config["IDP_ISSUER"]
    click.echo(f"""
Demo partner app (credentials kept in instance/demo_app.json):
  client_id:     {creds['client_id']}
  client_secret: {creds['client_secret']}

Get an access token:
  curl -s -u {creds['client_id']}:{creds['client_secret']} \\
       -d grant_type=client_credentials {issuer}/oauth/token

Discovery: {issuer}/.well-known/openid-configuration
JWKS:      {issuer}/.well-known/jwks.json
""")


def _demo_credentials(path: Path) -> dict:
    """The demo app's id and secret; the secret is hashed in the database, so the dev copy
    lives in the instance folder.  If that copy is lost, a new secret is issued."""
    if path.exists():
        creds = json.loads(path.read_text())
        try:
            app_services.get(creds["client_id"])
            return creds
        except AppNotFound:
            pass
    try:
        app_services.get(DEMO_CLIENT_ID)
        _, secret = app_services.rotate_secret(DEMO_CLIENT_ID)
    except AppNotFound:
        cfg = current_app.config
        _, secret = app_services.create({
            "client_id": DEMO_CLIENT_ID, "name": "Demo partner app", "type": "confidential",
            "redirect_uris": [cfg["IDP_DEMO_REDIRECT_URI"]],
            "allowed_origins": [cfg["IDP_DEMO_ORIGIN"]],
            "allowed_scopes": "openid profile email offline_access credits:read "
                              "credits:consume credits:purchase user:metadata",
            "audience": cfg["IDP_DEMO_ORIGIN"],
        })
    creds = {"client_id": DEMO_CLIENT_ID, "client_secret": secret}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(creds, fh)
    return creds


def init_app(app) -> None:
    app.cli.add_command(dev)

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}
