"""`flask keys ...`: operate the signing-key store."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from . import services
from .errors import KeyDecryptionFailed, RotationNotReady
from .signer import key_cache

cli = AppGroup("keys", help="Manage the RS256 signing keys.")


def _row(key) -> dict:
    def iso(value):
        return value.isoformat() if value else None

    return {
        "kid": key.kid,
        "alg": key.alg,
        "status": key.status,
        "created_at": iso(key.created_at),
        "activated_at": iso(key.activated_at),
        "retired_at": iso(key.retired_at),
        "publish_until": iso(key.publish_until),
    }


@cli.command("rotate")
@click.option(
    "--force",
    is_flag=True,
    help="Promote the next key even if verifiers may not have fetched it yet.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the new active key as JSON.")
def rotate_command(force: bool, as_json: bool) -> None:
    """Promote next -> active, retire the active key, publish a new next key."""
    try:
        key = services.rotate(force=force)
    except RotationNotReady as exc:
        raise click.ClickException(exc.description) from None
    key_cache().invalidate()
    click.echo(json.dumps(_row(key)) if as_json else f"active key is now {key.kid}")


@cli.command("ensure")
def ensure_command() -> None:
    """Create the first keys if there are none (idempotent)."""
    services.ensure_active()
    click.echo(f"active key {services.active_kid()}")


@cli.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_command(as_json: bool) -> None:
    """List every stored key with its lifecycle timestamps."""
    rows = [_row(k) for k in services.all_keys()]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(
            f"{row['kid']}  {row['status']:8}  created {row['created_at']}  "
            f"publish_until {row['publish_until'] or '-'}"
        )


@cli.command("rewrap")
def rewrap_command() -> None:
    """Re-encrypt every private key under the first key of IDP_KEY_ENCRYPTION_KEY.

    Rotation of the key-encryption key: set IDP_KEY_ENCRYPTION_KEY=new,old on every node,
    run this, then drop the old key (docs/deploy.md)."""
    try:
        resealed, current = services.rewrap()
    except KeyDecryptionFailed as exc:
        raise click.ClickException(f"{exc.description} Nothing was changed.") from None
    click.echo(f"re-sealed {resealed} key(s); {current} already under the current key")
