"""Hosted pages: server-rendered, no third-party assets, errors shown in the page."""


def init_app(app) -> None:
    from . import account  # noqa: F401  (registers its routes on the blueprint)
    from .routes import bp

    app.register_blueprint(bp)
