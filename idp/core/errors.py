"""The error model: typed exceptions, rendered in one place.

Each package has one base exception (subclass of :class:`IdPError`) whose
subclasses only override ``error``, ``description`` and ``status_code``.  Views
raise; the handlers registered here turn every failure into an RFC 6749-shaped
JSON body (``error``, ``error_description``) and never expose a 5xx's internals.
"""

from __future__ import annotations

import logging
import sys
import traceback

from authlib.integrations.flask_oauth2.errors import _HTTPException as AuthlibHTTPException
from authlib.oauth2.base import OAuth2Error
from flask import current_app, jsonify, request
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import StatementError
from werkzeug.exceptions import HTTPException

log = logging.getLogger("idp")

# Stable machine-readable codes for plain HTTP failures.
_HTTP_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


class IdPError(Exception):
    """Base of every error this service reports to a caller."""

    error = "invalid_request"
    description = "The request is invalid."
    status_code = 400

    def __init__(self, description: str | None = None, **extra: object) -> None:
        super().__init__(description or self.description)
        if description:
            self.description = description
        self.extra = extra

    def to_dict(self) -> dict[str, object]:
        return {"error": self.error, "error_description": self.description, **self.extra}


class NotFound(IdPError):
    error = "not_found"
    description = "No such resource."
    status_code = 404


def error_response(error: str, description: str, status: int, headers=None):
    response = jsonify(error=error, error_description=description)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    for name, value in headers or ():
        response.headers[name] = value
    return response


# Paths answered in JSON; everything else is a hosted page and gets an HTML error.
_API_PREFIXES = (
    "/api/",
    "/purchase/status/",
    "/oauth/token",
    "/oauth/introspect",
    "/oauth/revoke",
    "/oauth/userinfo",
    "/.well-known/",
    "/stripe/",
    "/healthz",
    "/openapi.json",
)


def wants_json() -> bool:
    return request.path.startswith(_API_PREFIXES)


PAGE_RENDERER = "idp_error_page"  # app.extensions key: render(error, description, status)


def register_page_renderer(app, render) -> None:
    """The hosted pages' error page (the core imports nothing above it: pages plug in)."""
    app.extensions[PAGE_RENDERER] = render


def _page(error: str, description: str, status: int, headers=None):
    """The hosted error page; without a renderer, or if rendering fails too, a bare
    page, never a second raise."""
    render = current_app.extensions.get(PAGE_RENDERER)
    try:
        if render is None:
            response = _bare_page(description, status)
        else:
            response = render(error, description, status)
    except Exception:
        _log_unexpected("error page failed to render")
        response = _bare_page(description, status)
    for name, value in headers or ():
        response.headers[name] = value
    return response


def _bare_page(description: str, status: int):
    """Plain HTML without templates, database or request data beyond ``description``."""
    # Unencodable characters (a lone surrogate echoed by some library) become "?".
    text = str(escape(description)).encode("utf-8", "replace").decode("utf-8")
    body = f"<!doctype html><title>Error</title><p role=alert>{text}</p>"
    response = current_app.response_class(body, status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def _log_unexpected(message: str) -> None:
    """Log the exception being handled, without what the caller sent.

    A database error's text quotes the bound parameters (unless the engine hides them,
    see ``hide_parameters`` in config) and PostgreSQL's DETAIL quotes the failing row:
    the argon2 hash, the email.  When one is in the chain we log its class, SQLSTATE,
    table/column/constraint and statement, and the stack, but no driver message."""
    exc = sys.exc_info()[1]
    chain = list(_chain(exc))
    if not any(isinstance(e, StatementError) for e in chain):
        log.exception(message)
        return
    parts = [message]
    for item in reversed(chain):
        parts.append("".join(traceback.format_tb(item.__traceback__)).rstrip())
        parts.append(_safe_summary(item))
    log.error("\n".join(parts))


_DIAG_NAMES = ("table", "column", "constraint")


def _chain(exc: BaseException | None):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)


def _safe_summary(exc: BaseException) -> str:
    if isinstance(exc, StatementError):
        orig = exc.orig
        diag = getattr(orig, "diag", None)
        facts = [type(orig).__name__]
        facts.append(getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None))
        facts += [f"{key}={getattr(diag, key + '_name', None)}" for key in _DIAG_NAMES]
        shown = ", ".join(f for f in facts if f and not f.endswith("=None"))
        return f"{type(exc).__name__} ({shown})\n[SQL: {exc.statement}]"
    if _is_driver_error(exc):
        return f"{type(exc).__module__}.{type(exc).__name__} (message withheld)"
    return "".join(traceback.format_exception_only(exc)).rstrip()


def _is_driver_error(exc: BaseException) -> bool:
    # The DBAPI's own exception, wrapped by the DBAPIError above it in the chain.
    return type(exc).__module__.split(".")[0] in ("psycopg", "sqlite3", "psycopg2")


def init_app(app) -> None:
    @app.errorhandler(IdPError)
    def _idp_error(exc: IdPError):
        if not wants_json():
            return _page(exc.error, exc.description, exc.status_code)
        response = jsonify(exc.to_dict())
        response.status_code = exc.status_code
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(OAuth2Error)
    def _oauth_error(exc: OAuth2Error):
        return error_response(
            exc.error, exc.get_error_description() or exc.error, exc.status_code, exc.get_headers()
        )

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError):
        return _page(
            "csrf_failed",
            "This form expired or came from another site. Reload the page and try again.",
            400,
        )

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if isinstance(exc, AuthlibHTTPException):
            return exc  # already an RFC 6750 body with WWW-Authenticate
        code = exc.code or 500
        error = _HTTP_CODES.get(code, "invalid_request")
        description = exc.description or ""
        headers = []
        if code == 429:
            description = "Too many attempts. Wait a little and try again."
            retry_after = getattr(exc, "retry_after", None)
            if retry_after:
                headers.append(("Retry-After", str(retry_after)))
        if not wants_json():
            return _page(error, description, code, headers)
        return error_response(error, description, code, headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        _log_unexpected("unhandled error")
        description = "The server could not complete the request."
        if not wants_json():
            return _page("server_error", description, 500)
        return error_response("server_error", description, 500)
