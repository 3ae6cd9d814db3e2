"""`flask wallet ...`: a wallet's state, audit, grants and adjustments, holds, the catalogue."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from idp.core.errors import IdPError, NotFound
from idp.users import services as users

from . import audit, holds, ledger, lookup, lots, packages, schemas, services
from .errors import WalletError

cli = AppGroup("wallet", help="Credit wallets.")
packages_cli = AppGroup("packages", help="Credit packages and plans on sale.")
cli.add_command(packages_cli)


_json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
_ENTRY_ROW = "{:>8}  {:<14} {:>8} {:>8} {:>9}  {:<24} {:<19}  {}"
_PACKAGE_ROW = "{:<20} {:>8}  {:>8} {:<8}  {:<8} {}"


def _fail(exc: IdPError, as_json: bool = False):
    if as_json:
        click.echo(json.dumps(exc.to_dict()))
        raise SystemExit(1)
    raise click.ClickException(f"{exc.error}: {exc.description}")


def _user(email: str):
    user = users.by_email(users.normalise_email(email))
    if user is None:
        raise NotFound(f"no account has the address {email}")
    return user


def _wallet(email: str):
    return ledger.wallet_for(_user(email).id)


def _changed(entry, as_json: bool, text: str) -> None:
    """What a grant or an adjustment left: the entry and the wallet's state."""
    if as_json:
        body = {**services.after(entry), "entry": schemas.entry_to_dict(entry)}
        click.echo(json.dumps(body, indent=2))
    else:
        click.echo(text)


@cli.command("show")
@click.option("--email", required=True)
@click.option("--limit", default=10, show_default=True, help="How many recent entries.")
@_json_option
def show_command(email, limit, as_json):
    """Balance, held and available credits and the latest ledger entries of one account."""
    try:
        user = _user(email)
    except IdPError as exc:
        _fail(exc, as_json)
    wallet = lookup.existing_wallet(user.id)
    state = services.summary(wallet) if wallet else {"balance": 0, "held": 0, "available": 0}
    rows = services.transactions(wallet, limit=max(limit, 0)) if wallet else []
    entries = [schemas.entry_to_dict(entry) for entry in rows]
    held_in = [lots.lot_to_dict(lot) for lot in lots.holding(wallet.id)] if wallet else []
    if as_json:
        body = {"email": user.email, "sub": user.sub, **state, "lots": held_in}
        click.echo(json.dumps({**body, "entries": entries}, indent=2))
        return
    click.echo(f"{user.email} ({user.sub})")
    for key, value in state.items():
        click.echo(f"{key:<10} {value}")
    _print_lots(held_in)
    _print_entries(entries)


_LOT_ROW = "{:>8}  {:<12} {:>8} {:>9} {:>9}  {}"


def _print_lots(held_in: list[dict]) -> None:
    """The lots holding the balance, in the order they are drawn."""
    if not held_in:
        return
    click.echo("lots holding credits, in the order they are drawn:")
    click.echo(_LOT_ROW.format("LOT", "CATEGORY", "PRIORITY", "REMAINING", "AMOUNT", "EXPIRES"))
    for lot in held_in:
        expires = lot["expires_at"][:19] if lot["expires_at"] else "never"
        row = (lot["id"], lot["category"], lot["priority"], lot["remaining"], lot["amount"])
        click.echo(_LOT_ROW.format(*row, expires))


_ENTRY_COLUMNS = ("ID", "KIND", "AMOUNT", "HELD", "BALANCE", "CLIENT", "CREATED", "REASON")


def _print_entries(entries: list[dict]) -> None:
    if not entries:
        click.echo("no ledger entries")
        return
    click.echo(f"latest {len(entries)} entries, newest first:")
    click.echo(_ENTRY_ROW.format(*_ENTRY_COLUMNS))
    for e in entries:
        created = e["created_at"][:19]  # to the second: enough to tell entries apart
        row = (e["id"], e["kind"], e["amount"], e["held_delta"], e["balance_after"])
        click.echo(_ENTRY_ROW.format(*row, e["client_id"] or "-", created, e["reason"] or ""))


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
@click.option(
    "--expires-in-days",
    type=click.IntRange(0, 36500),
    help="Days until the credits expire (0: never; default IDP_WALLET_PROMO_EXPIRY_DAYS).",
)
@click.option(
    "--priority",
    type=click.IntRange(-1000, 1000),
    default=0,
    show_default=True,
    help="Lower is spent first (before the expiry order).",
)
@_json_option
def grant_command(email, amount, reason, actor, expires_in_days, priority, as_json):
    """Give promotional credits (a lot; partner event credits.granted)."""
    try:
        schemas.positive_amount(amount, "credits")
        if not reason.strip():
            raise WalletError("a reason is required", field="reason")
        entry = services.operator_grant(
            _wallet(email),
            amount,
            reason.strip(),
            actor,
            expires_in_days=expires_in_days,
            priority=priority,
        )
    except IdPError as exc:
        _fail(exc, as_json)
    _changed(entry, as_json, f"granted {amount} credits; balance {entry.balance_after}")


@cli.command("adjust")
@click.option("--email", required=True)
@click.option("--amount", type=int, required=True, help="Signed number of credits.")
@click.option("--reason", required=True)
@click.option("--actor", default="admin:cli", show_default=True)
@_json_option
def adjust_command(email, amount, reason, actor, as_json):
    """Correct a balance with a new ledger entry (never by editing one)."""
    try:
        entry = services.adjust(_wallet(email), amount, reason, actor)
    except IdPError as exc:
        _fail(exc, as_json)
    _changed(entry, as_json, f"adjusted by {amount}; balance {entry.balance_after}")


@cli.command("expire")
@_json_option
def expire_command(as_json):
    """Expire credit lots past their expiry (run from cron; reads also do it lazily)."""
    expired = ledger.expire()
    if as_json:
        click.echo(json.dumps({"expired_credits": expired}))
        return
    click.echo(f"expired {expired} credits")


@cli.command("catch-up-lots")
@_json_option
def catch_up_command(as_json):
    """Give entries written without lots (by the deploy before migration 0008, during the
    rollout) their lots and draws; run once the previous deploy is gone."""
    caught_up = lots.catch_up_all()
    if as_json:
        click.echo(json.dumps({"caught_up_entries": caught_up}))
        return
    click.echo(f"gave {caught_up} entries written without lots their lots or draws")


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
    click.echo(_PACKAGE_ROW.format("ID", "CREDITS", "PRICE", "CURRENCY", "INTERVAL", "STATUS"))
    for row in rows:
        click.echo(
            _PACKAGE_ROW.format(
                row["id"],
                row["credits"],
                row["price"],
                row["currency"],
                row["interval"] or "one-off",
                "active" if row["active"] else "inactive",
            )
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
