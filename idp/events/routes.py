"""Admin JSON API over webhook endpoints and events (``admin``-scoped tokens only)."""

from __future__ import annotations

from flask import jsonify, request

from idp.core import outbox
from idp.core.errors import JSONBlueprint
from idp.oauth2.bearer import require_admin

from . import endpoints, services
from .errors import EventsError

bp = JSONBlueprint("events_admin", __name__, url_prefix="/api/cross-app")
_OPTIONS = ("contact_email", "low_balance_threshold")


def _body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise EventsError("the request body must be a JSON object")
    return data


def _secret_response(body: dict, status: int = 200):
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/apps/<client_id>/webhooks")
@require_admin
def add(client_id: str):
    data = _body()
    options = {name: data.get(name) for name in _OPTIONS}
    endpoint, secret = endpoints.add(client_id, data.get("url"), data.get("events"), **options)
    body = {**endpoints.to_dict(endpoint), "secret": secret}
    outbox.commit()
    return _secret_response(body, 201)


@bp.get("/apps/<client_id>/webhooks")
@require_admin
def list_endpoints(client_id: str):
    return jsonify(endpoints=[endpoints.to_dict(e) for e in endpoints.for_app(client_id)])


@bp.patch("/webhooks/<endpoint_id>")
@require_admin
def update(endpoint_id: str):
    data = _body()
    options = {name: data.get(name) for name in _OPTIONS}
    enable = data.get("status") == "active"
    endpoint = endpoints.update(endpoint_id, **options, events=data.get("events"), enable=enable)
    body = endpoints.to_dict(endpoint)
    outbox.commit()
    return jsonify(body)


@bp.delete("/webhooks/<endpoint_id>")
@require_admin
def remove(endpoint_id: str):
    endpoints.remove(endpoint_id)
    outbox.commit()
    return "", 204


@bp.post("/webhooks/<endpoint_id>/rotate-secret")
@require_admin
def rotate_secret(endpoint_id: str):
    endpoint, secret = endpoints.rotate_secret(endpoint_id)
    body = {**endpoints.to_dict(endpoint), "secret": secret}
    outbox.commit()
    return _secret_response(body)


@bp.post("/webhook-events/<event_id>/replay")
@require_admin
def replay(event_id: str):
    sent_to = services.replay(event_id)
    outbox.commit()
    return jsonify(event=event_id, endpoints=sent_to)
