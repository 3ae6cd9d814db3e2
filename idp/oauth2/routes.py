"""Protocol endpoints: token, introspection, revocation, discovery."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from . import discovery
from .server import authorization_server

bp = Blueprint("oauth2", __name__)


@bp.post("/oauth/token")
def token():
    return authorization_server().create_token_response()


@bp.post("/oauth/introspect")
def introspect():
    return authorization_server().create_endpoint_response("introspection")


@bp.post("/oauth/revoke")
def revoke():
    return authorization_server().create_endpoint_response("revocation")


@bp.get("/.well-known/oauth-authorization-server")
@bp.get("/.well-known/openid-configuration")
def server_metadata():
    response = jsonify(discovery.metadata())
    response.cache_control.public = True
    response.cache_control.max_age = current_app.config["IDP_JWKS_MAX_AGE"]
    return response
