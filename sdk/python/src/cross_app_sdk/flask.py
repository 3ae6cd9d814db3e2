"""Flask guards: ``@require_scope("credits:consume")`` and :class:`ResourceProtector`.

A verified request has its :class:`~cross_app_sdk.Claims` on ``flask.g.claims``.  A
refusal answers in the IdP's JSON error format with RFC 6750 challenges: 401
``invalid_token`` (bare ``Bearer`` when no token was sent), 403 ``insufficient_scope``
with ``scope=``, 401 ``insufficient_user_authentication`` with ``acr_values``/``max_age``
(RFC 9470 step-up, for ``require_acr=``/``max_age=``), 503 when no signing keys can be
had.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from flask import current_app, g, jsonify, request

from . import challenge
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

    def acquire(
        self,
        *scopes: str,
        introspect: bool = False,
        require_acr: str | Iterable[str] | None = None,
        max_age: int | None = None,
    ) -> Claims:
        """Verify this request's bearer token; raises the SDK's errors."""
        acr_values, max_age = challenge.acr_set(require_acr), challenge.check_max_age(max_age)
        token = bearer_token(request.headers.get("Authorization"))
        claims = self.verifier.verify(token, scopes, introspect=introspect)
        challenge.demand(claims, acr_values, max_age, self.verifier.leeway)
        return claims

    def __call__(
        self,
        *scopes: str,
        introspect: bool = False,
        require_acr: str | Iterable[str] | None = None,
        max_age: int | None = None,
    ) -> Callable:
        """A decorator requiring every scope in ``scopes`` (``introspect``: also ask the
        IdP whether the token was revoked).  ``require_acr``: the token's ``acr`` must be
        one of these levels; ``max_age``: its sign-in (``auth_time``) at most this many
        seconds old.  Either refusal is RFC 9470's 401, which the SDKs' clients turn into
        a new sign-in with those parameters."""
        options = {"introspect": introspect, "require_acr": require_acr, "max_age": max_age}
        challenge.acr_set(require_acr)  # a bad option fails where the route is declared
        challenge.check_max_age(max_age)

        def decorator(view: Callable) -> Callable:
            @functools.wraps(view)
            def wrapped(*args: Any, **kwargs: Any):
                try:
                    g.claims = self.acquire(*scopes, **options)
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


def require_scope(
    *scopes: str,
    introspect: bool = False,
    require_acr: str | Iterable[str] | None = None,
    max_age: int | None = None,
) -> Callable:
    """``@require_scope("credits:read")`` with the app's :class:`ResourceProtector`
    (registered by ``ResourceProtector(verifier, app)`` or ``init_app``); the options are
    :meth:`ResourceProtector.__call__`'s."""
    options = {"introspect": introspect, "require_acr": require_acr, "max_age": max_age}

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            protector = current_app.extensions.get(EXTENSION)
            if protector is None:
                raise RuntimeError("no ResourceProtector registered on this app (init_app)")
            return protector(*scopes, **options)(view)(*args, **kwargs)

        return wrapped

    return decorator


def current_claims() -> Claims:
    """The claims the guard put on ``flask.g``."""
    return g.claims
