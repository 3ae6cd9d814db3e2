"""RSA signing-key store: encrypted at rest, rotated, published as a JWKS."""

from .signer import KeyCache


def init_app(app) -> None:
    from idp.core.extensions import csrf

    from . import models  # noqa: F401  (register the table)
    from .cli import cli
    from .routes import bp

    app.extensions["idp_keys"] = KeyCache(
        app.config["IDP_KEY_REFRESH_SECONDS"], app.config["IDP_KEY_UNKNOWN_KID_RELOAD_SECONDS"]
    )
    csrf.exempt(bp)  # bearer-token JSON API: no cookies, so no CSRF
    app.register_blueprint(bp)
    app.cli.add_command(cli)
