"""Cross-app APIs: the seed's contract endpoints, per-app user metadata and roles, and
the registry's admin API."""


def init_app(app) -> None:
    from idp.core.extensions import csrf
    from idp.oauth2.tokens import register_claims_hook

    from . import (
        admin,
        models,  # noqa: F401  (register the tables)
    )
    from .routes import bp
    from .services import role_claims

    register_claims_hook(app, role_claims)
    for blueprint in (admin.bp, bp):
        csrf.exempt(blueprint)  # bearer-token JSON APIs: no cookies, so no CSRF
        app.register_blueprint(blueprint)
