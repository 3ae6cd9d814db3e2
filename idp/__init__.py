"""Identity provider: the Flask application factory."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from flask import Flask


def create_app(config: Mapping[str, object] | None = None) -> Flask:
    """Build the app: defaults -> environment -> ``config``, then every package's init_app."""
    import keys
    import wallet

    from . import apps, cli, config as config_module, errors, oauth2, redis_client, security
    from .extensions import db, migrate

    instance = (config or {}).get("IDP_INSTANCE_PATH") or os.environ.get("IDP_INSTANCE_PATH")
    app = Flask(__name__, instance_path=instance or None, instance_relative_config=True)
    config_module.load(app, config)
    logging.getLogger("idp").setLevel(app.config["IDP_LOG_LEVEL"])

    db.init_app(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()))
    redis_client.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    keys.init_app(app)
    apps.init_app(app)
    oauth2.init_app(app)
    wallet.init_app(app)
    cli.init_app(app)
    return app


def _migrations_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"
