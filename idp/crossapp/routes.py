"""The seed's cross-app JSON endpoints, as thin documented layers over the standard ones,
plus per-app user metadata and roles."""

from __future__ import annotations

from flask import current_app, jsonify, request

from idp.apps.services import query_client
from idp.core.errors import JSONBlueprint, NotFound
from idp.oauth2 import oidc
from idp.oauth2 import services as oauth_services
from idp.oauth2.bearer import Caller, InsufficientScope, bearer_caller, current_caller, protector
from idp.oauth2.internal import forward
from idp.users import services as users

from . import services
from .errors import CrossAppError

bp = JSONBlueprint("crossapp", __name__, url_prefix="/api/cross-app")
require_api = protector("IDP_API_AUDIENCE")


# -- metadata and roles -----------------------------------------------------------------------
@bp.get("/user/metadata")
@require_api("user:metadata")
def get_metadata():
    caller = current_caller()
    return jsonify(metadata=services.get_metadata(caller.person().id, caller.client_id))


@bp.patch("/user/metadata")
@require_api("user:metadata")
def patch_metadata():
    caller = current_caller()
    document = services.patch_metadata(
        caller.person().id, caller.client_id, request.get_json(silent=True)
    )
    return jsonify(metadata=document)


@bp.put("/apps/<client_id>/users/<sub>/roles")
def put_roles(client_id: str, sub: str):
    """Assign a user's roles in one app: an admin token, or the app's own
    client-credentials token with ``roles:manage`` (then only for users who use it)."""
    caller = bearer_caller()
    is_app = _app_manages_roles(caller, client_id)
    if not (is_app or caller.is_admin()):
        raise InsufficientScope("roles:manage")
    if query_client(client_id) is None:
        raise NotFound("No active app has that client_id.")
    user = users.by_sub(sub)
    if user is None or (is_app and not oauth_services.granted_scopes(user.id, client_id)):
        raise NotFound("No such user for this app.")
    return jsonify(roles=services.set_roles(user.id, client_id, _json().get("roles")))


def _app_manages_roles(caller: Caller, client_id: str) -> bool:
    """The app's own client-credentials token: a user's token carrying ``roles:manage``
    must not let that user hand themselves roles."""
    return (
        caller.client_id == client_id
        and caller.is_app
        and "roles:manage" in caller.scopes
        and current_app.config["IDP_API_AUDIENCE"] in caller.audiences
    )


# -- seed contract endpoints --------------------------------------------------------------------
@bp.get("/user-info")
@require_api("openid")
def user_info():
    """Same claims as ``/oauth/userinfo``."""
    caller = current_caller()
    return jsonify(oidc.user_info(caller.person(), caller.claims.get("scope", "")))


@bp.get("/user")
@require_api("openid")
def user():
    """UserInfo claims plus what this app keeps about the user: its roles and metadata."""
    caller = current_caller()
    person, client_id = caller.person(), caller.client_id
    body = dict(oidc.user_info(person, caller.claims.get("scope", "")))
    body["roles"] = services.roles_for(person.id, client_id)
    if "user:metadata" in caller.scopes:
        body["metadata"] = services.get_metadata(person.id, client_id)
    return jsonify(body)


@bp.post("/auth")
def auth():
    """JSON form of ``POST /oauth/token`` with ``grant_type=authorization_code``."""
    return _token_endpoint("authorization_code", ("code", "redirect_uri", "code_verifier"))


@bp.post("/refresh-token")
def refresh_token():
    """JSON form of ``POST /oauth/token`` with ``grant_type=refresh_token``."""
    return _token_endpoint("refresh_token", ("refresh_token", "scope"))


@bp.post("/validate-token")
def validate_token():
    """JSON form of ``POST /oauth/introspect`` (same client authentication and answers)."""
    return _forward("introspection", _strings(_json(), ("token",)))


def _json() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise CrossAppError("the request body must be a JSON object")
    return body


def _strings(body: dict, fields: tuple[str, ...]) -> dict:
    """The members a form could carry; any other value counts as missing."""
    return {k: body[k] for k in fields if isinstance(body.get(k), str)}


def _token_endpoint(grant_type: str, fields: tuple[str, ...]):
    return _forward(None, {"grant_type": grant_type, **_strings(_json(), fields)})


def _forward(endpoint: str | None, form: dict):
    form.update(_strings(_json(), ("client_id", "client_secret")))
    headers = {k: v for k, v in request.headers.items() if k in ("Authorization", "Origin")}
    return forward(endpoint, form, headers)
