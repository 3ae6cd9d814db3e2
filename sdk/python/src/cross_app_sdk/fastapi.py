"""FastAPI guards: ``claims: Claims = Depends(require("credits:read"))``.

The dependency verifies with an :class:`~cross_app_sdk.AsyncTokenVerifier` and returns
the :class:`~cross_app_sdk.Claims`; refusals answer exactly as the Flask guard does (401
``invalid_token`` / bare ``Bearer``, 403 ``insufficient_scope`` with ``scope=``, 401
``insufficient_user_authentication`` with ``acr_values``/``max_age``, 503), in
the IdP's JSON error format, through an exception handler ``ResourceProtector`` installs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from . import challenge
from ._guard import bearer_token, refusal
from .claims import Claims
from .errors import CrossAppError
from .verifier import AsyncTokenVerifier


class GuardRefusal(Exception):
    """Carries a refusal to the handler (FastAPI's HTTPException would nest our body
    under ``detail``)."""

    def __init__(self, error: CrossAppError) -> None:
        super().__init__(str(error))
        self.error = error


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    status, body, headers = refusal(exc.error if isinstance(exc, GuardRefusal) else exc)
    return JSONResponse(body, status_code=status, headers=headers)


def install(app: Any) -> None:
    """Register the refusal handler on ``app`` (done by ``ResourceProtector(v, app)``)."""
    app.add_exception_handler(GuardRefusal, _handle)


class ResourceProtector:
    """``require = ResourceProtector(AsyncTokenVerifier(ISSUER, AUDIENCE), app)``, then
    ``Depends(require("credits:read"))`` on each route."""

    def __init__(self, verifier: AsyncTokenVerifier, app: Any = None) -> None:
        self.verifier = verifier
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Any) -> None:
        install(app)
        app.state.cross_app_protector = self

    async def acquire(
        self,
        request: Request,
        scopes: tuple[str, ...],
        introspect: bool,
        acr_values: tuple[str, ...] = (),
        max_age: int | None = None,
    ) -> Claims:
        try:
            token = bearer_token(request.headers.get("Authorization"))
            claims = await self.verifier.verify(token, scopes, introspect=introspect)
            challenge.demand(claims, acr_values, max_age, self.verifier.leeway)
            return claims
        except CrossAppError as error:
            raise GuardRefusal(error) from None

    def __call__(
        self,
        *scopes: str,
        introspect: bool = False,
        require_acr: str | Iterable[str] | None = None,
        max_age: int | None = None,
    ) -> Callable[[Request], Awaitable[Claims]]:
        """The dependency; ``require_acr``/``max_age`` as the Flask guard's (RFC 9470)."""
        acr_values, max_age = challenge.acr_set(require_acr), challenge.check_max_age(max_age)

        async def dependency(request: Request) -> Claims:
            return await self.acquire(request, scopes, introspect, acr_values, max_age)

        return dependency

    require_scope = __call__


def require_scope(
    *scopes: str,
    introspect: bool = False,
    require_acr: str | Iterable[str] | None = None,
    max_age: int | None = None,
) -> Callable[[Request], Awaitable[Claims]]:
    """A dependency using the app's :class:`ResourceProtector` (``init_app``)."""
    acr_values, max_age = challenge.acr_set(require_acr), challenge.check_max_age(max_age)

    async def dependency(request: Request) -> Claims:
        protector = getattr(request.app.state, "cross_app_protector", None)
        if protector is None:
            raise RuntimeError("no ResourceProtector registered on this app (init_app)")
        return await protector.acquire(request, scopes, introspect, acr_values, max_age)

    return dependency
