"""Protocol endpoints: authorize, token, userinfo, introspection, revocation, logout,
discovery."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from idp.core.errors import JSONBlueprint
from idp.core.extensions import csrf

from . import discovery, logout, oidc
from .authorize import authorize
from .bearer import current_caller, protector
from .server import authorization_server

bp = JSONBlueprint("oauth2", __name__)
# The browser endpoints: their failures are the hosted error page, not JSON.
browser = Blueprint("oauth2_browser", __name__)
require_api = protector("IDP_API_AUDIENCE")

browser.add_url_rule("/oauth/authorize", "authorize_endpoint", authorize, methods=["GET", "POST"])
browser.add_url_rule(
    "/oauth/logout", "logout_endpoint", logout.end_session, methods=["GET", "POST"]
)


@bp.post("/oauth/token")
@csrf.exempt
def token():
    return authorization_server().create_token_response()


@bp.post("/oauth/introspect")
@csrf.exempt
def introspect():
    return authorization_server().create_endpoint_response("introspection")


@bp.post("/oauth/revoke")
@csrf.exempt
def revoke():
    return authorization_server().create_endpoint_response("revocation")


@bp.route("/oauth/userinfo", methods=["GET", "POST"])
@csrf.exempt
@require_api("openid")
def userinfo():
    """OIDC Core section 5.3: claims for the token's scopes."""
    caller = current_caller()
    return jsonify(oidc.user_info(caller.person(), caller.claims.get("scope", "")))


@bp.get("/.well-known/oauth-authorization-server")
@bp.get("/.well-known/openid-configuration")
def server_metadata():
    response = jsonify(discovery.metadata())
    response.cache_control.public = True
    response.cache_control.max_age = current_app.config["IDP_JWKS_MAX_AGE"]
    return response
