"""User accounts, their SSO sessions and mailed one-time codes."""


def init_app(app) -> None:
    from . import models  # noqa: F401  (register the tables)
    from .cli import cli

    app.cli.add_command(cli)
