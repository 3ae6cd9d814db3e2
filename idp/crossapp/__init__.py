"""Cross-app APIs: the seed's contract endpoints, per-app user metadata and roles."""


def init_app(app) -> None:
    from idp.core.extensions import csrf

    from . import models  # noqa: F401  (register the tables)
    from .routes import bp

    csrf.exempt(bp)  # bearer-token JSON API: no cookies, so no CSRF
    app.register_blueprint(bp)
