"""User accounts, their SSO sessions, second factors and mailed one-time codes."""


def init_app(app) -> None:
    from idp.core import outbox

    from . import (
        alerts,
        deletion,
        models,  # noqa: F401  (register the tables)
        recovery_codes,
        services,
        totp,
    )
    from .cli import cli

    outbox.register(services.RESET_KIND, services.deliver_reset)
    totp.register()
    recovery_codes.register()
    deletion.register_deletion_step(app, lambda user: None, totp.forget)
    # A browser signed in for the first time gets the cookie it is recognised by.
    app.after_request(alerts.remember_device)

    app.cli.add_command(cli)
