"""Partner-app registry: the OAuth clients this server knows."""

from .services import ClientCache


def init_app(app) -> None:
    from idp.core.config import ConfigError

    from .schemas import MAX_REUSE_GRACE

    # New apps take this default without validation, so it must already be in bounds.
    if not 0 <= app.config["IDP_REFRESH_REUSE_GRACE_SECONDS"] <= MAX_REUSE_GRACE:
        raise ConfigError(
            f"IDP_REFRESH_REUSE_GRACE_SECONDS must be from 0 to {MAX_REUSE_GRACE} seconds"
        )

    from . import models  # noqa: F401  (register the table)
    from .cli import cli

    # The admin API over the registry needs bearer tokens: idp.crossapp registers it.
    app.extensions["idp_clients"] = ClientCache(app.config["IDP_CLIENT_CACHE_SECONDS"])
    app.cli.add_command(cli)
