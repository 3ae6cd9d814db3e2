"""Security audit log."""


def init_app(app) -> None:
    from . import models  # noqa: F401  (register the table)
    from .cli import cli

    app.cli.add_command(cli)
