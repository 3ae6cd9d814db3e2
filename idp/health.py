"""Liveness: ``GET /healthz``."""

from __future__ import annotations

from idp.core.errors import JSONBlueprint

bp = JSONBlueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}


def init_app(app) -> None:
    app.register_blueprint(bp)
