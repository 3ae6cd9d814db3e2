"""Identity provider: the Flask application factory."""

from __future__ import annotations

import os
from collections.abc import Mapping

from flask import Flask


def create_app(config: Mapping[str, object] | None = None) -> Flask:
    """Build the app: defaults -> environment -> ``config``, then every package's init_app."""
    from .core import config as config_module
    from .core.http import CookieSessions, IdPRequest

    instance = (config or {}).get("IDP_INSTANCE_PATH") or os.environ.get("IDP_INSTANCE_PATH")
    app = Flask(__name__, instance_path=instance or None, instance_relative_config=True)
    app.request_class = IdPRequest
    app.session_interface = CookieSessions()
    config_module.load(app, config)
    _configure_logging(app)
    if proxies := app.config["IDP_TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    _init_core(app)
    _init_packages(app)
    return app


def _init_core(app: Flask) -> None:
    """Extensions and the request-wide hooks, in the order they must run."""
    from . import cors, security
    from .core import handlers, i18n, input_guard, logs, mail, redis_client
    from .core.extensions import csrf, db, migrate

    logs.init_app(app)  # its after_request hook runs last: it logs the final status
    db.init_app(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()))
    redis_client.init_app(app)
    mail.init_app(app)  # the outbox and its mail delivery (a worker thread or the request)
    handlers.init_app(app)
    i18n.init_app(app)
    # The first before_request hook: nothing reads the request before it.
    # The reset page hashes its token before any query: it may say "ask for a new link".
    input_guard.init_app(app, own_path_checks={"pages.reset"})
    security.init_app(app)
    csrf.init_app(app)
    cors.init_app(app)


def _init_packages(app: Flask) -> None:
    """Every package, lower layers first (a higher one fills the hooks of the lower)."""
    import keys
    import wallet

    from . import (
        apps,
        audit,
        cli,
        crossapp,
        events,
        health,
        metrics,
        oauth2,
        openapi,
        pages,
        ratelimit,
        users,
    )

    packages = (keys, apps, users, audit, oauth2, crossapp, pages, wallet, events, openapi)
    packages += (health,)
    packages += (metrics, cli)
    for package in packages:
        package.init_app(app)
    ratelimit.init_app(app)  # wraps views, so after every blueprint is registered


def _migrations_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"


def _configure_logging(app: Flask) -> None:
    """Text lines in development, JSON in production, unless ``IDP_LOG_FORMAT`` says."""
    from .core import logs

    default = "json" if app.config["IDP_ENV"] == "production" else "text"
    logs.configure(app.config["IDP_LOG_LEVEL"], logs.setting(app, "IDP_LOG_FORMAT", default))
