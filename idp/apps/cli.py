"""`flask apps ...`: register and operate partner apps from a shell or a script."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from idp.core.errors import IdPError

from . import services
from .models import ACTIVE

cli = AppGroup("apps", help="Manage partner apps (OAuth clients).")
_GRACE_HELP = (
    "Seconds (0-60, default 0) in which a rotated refresh token presented again "
    "supersedes its successor instead of revoking the family; for public apps whose "
    "tabs may race."
)


def _fail(exc: IdPError, as_json: bool):
    if as_json:
        click.echo(json.dumps(exc.to_dict()))
        raise SystemExit(1)
    raise click.ClickException(f"{exc.error}: {exc.description}")


def _show(body: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(body, indent=2))
        return
    width = max(len(k) for k in body)
    for key, value in body.items():
        shown = " ".join(value) if isinstance(value, list) else value
        click.echo(f"{key:<{width}}  {shown}")


@cli.command("create")
@click.option("--name", required=True)
@click.option(
    "--type",
    "client_type",
    type=click.Choice(["confidential", "public"]),
    default="confidential",
    show_default=True,
)
@click.option("--client-id", help="Choose the client_id (default: generated).")
@click.option("--redirect-uri", "redirect_uris", multiple=True, help="Repeatable; exact match.")
@click.option("--origin", "origins", multiple=True, help="Allowed web origin; repeatable.")
@click.option("--scope", "scope", default="", help="Space-separated allowed scopes.")
@click.option("--audience", help="Resource identifier put in `aud` (default: the client_id).")
@click.option("--token-lifetime", type=int, help="Access-token lifetime in seconds.")
@click.option("--first-party", is_flag=True, help="Operated by us (may hold the admin scope).")
@click.option(
    "--post-logout-redirect-uri",
    "logout_uris",
    multiple=True,
    help="Where RP-initiated logout may return; repeatable.",
)
@click.option("--logo-uri", help="https URL of a logo shown on hosted pages.")
@click.option("--refresh-reuse-grace", "reuse_grace", type=int, help=_GRACE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON, including the secret.")
def create_command(as_json, **options):
    """Register an app.  A confidential app's secret is printed once, never again."""
    try:
        app, secret = services.create(_registration(**options))
    except IdPError as exc:
        _fail(exc, as_json)
    body = services.to_dict(app)
    if secret:
        body["client_secret"] = secret
    _show(body, as_json)


def _registration(
    name, client_type, client_id, redirect_uris, origins, scope, audience, token_lifetime,
    first_party, logout_uris, logo_uri, reuse_grace,
) -> dict:  # fmt: skip
    """The registration request (as the admin API takes it) the options describe."""
    data = {
        "name": name,
        "type": client_type,
        "redirect_uris": list(redirect_uris),
        "allowed_origins": list(origins),
        "allowed_scopes": scope,
        "first_party": first_party,
    }
    optional = {
        "client_id": client_id or None,
        "audience": audience or None,
        "access_token_lifetime": token_lifetime,
        "post_logout_redirect_uris": list(logout_uris) or None,
        "logo_uri": logo_uri or None,
        "refresh_reuse_grace_seconds": reuse_grace,
    }
    return {**data, **{k: v for k, v in optional.items() if v is not None}}


@cli.command("update")
@click.argument("client_id")
@click.option("--name")
@click.option("--token-lifetime", type=int, help="Access-token lifetime in seconds.")
@click.option("--refresh-reuse-grace", "reuse_grace", type=int, help=_GRACE_HELP)
@click.option("--json", "as_json", is_flag=True)
def update_command(client_id, name, token_lifetime, reuse_grace, as_json):
    """Change settings of an app; options not given stay as they are."""
    given = {
        "name": name,
        "access_token_lifetime": token_lifetime,
        "refresh_reuse_grace_seconds": reuse_grace,
    }
    try:
        app = services.update(client_id, {k: v for k, v in given.items() if v is not None})
    except IdPError as exc:
        _fail(exc, as_json)
    _show(services.to_dict(app), as_json)


@cli.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_command(as_json):
    """List every registered app."""
    apps = [services.to_dict(a) for a in services.list_all()]
    if as_json:
        click.echo(json.dumps(apps, indent=2))
        return
    for app in apps:
        click.echo(f"{app['client_id']:<24} {app['type']:<12} {app['status']:<8} {app['name']}")


def _one(action):
    @click.argument("client_id")
    @click.option("--json", "as_json", is_flag=True)
    def command(client_id, as_json):
        try:
            body = action(client_id)
        except IdPError as exc:
            _fail(exc, as_json)
        _show(body, as_json)

    command.__doc__ = action.__doc__
    return command


def _show_app(client_id):
    """Show one app."""
    return services.to_dict(services.get(client_id))


def _rotate(client_id):
    """Issue a new client secret (printed once); the old one stops working at once."""
    app, secret = services.rotate_secret(client_id)
    return {**services.to_dict(app), "client_secret": secret}


def _disable(client_id):
    """Disable an app: its credentials and tokens stop working."""
    return services.to_dict(services.disable(client_id))


def _enable(client_id):
    """Re-enable a disabled app."""
    return services.to_dict(services.set_status(client_id, ACTIVE))


cli.command("show")(_one(_show_app))
cli.command("rotate-secret")(_one(_rotate))
cli.command("disable")(_one(_disable))
cli.command("enable")(_one(_enable))
