"""The error model: typed exceptions, rendered in one place (``idp.core.handlers``).

Each package has one base exception (subclass of :class:`IdPError`) whose
subclasses only override ``error``, ``description`` and ``status_code``.  Views
raise; the handlers turn every failure into an RFC 6749-shaped JSON body
(``error``, ``error_description``) or the hosted error page, and never show a 5xx's
internals: its description is logged and the caller reads a generic one, unless the
class says its description was written for callers (``public``).
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from .i18n import _l

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
    #: A 5xx's description is for the log unless it was written for callers.
    public = False

    def __init__(self, description: str | None = None, **extra: object) -> None:
        # A class's message may be lazy (idp.core.i18n._l): fixed here, in the language
        # of the request that raised it (English outside a request).
        self.description = str(description or self.description)
        super().__init__(self.description)
        self.extra = extra

    @property
    def shown(self) -> str:
        """What the caller reads."""
        if self.status_code >= 500 and not self.public:
            return SERVER_ERROR
        return self.description

    def to_dict(self) -> dict[str, object]:
        return {"error": self.error, "error_description": self.shown, **self.extra}


SERVER_ERROR = "The server could not complete the request."


class ServiceUnavailable(IdPError):
    """A dependency (PostgreSQL, Redis) cannot answer now; nothing was done, and the
    same request may be sent again after ``Retry-After`` seconds (docs/reliability.md).
    The code is RFC 6749's for a server that is temporarily overloaded or down."""

    error = "temporarily_unavailable"
    description = _l("The service is temporarily unavailable. Try again in a few seconds.")
    status_code = 503
    public = True


class NotFound(IdPError):
    error = "not_found"
    description = "No such resource."
    status_code = 404


class OriginNotAllowed(IdPError):
    """A browser request from an origin the client did not register (CORS)."""

    error = "invalid_request"
    status_code = 400


def error_response(error: str, description: str, status: int, headers=None):
    response = jsonify(error=error, error_description=description)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    for name, value in headers or ():
        response.headers[name] = value
    return response


class JSONBlueprint(Blueprint):
    """A blueprint of the API: every failure of its requests is answered in JSON.  Any
    other blueprint serves hosted pages, whose failures are the hosted error page."""

    answers_in_json = True


def wants_json() -> bool:
    """Decided by the blueprint of the route the request matched.  A request that matched
    none: a method the route does not allow is that route's blueprint's; an unknown URL
    is JSON in the API's URL spaces (``/api/``, ``/.well-known/``) and a page elsewhere."""
    name = request.blueprint
    if name is None and isinstance(request.routing_exception, MethodNotAllowed):
        name = _blueprint_allowing(request.routing_exception.valid_methods or ())
    if name is None:
        return request.path.startswith(("/api/", "/.well-known/"))
    return getattr(current_app.blueprints.get(name), "answers_in_json", False)


def _blueprint_allowing(methods) -> str | None:
    adapter = current_app.url_map.bind_to_environ(request.environ)
    for method in methods:
        try:
            rule, _ = adapter.match(method=method, return_rule=True)
        except HTTPException:  # a redirect or no match for this method: try the next
            continue
        return rule.endpoint.rpartition(".")[0] or None
    return None


PAGE_RENDERER = "idp_error_page"  # app.extensions key: render(error, description, status)


def register_page_renderer(app, render) -> None:
    """The hosted pages' error page (the core imports nothing above it: pages plug in)."""
    app.extensions[PAGE_RENDERER] = render
