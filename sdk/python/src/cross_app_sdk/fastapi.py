"""FastAPI guards: ``claims: Claims = Depends(require("credits:read"))``.

The dependency verifies with an :class:`~cross_app_sdk.AsyncTokenVerifier` and returns
the :class:`~cross_app_sdk.Claims`; refusals answer exactly as the Flask guard does (401
``invalid_token`` / bare ``Bearer``, 403 ``insufficient_scope`` with ``scope=``, 503), in
the IdP's JSON error format, through an exception handler ``ResourceProtector`` installs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

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

    async def acquire(self, request: Request, scopes: tuple[str, ...], introspect: bool) -> Claims:
        try:
            token = bearer_token(request.headers.get("Authorization"))
            return await self.verifier.verify(token, scopes, introspect=introspect)
        except CrossAppError as error:
            raise GuardRefusal(error) from None

    def __call__(
        self, *scopes: str, introspect: bool = False
    ) -> Callable[[Request], Awaitable[Claims]]:
        async def dependency(request: Request) -> Claims:
            return await self.acquire(request, scopes, introspect)

        return dependency

    require_scope = __call__


def require_scope(*scopes: str, introspect: bool = False) -> Callable[[Request], Awaitable[Claims]]:
    """A dependency using the app's :class:`ResourceProtector` (``init_app``)."""

    async def dependency(request: Request) -> Claims:
        protector = getattr(request.app.state, "cross_app_protector", None)
        if protector is None:
            raise RuntimeError("no ResourceProtector registered on this app (init_app)")
        return await protector.acquire(request, scopes, introspect)

    return dependency
