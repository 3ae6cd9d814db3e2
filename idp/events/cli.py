"""`flask apps webhooks ...` (registered onto the apps group) and `flask events deliver`."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from idp.core import outbox
from idp.core.errors import IdPError
from idp.core.extensions import db

from . import endpoints, services

webhooks = AppGroup("webhooks", help="Partner webhook endpoints and their events.")
events = AppGroup("events", help="Partner events.")


def _run(as_json: bool, work):
    """Run ``work`` (it returns the body to show), commit, print; errors as the API's."""
    try:
        body = work()
        outbox.commit()
    except IdPError as exc:
        db.session.rollback()
        if as_json:
            click.echo(json.dumps(exc.to_dict()))
            raise SystemExit(1) from None
        raise click.ClickException(f"{exc.error}: {exc.description}") from None
    if as_json:
        click.echo(json.dumps(body, indent=2))
    else:
        for key, value in body.items() if isinstance(body, dict) else enumerate(body):
            click.echo(f"{key}  {value}")


_JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
_CONTACT = click.option(
    "--contact-email", help="Deprecated: sets the app's contact (flask apps update --contact)."
)
_LOW = click.option(
    "--low-balance-threshold", type=int, help="credits.low fires below this many credits."
)


@webhooks.command("add")
@click.argument("client_id")
@click.option("--url", required=True, help="https URL that receives the events.")
@click.option(
    "--events", "types", help="Comma-separated event types (default: all but credits.consumed)."
)
@_CONTACT
@_LOW
@_JSON
def add(client_id, url, types, contact_email, low_balance_threshold, as_json):
    """Register an endpoint; prints its id and its secret (shown only this once)."""

    def work():
        endpoint, secret = endpoints.add(
            client_id,
            url,
            types,
            contact_email=contact_email,
            low_balance_threshold=low_balance_threshold,
        )
        db.session.flush()
        return {**endpoints.to_dict(endpoint), "secret": secret}

    _run(as_json, work)


@webhooks.command("list")
@click.argument("client_id")
@_JSON
def list_(client_id, as_json):
    """The app's endpoints."""
    _run(as_json, lambda: [endpoints.to_dict(e) for e in endpoints.for_app(client_id)])


@webhooks.command("remove")
@click.argument("endpoint_id")
@_JSON
def remove(endpoint_id, as_json):
    """Delete an endpoint (its pending deliveries are dropped)."""
    _run(as_json, lambda: endpoints.remove(endpoint_id) or {"removed": endpoint_id})


@webhooks.command("rotate-secret")
@click.argument("endpoint_id")
@_JSON
def rotate_secret(endpoint_id, as_json):
    """A new secret, at once; prints it (shown only this once)."""

    def work():
        endpoint, secret = endpoints.rotate_secret(endpoint_id)
        return {**endpoints.to_dict(endpoint), "secret": secret}

    _run(as_json, work)


@webhooks.command("update")
@click.argument("endpoint_id")
@click.option("--events", "types", help="Comma-separated event types: replaces the list.")
@_CONTACT
@_LOW
@click.option("--enable", is_flag=True, help="Re-enable an endpoint disabled after failures.")
@_JSON
def update(endpoint_id, types, contact_email, low_balance_threshold, enable, as_json):
    """Change the event types or the credits.low threshold, or re-enable the endpoint."""
    options = {"contact_email": contact_email, "low_balance_threshold": low_balance_threshold}
    options["events"] = types
    changed = lambda: endpoints.to_dict(  # noqa: E731
        endpoints.update(endpoint_id, **options, enable=enable)
    )
    _run(as_json, changed)


@webhooks.command("replay")
@click.argument("event_id")
@_JSON
def replay(event_id, as_json):
    """Send an event again (the same webhook-id) to its app's endpoints."""
    _run(as_json, lambda: {"event": event_id, "endpoints": services.replay(event_id)})


@events.command("deliver")
def deliver():
    """Deliver every due outbox message now (webhooks and mail alike): for cron or a
    separate process when IDP_OUTBOX_DELIVERY=cli."""
    click.echo(f"delivered {outbox.drain()}")


@events.command("rewrap")
def rewrap():
    """Re-seal every webhook secret under the first IDP_KEY_ENCRYPTION_KEY: run it with
    `flask keys rewrap` when rotating that key, before the old key is dropped."""
    changed = endpoints.rewrap()
    outbox.commit()
    click.echo(f"re-sealed {changed} webhook secrets")
