"""Cross-origin rules per registered app (the seed's domain validation).

A browser request from an origin gets CORS headers only when that origin is
registered for the app making the request: the client named in the token
request, or the client the bearer token was issued to.  JWKS, discovery, the OpenAPI
document and the credit catalogue are public.  Credentials (cookies) are never allowed
cross-origin: partner apps call us with tokens, not with our session cookie.
"""

from __future__ import annotations

import base64
from urllib.parse import unquote

from flask import request
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from idp.apps.models import ACTIVE, AppIntegration
from idp.apps.services import query_client
from idp.core.errors import OriginNotAllowed
from idp.core.extensions import db
from idp.core.input_guard import is_clean
from idp.oauth2.tokens import unverified_claims

# Public, credential-free documents any page may read: keys, metadata, this API's
# contract, and the catalogue a partner shows before anyone signs in.
PUBLIC_PATHS = ("/.well-known/", "/openapi.json", "/api/cross-app/credits/packages")
CLIENT_PATHS = (
    "/oauth/token",
    "/oauth/revoke",
    "/api/cross-app/auth",
    "/api/cross-app/refresh-token",
    "/api/cross-app/validate-token",
)
BEARER_PATHS = ("/oauth/userinfo", "/api/")
_ALLOW_HEADERS = "Authorization, Content-Type, Idempotency-Key"


def _client_id_of_request() -> str | None:
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(auth[6:]).decode()
        except ValueError:  # bad base64, non-ASCII header, or not UTF-8
            return None
        return unquote(decoded.split(":", 1)[0])
    try:
        if request.form.get("client_id"):
            return request.form["client_id"]
        body = request.get_json(silent=True)
    except HTTPException:  # a body over the size limit, already answered with a 413
        return None
    return body.get("client_id") if isinstance(body, dict) else None


def _client_id_of_bearer() -> str | None:
    """Whose token this is; CORS only decides what a browser may read, the view still
    verifies the token itself."""
    auth = request.headers.get("Authorization", "")
    if not auth.lower().startswith("bearer "):
        return None
    try:
        claims = unverified_claims(auth[7:].strip())
    except (ValueError, IndexError, RecursionError):  # not a JWT, or nested absurdly deep
        return None
    return claims.get("client_id") if isinstance(claims, dict) else None


def _client(client_id: object):
    """The active client named ``client_id``, or None.  These hooks also run on the
    responses to refused requests, and an unverified token's claims pass no guard: a NUL
    or a lone surrogate must not reach the database from here."""
    if not isinstance(client_id, str) or not client_id or not is_clean(client_id):
        return None
    return query_client(client_id)


def _registered_anywhere(origin: str) -> bool:
    """Preflights carry no credentials; answer for origins some active app registered."""
    for origins in db.session.scalars(
        select(AppIntegration.allowed_origins).where(AppIntegration.status == ACTIVE)
    ):
        if origin in origins:
            return True
    return False


def _allowed(origin: str) -> bool:
    path = request.path
    if path.startswith(PUBLIC_PATHS):
        return True
    if request.method == "OPTIONS":
        return path.startswith(CLIENT_PATHS + BEARER_PATHS) and _registered_anywhere(origin)
    if path.startswith(CLIENT_PATHS):
        client_id = _client_id_of_request()
    elif path.startswith(BEARER_PATHS):
        client_id = _client_id_of_bearer()
    else:
        return False
    client = _client(client_id)
    return client is not None and origin in client.allowed_origins


def check_browser_token_request() -> None:
    """A client's browser request (one with an ``Origin``) must come from one of its
    registered origins; server-side requests carry no ``Origin`` and are not affected."""
    origin = request.headers.get("Origin")
    if origin is None or request.path not in CLIENT_PATHS:
        return
    client = _client(_client_id_of_request())
    if client is not None and origin.lower() not in client.allowed_origins:
        raise OriginNotAllowed(f"origin {origin} is not registered for this client")


def init_app(app) -> None:
    @app.before_request
    def _preflight_and_origin():
        if request.method == "OPTIONS" and request.headers.get("Origin"):
            return app.make_default_options_response()
        check_browser_token_request()
        return None

    @app.after_request
    def _cors_headers(response):
        origin = request.headers.get("Origin")
        response.vary.add("Origin")
        if not origin or not _allowed(origin.lower()):
            return response
        response.headers["Access-Control-Allow-Origin"] = (
            "*" if request.path.startswith(PUBLIC_PATHS) else origin
        )
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, PATCH, PUT, DELETE"
            response.headers["Access-Control-Allow-Headers"] = _ALLOW_HEADERS
            response.headers["Access-Control-Max-Age"] = "600"
        else:
            response.headers["Access-Control-Expose-Headers"] = "WWW-Authenticate, Retry-After"
        return response
