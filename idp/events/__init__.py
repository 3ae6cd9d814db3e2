"""Partner events: signed, retried webhooks to partner apps (Standard Webhooks).

Packages below say what happened through ``idp.core.events_hook.emit``; this package
writes the events (``services``) into the same transaction, the outbox delivers them
(``delivery``, kind ``webhook``), and operators manage endpoints by ``flask apps
webhooks`` (``cli``) or the admin API (``routes``).  docs/events.md is the guide.
"""

from __future__ import annotations

from idp.core import events_hook, outbox
from idp.core.extensions import csrf
from idp.users.deletion import register_deletion_step

from . import cli, delivery, listeners, routes, services


def init_app(app) -> None:
    listeners.init_app(app)
    events_hook.register_writer(app, services.write)
    outbox.register(services.KIND, delivery.deliver)
    register_deletion_step(app, lambda user: None, _user_deleted)
    csrf.exempt(routes.bp)  # bearer-token JSON API: no cookies, so no CSRF
    app.register_blueprint(routes.bp)
    # `flask apps webhooks ...`: onto the registry's own group (idp.apps.cli).
    if "apps" in app.cli.commands:
        app.cli.commands["apps"].add_command(cli.webhooks)
    app.cli.add_command(cli.events)


def _user_deleted(user, actor: str) -> None:
    # A deletion step runs before the account is anonymised: the partners still know it
    # by this sub, and this is the last event that names it.
    services.write("user.deleted", user.id, {}, None)
