"""The one place failures become answers: JSON errors for the API, the hosted error
page for browsers, and a log line for what the caller must not see."""

from __future__ import annotations

import logging
import sqlite3
import sys
import traceback

import psycopg
import redis
from authlib.oauth2.base import OAuth2Error
from flask import current_app, jsonify
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy import exc as sa_exc
from sqlalchemy.exc import StatementError
from werkzeug.exceptions import HTTPException

from .errors import (
    _HTTP_CODES,
    PAGE_RENDERER,
    SERVER_ERROR,
    IdPError,
    ServiceUnavailable,
    error_response,
    wants_json,
)
from .extensions import db

log = logging.getLogger("idp")


def _page(error: str, description: str, status: int, headers=None):
    """The hosted error page; without a renderer, or if rendering fails too, a bare
    page, never a second raise."""
    render = current_app.extensions.get(PAGE_RENDERER)
    try:
        if render is None:
            response = _bare_page(description, status)
        else:
            response = render(error, description, status)
    except Exception as exc:
        if outage(exc) is None:
            _log_unexpected("error page failed to render")
        else:  # the page's branding needs the database that is down: no bug, no stack
            log.warning("error page without branding (%s unavailable)", outage(exc))
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


# What a dependency that cannot answer raises: PostgreSQL refusing or dropping the
# connection, shutting down or starting up, a statement cancelled by its timeout, a
# deadlock or serialization failure (psycopg's OperationalError family, which SQLAlchemy
# wraps); a connection found closed; the pool finding none in time; SQLite's lock wait
# running out; Redis refusing, dropping or not answering (or loading its snapshot).  A
# bug (no such table, a bad statement) is none of these: still a 500.
_DATABASE_DOWN = (psycopg.OperationalError, psycopg.InterfaceError, sa_exc.TimeoutError)
_REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError)


def outage(exc: BaseException | None) -> str | None:
    """The dependency whose outage ``exc`` (or an exception in its chain) reports,
    "database" or "redis"; None for any other failure."""
    for item in _chain(exc):
        if isinstance(item, _REDIS_DOWN):
            return "redis"
        if isinstance(item, _DATABASE_DOWN):
            return "database"
        if isinstance(item, sa_exc.DBAPIError) and item.connection_invalidated:
            return "database"
        if isinstance(item, sqlite3.OperationalError) and "locked" in str(item):
            return "database"
    return None


def _discard_transaction() -> None:
    """Roll the request's failed transaction back before answering: the error page reads
    the database too (the app's branding), and a session left failed would raise again
    there (PendingRollbackError, whose message quotes the failed row's DETAIL)."""
    try:
        db.session.rollback()
    except Exception:  # the connection is gone as well: the pool replaces it later
        log.warning("could not roll back the failed request's transaction")


def _unavailable(dependency: str):
    """503 with Retry-After: the caller did nothing wrong and should simply retry.  One
    warning line (no stack: an outage is not a bug, and it would repeat per request)."""
    log.warning("dependency unavailable (%s): answered 503", dependency)
    _discard_transaction()
    exc = ServiceUnavailable()
    headers = [("Retry-After", str(current_app.config["IDP_UNAVAILABLE_RETRY_AFTER"]))]
    if not wants_json():
        return _page(exc.error, exc.shown, exc.status_code, headers)
    return error_response(exc.error, exc.shown, exc.status_code, headers)


def _idp_error(exc: IdPError):
    if isinstance(exc, ServiceUnavailable):
        return _unavailable("raised")
    if exc.status_code >= 500:
        log.error("%s: %s", exc.error, exc.description)  # the detail the caller does not get
    if not wants_json():
        return _page(exc.error, exc.shown, exc.status_code)
    response = jsonify(exc.to_dict())
    response.status_code = exc.status_code
    response.headers["Cache-Control"] = "no-store"
    return response


def _oauth_error(exc: OAuth2Error):
    description = exc.get_error_description() or exc.error
    return error_response(exc.error, description, exc.status_code, exc.get_headers())


def _csrf_error(exc: CSRFError):
    return _page(
        "csrf_failed",
        "This form expired or came from another site. Reload the page and try again.",
        400,
    )


def _http_error(exc: HTTPException):
    if getattr(exc, "body", None) is not None:
        return exc  # brings its own body: Authlib's RFC 6750 answers, with WWW-Authenticate
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


def _unexpected(exc: Exception):
    dependency = outage(exc)
    if dependency is not None:
        return _unavailable(dependency)
    _log_unexpected("unhandled error")
    _discard_transaction()
    if not wants_json():
        return _page("server_error", SERVER_ERROR, 500)
    return error_response("server_error", SERVER_ERROR, 500)


def init_app(app) -> None:
    """Register the handlers, most specific first (Flask picks by class hierarchy)."""
    for kind, handler in (
        (IdPError, _idp_error),
        (OAuth2Error, _oauth_error),
        (CSRFError, _csrf_error),
        (HTTPException, _http_error),
        (Exception, _unexpected),
    ):
        app.register_error_handler(kind, handler)
