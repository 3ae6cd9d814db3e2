"""User accounts, their SSO sessions and mailed one-time codes."""


def init_app(app) -> None:
    from idp.core import outbox

    from . import (
        models,  # noqa: F401  (register the tables)
        services,
    )
    from .cli import cli

    outbox.register(services.RESET_KIND, services.deliver_reset)

    app.cli.add_command(cli)
