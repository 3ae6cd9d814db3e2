"""Flask guards: ``@require_scope("credits:consume")`` and :class:`ResourceProtector`.

A verified request has its :class:`~cross_app_sdk.Claims` on ``flask.g.claims``.  A
refusal answers in the IdP's JSON error format with RFC 6750 challenges: 401
``invalid_token`` (bare ``Bearer`` when no token was sent), 403 ``insufficient_scope``
with ``scope=``, 503 when no signing keys can be had.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import current_app, g, jsonify, request

from ._guard import bearer_token, refusal
from .claims import Claims
from .errors import CrossAppError
from .verifier import TokenVerifier

EXTENSION = "cross_app_sdk"


class ResourceProtector:
    """Guards several routes with one :class:`TokenVerifier`::

        require = ResourceProtector(TokenVerifier(ISSUER, AUDIENCE), app)

        @app.post("/spend")
        @require("credits:consume", introspect=True)
        def spend(): ...

    ``init_app(app)`` also makes it the one the module-level :func:`require_scope` uses.
    """

    def __init__(self, verifier: TokenVerifier, app: Any = None) -> None:
        self.verifier = verifier
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Any) -> None:
        app.extensions[EXTENSION] = self

    def acquire(self, *scopes: str, introspect: bool = False) -> Claims:
        """Verify this request's bearer token; raises the SDK's errors."""
        token = bearer_token(request.headers.get("Authorization"))
        return self.verifier.verify(token, scopes, introspect=introspect)

    def __call__(self, *scopes: str, introspect: bool = False) -> Callable:
        """A decorator requiring every scope in ``scopes`` (``introspect``: also ask the
        IdP whether the token was revoked)."""

        def decorator(view: Callable) -> Callable:
            @functools.wraps(view)
            def wrapped(*args: Any, **kwargs: Any):
                try:
                    g.claims = self.acquire(*scopes, introspect=introspect)
                except CrossAppError as error:
                    return error_response(error)
                return view(*args, **kwargs)

            return wrapped

        return decorator

    require_scope = __call__


def error_response(error: Exception):
    """The refusal as a Flask response."""
    status, body, headers = refusal(error)
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers)
    return response


def require_scope(*scopes: str, introspect: bool = False) -> Callable:
    """``@require_scope("credits:read")`` with the app's :class:`ResourceProtector`
    (registered by ``ResourceProtector(verifier, app)`` or ``init_app``)."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            protector = current_app.extensions.get(EXTENSION)
            if protector is None:
                raise RuntimeError("no ResourceProtector registered on this app (init_app)")
            return protector(*scopes, introspect=introspect)(view)(*args, **kwargs)

        return wrapped

    return decorator


def current_claims() -> Claims:
    """The claims the guard put on ``flask.g``."""
    return g.claims
