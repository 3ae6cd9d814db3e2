"""OAuth 2.0 / OpenID Connect protocol layer on top of Authlib."""


def init_app(app) -> None:
    from . import (
        models,  # noqa: F401  (register the tables)
        server,
    )
    from .routes import bp

    server.init_app(app)
    app.register_blueprint(bp)
