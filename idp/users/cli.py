"""`flask users ...`: operator commands for accounts."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from idp.core.errors import IdPError, NotFound

from . import admin, deletion, factors, services
from .access import end_all_access

cli = AppGroup("users", help="Manage user accounts.")

_LIST_ROW = "{:<24} {:<40} {}"


def _flags(user: dict) -> str:
    on = (
        ("verified", user["email_verified"]),
        ("admin", user["user_type"] == "admin"),
        ("disabled", user["disabled"]),
    )
    return " ".join(flag for flag, set_ in on if set_)


def _out(body, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(body, indent=2))
    elif isinstance(body, list):
        click.echo(_LIST_ROW.format("SUB", "EMAIL", "FLAGS"))
        for user in body:
            click.echo(_LIST_ROW.format(user["sub"], user["email"], _flags(user)))
    else:
        for key, value in body.items():
            click.echo(f"{key:<15} {value}")


def _fail(exc: IdPError, as_json: bool):
    if as_json:
        click.echo(json.dumps(exc.to_dict()))
        raise SystemExit(1)
    raise click.ClickException(exc.description)


def _checked_email(ctx: click.Context, _param, email: str) -> str:
    """Refuse a bad address before the password prompt (--email is processed first when
    given on the command line; --json is eager so its choice is known here)."""
    try:
        return services.normalise_email(email)
    except IdPError as exc:
        _fail(exc, ctx.params.get("as_json", False))


def _account(email: str, as_json: bool):
    try:
        return admin.find(email)
    except IdPError as exc:
        _fail(exc, as_json)


_json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@cli.command("create")
@click.option("--email", required=True, callback=_checked_email)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", "display_name", default="")
@click.option("--verified", is_flag=True, help="Mark the address as verified.")
@click.option("--admin", is_flag=True, help="user_type admin.")
@click.option("--json", "as_json", is_flag=True, is_eager=True, help="Print JSON.")
def create_command(email, password, display_name, verified, admin, as_json):
    """Create an account (no mail is sent)."""
    try:
        user = services.create(email, password, display_name, verified=verified, admin=admin)
    except IdPError as exc:
        _fail(exc, as_json)
    _out(services.to_dict(user), as_json)


@cli.command("list")
@click.option("--limit", default=100, show_default=True)
@_json_option
def list_command(limit, as_json):
    """List accounts."""
    _out([services.to_dict(u) for u in services.list_users(limit)], as_json)


@cli.command("show")
@click.argument("email")
@_json_option
def show_command(email, as_json):
    """Show one account and how many browsers are signed in to it."""
    user = _account(email, as_json)
    _out({**services.to_dict(user), "active_sessions": admin.active_sessions(user)}, as_json)


@cli.command("verify")
@click.argument("email")
@click.option("--actor", default="admin:cli", show_default=True, help="Who (audit log).")
@_json_option
def verify_command(email, actor, as_json):
    """Mark an account's address as verified (you checked it another way)."""
    user = _account(email, as_json)
    changed = admin.mark_verified(user, actor)
    if not as_json and not changed:
        click.echo(f"{user.email} was already verified")
        return
    _out(services.to_dict(user), as_json)


_DELETION_FACTS = (
    "Its address, name, password and subject identifier are replaced: nobody can sign in "
    "to it, and apps no longer know it.",
    "Every session and refresh token ends now.",
    "Its ledger and audit history are kept, without the name or address.",
)


def _deletion_notice(user, consequences: list[str]) -> str:
    said = consequences or ["It holds no credits: nothing is forfeited."]
    lines = [f"Deleting the account {user.email} (sub {user.sub}):"]
    lines += [f"  - {fact}" for fact in (*_DELETION_FACTS, *said)]
    return "\n".join(lines)


@cli.command("delete")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--actor", default="operator:cli", show_default=True, help="Who (audit, ledger).")
@_json_option
def delete_command(email, yes, actor, as_json):
    """Delete an account: anonymise it, forfeit its credits (ledger kept), end its access."""
    user = _account(email, as_json)
    if deletion.is_deleted(user):
        _fail(NotFound("That account was already deleted."), as_json)
    before = {"email": user.email, "sub": user.sub}
    consequences = deletion.consequences(user)
    # The notice and prompt go to stderr so that --json output stays one JSON document.
    click.echo(_deletion_notice(user, consequences), err=True)
    if not yes:
        click.confirm("Delete this account?", abort=True, err=True)
    deletion.delete_account(user, actor)
    if as_json:
        body = {"deleted": before, "consequences": consequences, **services.to_dict(user)}
        click.echo(json.dumps(body, indent=2))
    else:
        click.echo(f"deleted {before['email']}; the account is now {user.email}")


def _toggle(disabled: bool):
    @click.argument("email")
    @_json_option
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


mfa = AppGroup("mfa", help="Second factors of accounts (support).")
cli.add_command(mfa)


@mfa.command("reset")
@click.option("--email", required=True, help="The account's address.")
@click.option("--actor", default="support:cli", show_default=True, help="Who (audit log).")
@_json_option
def mfa_reset_command(email, actor, as_json):
    """Remove every second factor and recovery code of an account (its owner lost them
    and proved who they are another way); audited, and the owner is mailed."""
    user = _account(email, as_json)
    removed = factors.support_reset(user, actor)
    if as_json:
        click.echo(json.dumps({"email": user.email, "removed": removed}))
    elif removed:
        click.echo(f"removed from {user.email}: {', '.join(removed)}")
    else:
        click.echo(f"{user.email} had no second factor")
