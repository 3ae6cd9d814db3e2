"""Partner-app registry: the OAuth clients this server knows."""

from .services import ClientCache


def init_app(app) -> None:
    from idp.extensions import csrf

    from . import models  # noqa: F401  (register the table)
    from .cli import cli
    from .routes import bp

    app.extensions["idp_clients"] = ClientCache(app.config["IDP_CLIENT_CACHE_SECONDS"])
    csrf.exempt(bp)  # bearer-token JSON API: no cookies, so no CSRF
    app.register_blueprint(bp)
    app.cli.add_command(cli)
