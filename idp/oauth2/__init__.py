"""OAuth 2.0 / OpenID Connect protocol layer on top of Authlib."""


def init_app(app) -> None:
    from idp.users.access import register_access_ender

    from . import (
        models,  # noqa: F401  (register the tables)
        server,
        services,
    )
    from .routes import bp, browser

    # Ending a user's access everywhere ends their apps' offline access too.
    register_access_ender(app, services.revoke_user_grants)
    register_access_ender(app, services.forget_consents)
    server.init_app(app)
    app.register_blueprint(bp)
    app.register_blueprint(browser)
