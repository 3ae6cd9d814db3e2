"""Hosted pages: server-rendered, no third-party assets, errors shown in the page."""


def init_app(app) -> None:
    from idp.core.errors import register_page_renderer

    from . import account  # noqa: F401  (registers its routes on the blueprint)
    from .routes import bp
    from .views import error_page

    app.register_blueprint(bp)
    register_page_renderer(app, error_page)
