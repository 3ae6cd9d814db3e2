"""The optional shared Redis connection (``REDIS_URL``)."""

from __future__ import annotations

import redis
from flask import current_app


def init_app(app) -> None:
    url = app.config.get("REDIS_URL")
    app.extensions["idp_redis"] = redis.Redis.from_url(url) if url else None


def get_redis() -> redis.Redis | None:
    """The app's Redis client, or None when the deployment runs without Redis."""
    return current_app.extensions.get("idp_redis")
