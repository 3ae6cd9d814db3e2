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


_CONTACT_HELP = "Email address told about the app's integration (a webhook endpoint disabled)."
_BRAND_OPTIONS = (
    click.option("--logo-uri", help="https URL of a logo shown on the app's hosted pages."),
    click.option(
        "--brand-color",
        help="Hex colour of buttons and links on the app's pages (#rrggbb); it must reach "
        "4.5:1 contrast with white text.",
    ),
    click.option("--home-uri", "client_uri", help="https URL of the app's home page."),
    click.option("--privacy-uri", "policy_uri", help="https URL of the app's privacy policy."),
    click.option("--terms-uri", "tos_uri", help="https URL of the app's terms of service."),
)
_BRANDING = ("logo_uri", "brand_color", "client_uri", "policy_uri", "tos_uri")


def _brand_options(command):
    for option in reversed(_BRAND_OPTIONS):
        command = option(command)
    return command


@cli.command("create")
@click.option("--name", required=True, help="Shown to people; unique whatever its case.")
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
# Required: an app with no scopes can do nothing, and no one default fits every app.
@click.option(
    "--scope",
    "scope",
    required=True,
    help="Space-separated allowed scopes, e.g. 'openid profile email' (at least one).",
)
@click.option("--audience", help="Resource identifier put in `aud` (default: the client_id).")
@click.option("--token-lifetime", type=int, help="Access-token lifetime in seconds.")
@click.option("--first-party", is_flag=True, help="Operated by us (may hold the admin scope).")
@click.option("--require-mfa", is_flag=True, help="Every sign-in to it needs a second factor.")
@click.option(
    "--post-logout-redirect-uri",
    "logout_uris",
    multiple=True,
    help="Where RP-initiated logout may return; repeatable.",
)
@_brand_options
@click.option("--contact", "contact_email", help=_CONTACT_HELP)
@click.option("--refresh-reuse-grace", "reuse_grace", type=int, help=_GRACE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON, including the secret.")
def create_command(as_json, **options):
    """Register an app.  A confidential app's secret is printed once, never again."""
    try:
        app, secret = services.register(_registration(**options))
    except IdPError as exc:
        _fail(exc, as_json)
    body = services.to_dict(app)
    if secret:
        body["client_secret"] = secret
    _show(body, as_json)


def _registration(
    name, client_type, client_id, redirect_uris, origins, scope, audience, token_lifetime,
    first_party, logout_uris, reuse_grace, require_mfa=False, **branding,
) -> dict:  # fmt: skip
    """The registration request (as the admin API takes it) the options describe."""
    data = {
        "name": name,
        "type": client_type,
        "redirect_uris": list(redirect_uris),
        "allowed_origins": list(origins),
        "allowed_scopes": scope,
        "first_party": first_party,
        "require_mfa": require_mfa,
    }
    optional = {
        "client_id": client_id or None,
        "audience": audience or None,
        "access_token_lifetime": token_lifetime,
        "post_logout_redirect_uris": list(logout_uris) or None,
        "refresh_reuse_grace_seconds": reuse_grace,
        **{key: branding[key] or None for key in (*_BRANDING, "contact_email")},
    }
    return {**data, **{k: v for k, v in optional.items() if v is not None}}


@cli.command("update")
@click.argument("client_id")
@click.option("--name", help="Shown to people; unique whatever its case.")
@click.option(
    "--redirect-uri",
    "redirect_uris",
    multiple=True,
    help="Repeatable; replaces every registered redirect URI.",
)
@click.option(
    "--origin", "allowed_origins", multiple=True, help="Repeatable; replaces the origins."
)
@click.option("--scope", "allowed_scopes", help="Space-separated; replaces the allowed scopes.")
@click.option("--audience", help="Resource identifier put in `aud`.")
@click.option("--token-lifetime", "access_token_lifetime", type=int, help="Seconds.")
@click.option(
    "--first-party/--third-party", "first_party", default=None, help="Operated by us or not."
)
@click.option(
    "--require-mfa/--no-require-mfa",
    "require_mfa",
    default=None,
    help="Whether every sign-in to it needs a second factor.",
)
@click.option(
    "--post-logout-redirect-uri",
    "post_logout_redirect_uris",
    multiple=True,
    help="Repeatable; replaces the post-logout redirect URIs.",
)
@_brand_options
@click.option("--contact", "contact_email", help=_CONTACT_HELP + " '' removes it.")
@click.option("--refresh-reuse-grace", "refresh_reuse_grace_seconds", type=int, help=_GRACE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (errors too).")
def update_command(client_id, as_json, **options):
    """Change settings of an app; options not given stay as they are.  A list option
    replaces the whole list; an empty branding option (--logo-uri '') removes it."""
    changes = {
        key: list(value) if isinstance(value, tuple) else value
        for key, value in options.items()
        if value not in (None, ())
    }
    if not changes:
        raise click.UsageError("nothing to change: give at least one option (see --help)")
    try:
        app = services.update(client_id, changes)
    except IdPError as exc:
        _fail(exc, as_json)
    _show(services.to_dict(app), as_json)


_LIST_COLUMNS = (("CLIENT_ID", 24), ("TYPE", 12), ("STATUS", 8), ("NAME", 0))


@cli.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_command(as_json):
    """List every registered app, one a line under a header row."""
    apps = [services.to_dict(a) for a in services.list_all()]
    if as_json:
        click.echo(json.dumps(apps, indent=2))
        return
    rows = [[a["client_id"], a["type"], a["status"], a["name"]] for a in apps]
    for row in [[title for title, _ in _LIST_COLUMNS], *rows]:
        cells = (f"{cell:<{width}}" for cell, (_, width) in zip(row, _LIST_COLUMNS, strict=True))
        click.echo(" ".join(cells).rstrip())


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
