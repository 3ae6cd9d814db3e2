"""`flask users ...`: operator commands for accounts."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from idp.core.errors import IdPError

from . import services
from .access import end_all_access

cli = AppGroup("users", help="Manage user accounts.")


def _out(body, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(body, indent=2))
    elif isinstance(body, list):
        for user in body:
            flags = " ".join(
                f
                for f, on in (
                    ("verified", user["email_verified"]),
                    ("admin", user["user_type"] == "admin"),
                    ("disabled", user["disabled"]),
                )
                if on
            )
            click.echo(f"{user['sub']:<24} {user['email']:<40} {flags}")
    else:
        for key, value in body.items():
            click.echo(f"{key:<15} {value}")


def _fail(exc: IdPError, as_json: bool):
    if as_json:
        click.echo(json.dumps(exc.to_dict()))
        raise SystemExit(1)
    raise click.ClickException(exc.description)


@cli.command("create")
@click.option("--email", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", "display_name", default="")
@click.option("--verified", is_flag=True, help="Mark the address as verified.")
@click.option("--admin", is_flag=True, help="user_type admin.")
@click.option("--json", "as_json", is_flag=True)
def create_command(email, password, display_name, verified, admin, as_json):
    """Create an account (no mail is sent)."""
    try:
        user = services.create(email, password, display_name, verified=verified, admin=admin)
    except IdPError as exc:
        _fail(exc, as_json)
    _out(services.to_dict(user), as_json)


@cli.command("list")
@click.option("--limit", default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def list_command(limit, as_json):
    """List accounts."""
    _out([services.to_dict(u) for u in services.list_users(limit)], as_json)


def _toggle(disabled: bool):
    @click.argument("email")
    @click.option("--json", "as_json", is_flag=True)
    def command(email, as_json):
        try:
            user = services.set_disabled(email, disabled)
        except IdPError as exc:
            _fail(exc, as_json)
        if disabled:  # a disabled account loses its sessions and offline access at once
            end_all_access(user.id, "account_disabled")
        _out(services.to_dict(user), as_json)

    command.__doc__ = (
        "Disable an account (ends its sessions)." if disabled else "Re-enable a disabled account."
    )
    return command


cli.command("disable")(_toggle(True))
cli.command("enable")(_toggle(False))
