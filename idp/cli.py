"""`flask dev ...`: development conveniences used by `make run`; `flask mail send`;
the health route."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from keys import services as key_services

from . import demo
from .core import outbox

dev = AppGroup("dev", help="Development helpers.")
mail = AppGroup("mail", help="Outgoing mail (the outbox).")


@mail.command("send")
def send_command() -> None:
    """Deliver every due message of the outbox now (cron, or IDP_OUTBOX_DELIVERY=cli)."""
    click.echo(f"{outbox.drain()} message(s) delivered")


@dev.command("bootstrap")
def bootstrap_command() -> None:
    """Create signing keys and the demo partner app, then print how to try them."""
    if current_app.config["IDP_ENV"] == "production":
        raise click.ClickException("dev bootstrap is for development only")
    key_services.ensure_active()
    creds = demo.credentials()
    demo.seed_packages()
    issuer = current_app.config["IDP_ISSUER"]
    click.echo(f"""
Demo partner app (credentials kept in instance/demo_app.json):
  client_id:     {creds["client_id"]}
  client_secret: {creds["client_secret"]}

Sign up as a new user through the demo app (verification codes appear in this log):
  {demo.authorize_url(prompt="create")}
Or sign in:
  {demo.authorize_url()}
New credit account straight to the purchase page (payments: {current_app.config["IDP_PAYMENTS"]}):
  {demo.authorize_url(prompt="create", next="purchase")}

Client-credentials token:
  curl -s -u {creds["client_id"]}:{creds["client_secret"]} \\
       -d grant_type=client_credentials {issuer}/oauth/token

Discovery: {issuer}/.well-known/openid-configuration
Account:   {issuer}/account
""")


def init_app(app) -> None:
    app.cli.add_command(dev)
    app.cli.add_command(mail)
    demo.init_app(app)
