"""`flask wallet ...`: audit, grants and adjustments, holds, the catalogue."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from idp.core.errors import IdPError
from idp.users import services as users

from . import audit, holds, ledger, packages, schemas, services
from .errors import WalletError
from .models import PROMO_GRANT

cli = AppGroup("wallet", help="Credit wallets.")
packages_cli = AppGroup("packages", help="Credit packages and plans on sale.")
cli.add_command(packages_cli)


def _fail(exc: IdPError):
    raise click.ClickException(f"{exc.error}: {exc.description}")


def _wallet(email: str):
    user = users.by_email(users.normalise_email(email))
    if user is None:
        raise click.ClickException(f"no account has the address {email}")
    return ledger.wallet_for(user.id)


@cli.command("audit")
@click.option("--json", "as_json", is_flag=True)
def audit_command(as_json):
    """Recompute every balance from the ledger; exit 1 on any difference."""
    problems = audit.reconcile()
    if as_json:
        click.echo(json.dumps({"problems": problems}, indent=2))
    elif problems:
        for problem in problems:
            click.echo(f"MISMATCH {json.dumps(problem)}")
    else:
        click.echo("ledger audit: every wallet matches its ledger")
    if problems:
        raise SystemExit(1)


@cli.command("grant")
@click.option("--email", required=True)
@click.option("--credits", "amount", type=int, required=True)
@click.option("--reason", required=True, help="Why (kept in the ledger).")
@click.option("--actor", default="admin:cli", show_default=True)
def grant_command(email, amount, reason, actor):
    """Give promotional credits."""
    try:
        schemas.positive_amount(amount, "credits")
        if not reason.strip():
            raise WalletError("a reason is required", field="reason")
        entry, _ = services.grant(_wallet(email), amount, PROMO_GRANT, actor, reason=reason.strip())
    except IdPError as exc:
        _fail(exc)
    click.echo(f"granted {amount} credits; balance {entry.balance_after}")


@cli.command("adjust")
@click.option("--email", required=True)
@click.option("--amount", type=int, required=True, help="Signed number of credits.")
@click.option("--reason", required=True)
@click.option("--actor", default="admin:cli", show_default=True)
def adjust_command(email, amount, reason, actor):
    """Correct a balance with a new ledger entry (never by editing one)."""
    try:
        entry = services.adjust(_wallet(email), amount, reason, actor)
    except IdPError as exc:
        _fail(exc)
    click.echo(f"adjusted by {amount}; balance {entry.balance_after}")


@cli.command("expire-holds")
def expire_holds_command():
    """Release every expired hold (run from cron; reads also do it lazily)."""
    click.echo(f"released {holds.expire_holds()} expired holds")


@packages_cli.command("create")
@click.option("--id", "package_id", required=True)
@click.option("--name", required=True)
@click.option("--credits", type=int, required=True)
@click.option("--price", type=int, required=True, help="Price in minor units (cents).")
@click.option("--currency", default="usd", show_default=True)
@click.option("--stripe-price-id", help="The Stripe Price to charge.")
@click.option(
    "--interval",
    type=click.Choice(["month", "year"]),
    help="Make it a subscription plan granting the credits every period.",
)
def create_package_command(package_id, name, credits, price, currency, stripe_price_id, interval):
    """Put a package (or plan) on sale."""
    try:
        package = packages.create(
            package_id, name, credits, price, currency, stripe_price_id, interval
        )
    except IdPError as exc:
        _fail(exc)
    click.echo(json.dumps(packages.to_dict(package)))


@packages_cli.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_packages_command(as_json):
    """List every package, on sale or not."""
    rows = [
        {**packages.to_dict(p), "active": p.active, "stripe_price_id": p.stripe_price_id}
        for p in packages.all_packages()
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(
            f"{row['id']:<20} {row['credits']:>8} credits  {row['price']:>8} "
            f"{row['currency']}  {row['interval'] or 'one-off':<8} "
            f"{'active' if row['active'] else 'inactive'}"
        )


@packages_cli.command("deactivate")
@click.argument("package_id")
def deactivate_package_command(package_id):
    """Stop selling a package (existing purchases are unaffected)."""
    try:
        packages.set_active(package_id, False)
    except IdPError as exc:
        _fail(exc)
    click.echo(f"{package_id} is no longer on sale")
