"""Bounded JSON GETs for discovery and the JWKS: timeouts, no redirects, a size cap."""

from __future__ import annotations

import ipaddress
import json
from urllib.parse import urlsplit

import httpx

from .errors import ConfigurationError, CrossAppError


class FetchError(CrossAppError):
    """A metadata or key-set fetch failed (network, status, size, not JSON)."""


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def require_https(url: str, what: str) -> str:
    """``url`` must be https, or http on a loopback host (local development and tests)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and is_loopback(parts.hostname):
        return url
    raise ConfigurationError(f"{what} must be an https URL (http only on loopback): {url!r}")


def _check(response: httpx.Response, max_bytes: int) -> None:
    if response.status_code != 200:
        raise FetchError(f"HTTP {response.status_code}")
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"response larger than {max_bytes} bytes")


def _parse(body: bytes) -> dict:
    try:
        document = json.loads(body)
    except ValueError:
        raise FetchError("response is not JSON") from None
    if not isinstance(document, dict):
        raise FetchError("response is not a JSON object")
    return document


def _too_big(max_bytes: int) -> FetchError:
    return FetchError(f"response larger than {max_bytes} bytes")


def get_json(url: str, timeout: httpx.Timeout, max_bytes: int) -> tuple[dict, httpx.Headers]:
    """GET ``url``; the JSON object and the response headers, or :class:`FetchError`."""
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=False) as client,
            client.stream("GET", url, headers={"Accept": "application/json"}) as response,
        ):
            _check(response, max_bytes)
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise _too_big(max_bytes)
    except httpx.HTTPError as exc:
        raise FetchError(type(exc).__name__) from exc
    return _parse(bytes(body)), response.headers


async def aget_json(url: str, timeout: httpx.Timeout, max_bytes: int) -> tuple[dict, httpx.Headers]:
    """The async :func:`get_json`."""
    try:
        async with (
            httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client,
            client.stream("GET", url, headers={"Accept": "application/json"}) as response,
        ):
            _check(response, max_bytes)
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise _too_big(max_bytes)
    except httpx.HTTPError as exc:
        raise FetchError(type(exc).__name__) from exc
    return _parse(bytes(body)), response.headers
