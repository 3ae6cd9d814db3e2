"""`flask audit tail`: read the security log."""

from __future__ import annotations

import json
import time

import click
from flask.cli import AppGroup

from idp.core.extensions import db

from . import services

cli = AppGroup("audit", help="Security audit log.")


@cli.command("tail")
@click.option("-n", "limit", default=20, show_default=True, help="How many recent events.")
@click.option("--event", help="Only this event type, e.g. login.failed.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new events.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def tail_command(limit, event, follow, as_json):
    """Print the most recent security events, oldest first."""
    last = 0
    while True:
        for row in services.tail(limit, last, event):
            item = services.to_dict(row)
            click.echo(
                json.dumps(item)
                if as_json
                else f"{item['at']}  {item['event']:<34} user={item['user_id'] or '-'} "
                f"client={item['client_id'] or '-'} ip={item['ip'] or '-'} "
                f"{json.dumps(item['detail']) if item['detail'] else ''}".rstrip()
            )
            last = row.id
        if not follow:
            return
        db.session.remove()
        time.sleep(1)
        limit = 1000
