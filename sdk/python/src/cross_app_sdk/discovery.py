"""The issuer's metadata (OIDC Discovery / RFC 8414): ``jwks_uri`` and the introspection
endpoint, fetched once and kept (it changes with deploys, not with key rotations)."""

from __future__ import annotations

import threading

import httpx

from . import _http
from .errors import ConfigurationError


class Discovery:
    """``<issuer>/.well-known/openid-configuration``, checked: its ``issuer`` must be ours
    exactly and every endpoint https (http only on loopback)."""

    def __init__(
        self,
        issuer: str,
        *,
        jwks_uri: str | None = None,
        introspection_endpoint: str | None = None,
        timeout: float = 5.0,
        max_bytes: int = 256 * 1024,
    ) -> None:
        self.issuer = _http.require_https(issuer, "issuer")
        self._jwks_uri = _http.require_https(jwks_uri, "jwks_uri") if jwks_uri else None
        self._introspection = (
            _http.require_https(introspection_endpoint, "introspection_endpoint")
            if introspection_endpoint
            else None
        )
        self._metadata: dict | None = None
        self._lock = threading.Lock()
        self.timeout = httpx.Timeout(timeout)
        self.max_bytes = max_bytes

    @property
    def url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"

    def _accept(self, document: dict) -> dict:
        if document.get("issuer") != self.issuer:
            raise _http.FetchError("discovery document names another issuer")
        for name in ("jwks_uri", "introspection_endpoint", "token_endpoint"):
            value = document.get(name)
            if value is not None:
                if not isinstance(value, str):
                    raise _http.FetchError(f"discovery {name} is not a string")
                try:
                    _http.require_https(value, name)
                except ConfigurationError as exc:
                    raise _http.FetchError(str(exc)) from None
        if not isinstance(document.get("jwks_uri"), str):
            raise _http.FetchError("discovery document has no jwks_uri")
        self._metadata = document
        return document

    def metadata(self) -> dict:
        if self._metadata is not None:
            return self._metadata
        with self._lock:
            if self._metadata is not None:
                return self._metadata
            document, _ = _http.get_json(self.url, self.timeout, self.max_bytes)
            return self._accept(document)

    async def ametadata(self) -> dict:
        if self._metadata is not None:
            return self._metadata
        document, _ = await _http.aget_json(self.url, self.timeout, self.max_bytes)
        return self._accept(document)

    def jwks_uri(self) -> str:
        return self._jwks_uri or self.metadata()["jwks_uri"]

    async def ajwks_uri(self) -> str:
        return self._jwks_uri or (await self.ametadata())["jwks_uri"]

    def _endpoint(self, metadata: dict, name: str) -> str:
        value = metadata.get(name)
        if not value:
            raise ConfigurationError(f"the issuer publishes no {name}")
        return value

    def introspection_endpoint(self) -> str:
        return self._introspection or self._endpoint(self.metadata(), "introspection_endpoint")

    async def aintrospection_endpoint(self) -> str:
        if self._introspection:
            return self._introspection
        return self._endpoint(await self.ametadata(), "introspection_endpoint")

    def token_endpoint(self) -> str:
        return self._endpoint(self.metadata(), "token_endpoint")

    async def atoken_endpoint(self) -> str:
        return self._endpoint(await self.ametadata(), "token_endpoint")
