"""Credit wallet: immutable ledger, scope-guarded credit API, Stripe payments."""


def init_app(app) -> None:
    from idp.extensions import csrf

    from . import models  # noqa: F401  (register the tables)
    from .cli import cli
    from .routes import bp

    csrf.exempt(bp)  # bearer-token JSON API: no cookies, so no CSRF
    app.register_blueprint(bp)
    app.cli.add_command(cli)
