"""The optional revocation check: RFC 7662 introspection with the app's credentials.

Offline verification cannot see a revocation before the token expires; where a revoked
token must not pass (spending credits), ``verify(..., introspect=True)`` asks the IdP.
Answers are cached by ``jti``: "active" for ``ttl`` seconds (never past ``exp``),
"inactive" until ``exp`` (a revoked token never becomes active again).  When the IdP
cannot answer, the token is refused with :class:`IntrospectionUnavailable` (fail closed).
"""

from __future__ import annotations

import threading
import time

import httpx

from .claims import Claims
from .errors import ConfigurationError, IntrospectionUnavailable, InvalidToken, Reason

MAX_ENTRIES = 10_000


class _Cache:
    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.entries: dict[str, tuple[bool, float]] = {}
        self.lock = threading.Lock()

    def get(self, jti: str) -> bool | None:
        found = self.entries.get(jti)
        if found is None or found[1] <= time.time():
            return None
        return found[0]

    def put(self, claims: Claims, active: bool) -> None:
        until = min(time.time() + self.ttl, claims.exp) if active else claims.exp
        with self.lock:
            if len(self.entries) >= MAX_ENTRIES:
                now = time.time()
                self.entries = {k: v for k, v in self.entries.items() if v[1] > now}
                while len(self.entries) >= MAX_ENTRIES:
                    del self.entries[next(iter(self.entries))]
            self.entries[claims.jti] = (active, until)


class _Base:
    def __init__(self, discovery, client_id, client_secret, ttl: float, timeout: float) -> None:
        self.discovery = discovery
        self.client_id = client_id
        self.client_secret = client_secret
        self.cache = _Cache(ttl)
        self.timeout = httpx.Timeout(timeout)

    def _request(self, claims: Claims) -> dict:
        if not (self.client_id and self.client_secret):
            raise ConfigurationError("introspection needs the app's client_id and client_secret")
        return {
            "auth": (self.client_id, self.client_secret),
            "data": {"token": claims.token, "token_type_hint": "access_token"},
        }

    def _conclude(self, claims: Claims, response: httpx.Response) -> None:
        if response.status_code != 200:
            raise IntrospectionUnavailable(f"introspection answered HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise IntrospectionUnavailable("introspection answered no JSON") from None
        active = isinstance(body, dict) and body.get("active") is True
        # An active answer about another token (or a refresh token) is not an answer.
        if active and (body.get("jti") != claims.jti or body.get("token_type") == "refresh_token"):
            active = False
        self.cache.put(claims, active)
        _raise_unless(active)


def _raise_unless(active: bool) -> None:
    if not active:
        raise InvalidToken(Reason.REVOKED, "the token was revoked")


class Introspector(_Base):
    def check(self, claims: Claims) -> None:
        cached = self.cache.get(claims.jti)
        if cached is not None:
            return _raise_unless(cached)
        request = self._request(claims)
        try:
            url = self.discovery.introspection_endpoint()
            with httpx.Client(timeout=self.timeout, follow_redirects=False) as client:
                response = client.post(url, **request)
        except (httpx.HTTPError, OSError) as exc:
            raise IntrospectionUnavailable(f"introspection failed: {type(exc).__name__}") from exc
        except Exception as exc:  # discovery failure
            raise IntrospectionUnavailable(f"introspection failed: {exc}") from exc
        self._conclude(claims, response)


class AsyncIntrospector(_Base):
    async def check(self, claims: Claims) -> None:
        cached = self.cache.get(claims.jti)
        if cached is not None:
            return _raise_unless(cached)
        request = self._request(claims)
        try:
            url = await self.discovery.aintrospection_endpoint()
            async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as client:
                response = await client.post(url, **request)
        except (httpx.HTTPError, OSError) as exc:
            raise IntrospectionUnavailable(f"introspection failed: {type(exc).__name__}") from exc
        except Exception as exc:
            raise IntrospectionUnavailable(f"introspection failed: {exc}") from exc
        self._conclude(claims, response)
