"""Admin JSON API over the registry (the seed's ``/api/cross-app/register`` and friends).

Guarded by an ``admin``-scoped access token whose audience is this server's admin
API; only first-party confidential apps can obtain one.  It lives above the registry
(``idp.apps``), which knows nothing of tokens.
"""

from __future__ import annotations

from flask import jsonify, request

from idp.apps import services
from idp.apps.errors import RegistryError
from idp.core.errors import JSONBlueprint
from idp.oauth2.bearer import require_admin

bp = JSONBlueprint("apps_admin", __name__, url_prefix="/api/cross-app")


def _json_body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise RegistryError("the request body must be a JSON object")
    return data


@bp.post("/register")
@require_admin
def register():
    app, secret = services.register(_json_body())
    body = services.to_dict(app)
    if secret:
        body["client_secret"] = secret
    response = jsonify(body)
    response.status_code = 201
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/apps")
@require_admin
def list_apps():
    return jsonify(apps=[services.to_dict(a) for a in services.list_all()])


@bp.get("/apps/<client_id>")
@require_admin
def get_app(client_id: str):
    return jsonify(services.to_dict(services.get(client_id)))


@bp.patch("/apps/<client_id>")
@require_admin
def update_app(client_id: str):
    return jsonify(services.to_dict(services.update(client_id, _json_body())))


@bp.post("/apps/<client_id>/disable")
@require_admin
def disable_app(client_id: str):
    return jsonify(services.to_dict(services.disable(client_id)))


@bp.post("/apps/<client_id>/rotate-secret")
@require_admin
def rotate_secret(client_id: str):
    app, secret = services.rotate_secret(client_id)
    response = jsonify({**services.to_dict(app), "client_secret": secret})
    response.headers["Cache-Control"] = "no-store"
    return response
