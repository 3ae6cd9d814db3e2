"""The seed's cross-app JSON endpoints, as thin documented layers over the standard ones,
plus per-app user metadata and roles."""

from __future__ import annotations

from authlib.oauth2.rfc6750 import InvalidTokenError
from flask import Blueprint, current_app, jsonify, request

from idp.apps.services import query_client
from idp.core.errors import IdPError, NotFound
from idp.core.scopes import ADMIN_SCOPE
from idp.oauth2 import oidc
from idp.oauth2 import services as oauth_services
from idp.oauth2.bearer import InsufficientScope, current_token, protector
from idp.oauth2.internal import forward
from idp.oauth2.verification import TokenRejected, verify_access_token
from idp.oauth2.verification import token_user as verified_user
from idp.users import services as users

from . import services

bp = Blueprint("crossapp", __name__, url_prefix="/api/cross-app")
require_api = protector("IDP_API_AUDIENCE")


class UserRequired(InvalidTokenError):
    error = "invalid_token"
    description = "This API needs an access token issued for a user."
    status_code = 401


def token_user():
    """The user the current access token speaks for (looked up once, at verification)."""
    user = verified_user(current_token)
    if user is None:
        raise UserRequired()
    return user


# -- metadata and roles -----------------------------------------------------------------------
@bp.get("/user/metadata")
@require_api("user:metadata")
def get_metadata():
    user = token_user()
    return jsonify(metadata=services.get_metadata(user.id, current_token["client_id"]))


@bp.patch("/user/metadata")
@require_api("user:metadata")
def patch_metadata():
    user = token_user()
    document = services.patch_metadata(
        user.id, current_token["client_id"], request.get_json(silent=True)
    )
    return jsonify(metadata=document)


@bp.put("/apps/<client_id>/users/<sub>/roles")
def put_roles(client_id: str, sub: str):
    """Assign a user's roles in one app: an admin token, or the app's own
    client-credentials token with ``roles:manage`` (then only for users who use it)."""
    claims = _bearer_claims()
    is_app = _app_manages_roles(claims, client_id)
    if not (is_app or _is_admin(claims)):
        raise InsufficientScope("roles:manage")
    if query_client(client_id) is None:
        raise NotFound("No active app has that client_id.")
    user = users.by_sub(sub)
    if user is None or (is_app and not oauth_services.granted_scopes(user.id, client_id)):
        raise NotFound("No such user for this app.")
    return jsonify(roles=services.set_roles(user.id, client_id, _json().get("roles")))


def _audiences(claims: dict) -> list:
    return claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]


def _app_manages_roles(claims: dict, client_id: str) -> bool:
    """The app's own client-credentials token: a user's token carrying ``roles:manage``
    must not let that user hand themselves roles."""
    return (
        claims["client_id"] == client_id
        and claims["sub"] == client_id
        and "roles:manage" in claims.get("scope", "").split()
        and current_app.config["IDP_API_AUDIENCE"] in _audiences(claims)
    )


def _is_admin(claims: dict) -> bool:
    """An admin token whose app may still hold the scope (as the admin API checks)."""
    caller = query_client(claims["client_id"])
    return (
        ADMIN_SCOPE in claims.get("scope", "").split()
        and current_app.config["IDP_ADMIN_AUDIENCE"] in _audiences(claims)
        and caller is not None
        and caller.first_party
        and ADMIN_SCOPE in caller.allowed_scopes
    )


def _bearer_claims() -> dict:
    auth = request.headers.get("Authorization", "")
    if not auth.lower().startswith("bearer "):
        raise InvalidTokenError(description="a bearer token is required")
    try:
        return verify_access_token(auth[7:].strip())
    except TokenRejected as exc:
        raise InvalidTokenError(description=str(exc)) from None


# -- seed contract endpoints --------------------------------------------------------------------
@bp.get("/user-info")
@require_api("openid")
def user_info():
    """Same claims as ``/oauth/userinfo``."""
    return jsonify(oidc.user_info(token_user(), current_token.get("scope", "")))


@bp.get("/user")
@require_api("openid")
def user():
    """UserInfo claims plus what this app keeps about the user: its roles and metadata."""
    person = token_user()
    client_id = current_token["client_id"]
    body = dict(oidc.user_info(person, current_token.get("scope", "")))
    body["roles"] = services.roles_for(person.id, client_id)
    if "user:metadata" in current_token.get("scope", "").split():
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
        raise IdPError("the request body must be a JSON object")
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
