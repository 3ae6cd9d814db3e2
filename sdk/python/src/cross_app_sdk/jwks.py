"""The JWKS cache: the reason this SDK exists.

- Fresh for the response's ``Cache-Control: max-age`` (minus ``Age``), kept between a floor
  and a ceiling; without one, ``default_ttl``.
- An unknown ``kid`` refetches at most once per ``cooldown`` (as panva/jose does), with one
  fetch in flight (per process for :class:`KeyCache`, per event loop for
  :class:`AsyncKeyCache`); kids found missing are remembered for ``negative_ttl``.
- A failed fetch (network, status, size, garbage, no usable key) never replaces the last
  good set: it is served for ``max_stale`` past its freshness, the failure logged once.
- A successful fetch replaces the whole set, so a key the IdP stopped publishing stops
  verifying then.
- Keys are picked by ``kid``, then by ``use`` (``sig`` or absent) and ``alg`` (absent, or
  the token's, which must itself be one of the configured algorithms).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any

import httpx

from . import _http
from .errors import InvalidToken, KeySetUnavailable, Reason
from .keyset import parse_key_set

log = logging.getLogger("cross_app_sdk")

_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d{1,10})\"?", re.IGNORECASE)


@dataclass(frozen=True)
class CachePolicy:
    """The knobs of the key cache (seconds and bytes)."""

    min_ttl: float = 60.0  # floor on max-age: a max-age=0 must not mean a fetch per request
    max_ttl: float = 3600.0  # ceiling: a year-long max-age must not pin keys for a year
    default_ttl: float = 300.0  # no Cache-Control at all
    cooldown: float = 30.0  # at most one unknown-kid refetch (or retry after a failure) per this
    negative_ttl: float = 10.0  # a kid found missing is refused without a lookup this long
    negative_size: int = 4096  # bound on remembered missing kids (kid sprays)
    max_stale: float = 86400.0  # serve the last good set this long past its freshness
    max_bytes: int = 256 * 1024  # JWKS and discovery response size cap
    timeout: float = 5.0  # per network phase (connect, read, write, pool)


def ttl_from(headers: httpx.Headers, policy: CachePolicy) -> float:
    """Freshness from ``Cache-Control`` (``no-cache``/``no-store`` count as the floor)."""
    value = headers.get("Cache-Control", "")
    lowered = value.lower()
    if "no-store" in lowered or "no-cache" in lowered:
        return policy.min_ttl
    match = _MAX_AGE.search(value)
    if not match:
        return min(max(policy.default_ttl, policy.min_ttl), policy.max_ttl)
    ttl = float(match.group(1))
    age = headers.get("Age", "")
    if age.isdigit():
        ttl -= float(age)
    return min(max(ttl, policy.min_ttl), policy.max_ttl)


_FETCH = object()  # "fetch, then look again"


class _CacheState:
    """State and decisions shared by the sync and async caches (no I/O here)."""

    def __init__(self, source, algorithms: tuple[str, ...], policy: CachePolicy) -> None:
        self.source = source  # gives the jwks_uri (discovery)
        self.algorithms = algorithms
        self.policy = policy
        self.keys: dict[str, dict[str, Any]] | None = None
        self.fresh_until = -math.inf
        self.usable_until = -math.inf
        self.last_attempt = -math.inf
        self.generation = 0  # completed fetches
        self.in_flight = False
        self.failing = False
        self.negative: dict[str, float] = {}
        self.fetches = 0  # successful or not, for observability
        self.timeout = httpx.Timeout(policy.timeout)

    # -- decisions -----------------------------------------------------------------------
    def try_get(self, kid: str, alg: str, now: float):
        """The key, :data:`_FETCH`, or an exception raised."""
        keys = self.keys
        if keys is not None and now < self.fresh_until:
            entry = keys.get(kid)
            if entry is not None:
                return _select(entry, kid, alg)
            if self.in_flight:  # wait for it: it may bring this kid
                return _FETCH
            until = self.negative.get(kid)
            if (until is not None and until > now) or now - self.last_attempt < self.retry_gap():
                self.remember_missing(kid, now)
                raise InvalidToken(Reason.UNKNOWN_KID, "no published key has this kid")
            return _FETCH
        # Past freshness (or empty).  While one request refreshes, the others serve what
        # the stale set has instead of queueing behind a slow IdP.
        if keys is not None and self.in_flight and now < self.usable_until:
            entry = keys.get(kid)
            if entry is not None:
                return _select(entry, kid, alg)
        if not self.in_flight and now - self.last_attempt < self.retry_gap():
            return self.after_fetch(kid, alg, now)
        return _FETCH

    def retry_gap(self) -> float:
        # Until a first set is in, a failed start-up fetch is retried sooner.
        return self.policy.cooldown if self.keys is not None else min(self.policy.cooldown, 5.0)

    def after_fetch(self, kid: str, alg: str, now: float):
        keys = self.keys
        if keys is None or now >= self.usable_until:
            raise KeySetUnavailable("no signing keys could be fetched from the issuer")
        entry = keys.get(kid)
        if entry is None:
            self.remember_missing(kid, now)
            raise InvalidToken(Reason.UNKNOWN_KID, "no published key has this kid")
        return _select(entry, kid, alg)

    def remember_missing(self, kid: str, now: float) -> None:
        negative = self.negative
        negative[kid] = now + self.policy.negative_ttl
        if len(negative) > self.policy.negative_size:
            with contextlib.suppress(KeyError, RuntimeError, StopIteration):  # a race: fine
                del negative[next(iter(negative))]

    # -- outcomes ------------------------------------------------------------------------
    def begin(self) -> None:
        self.last_attempt = time.monotonic()
        self.in_flight = True
        self.fetches += 1

    def end(self) -> None:
        self.generation += 1
        self.in_flight = False

    def succeeded(self, document: dict, headers: httpx.Headers) -> bool:
        try:
            keys = parse_key_set(document, self.algorithms)
        except _http.FetchError as exc:
            return self.failed(exc)
        now = time.monotonic()
        ttl = ttl_from(headers, self.policy)
        self.keys = keys
        self.fresh_until = now + ttl
        self.usable_until = now + ttl + self.policy.max_stale
        self.negative = {}
        if self.failing:
            log.warning("JWKS fetch recovered; %d signing keys", len(keys))
            self.failing = False
        return True

    def failed(self, exc: Exception) -> bool:
        if not self.failing:
            self.failing = True
            if self.keys is not None:
                log.warning(
                    "JWKS fetch failed (%s); serving the last good key set for up to %.0f s",
                    exc,
                    max(self.usable_until - time.monotonic(), 0.0),
                )
            else:
                log.warning("JWKS fetch failed (%s); no signing keys yet", exc)
        return False


def _select(entry: dict[str, Any], kid: str, alg: str):
    key = entry.get(alg)
    if key is None:
        raise InvalidToken(
            Reason.UNKNOWN_KID, "the key with this kid is not published for this alg"
        )
    return key


class KeyCache(_CacheState):
    """Thread-safe JWKS cache (see the module docstring)."""

    def __init__(self, source, algorithms: tuple[str, ...], policy: CachePolicy) -> None:
        super().__init__(source, algorithms, policy)
        self._lock = threading.Lock()

    def get(self, kid: str, alg: str):
        """The public key for ``kid`` and ``alg``; :class:`InvalidToken` (unknown kid) or
        :class:`KeySetUnavailable`."""
        generation = self.generation  # before deciding: a fetch ending meanwhile counts
        found = self.try_get(kid, alg, time.monotonic())
        if found is not _FETCH:
            return found
        with self._lock:
            if self.generation == generation:  # nobody fetched while we waited
                self._fetch()
        return self.after_fetch(kid, alg, time.monotonic())

    def refresh(self) -> bool:
        """Fetch now, whatever the cooldown; a failure keeps the current set.  True if a
        new set is in."""
        with self._lock:
            return self._fetch()

    def _fetch(self) -> bool:
        self.begin()
        try:
            document, headers = _http.get_json(
                self.source.jwks_uri(), self.timeout, self.policy.max_bytes
            )
            return self.succeeded(document, headers)
        except Exception as exc:
            return self.failed(exc)
        finally:
            self.end()


class AsyncKeyCache(_CacheState):
    """The asyncio JWKS cache: one fetch in flight per event loop."""

    def __init__(self, source, algorithms: tuple[str, ...], policy: CachePolicy) -> None:
        super().__init__(source, algorithms, policy)
        self._locks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    async def get(self, kid: str, alg: str):
        generation = self.generation
        found = self.try_get(kid, alg, time.monotonic())
        if found is not _FETCH:
            return found
        async with self._lock():
            if self.generation == generation:
                await self._fetch()
        return self.after_fetch(kid, alg, time.monotonic())

    async def refresh(self) -> bool:
        async with self._lock():
            return await self._fetch()

    async def _fetch(self) -> bool:
        self.begin()
        try:
            uri = await self.source.ajwks_uri()
            document, headers = await _http.aget_json(uri, self.timeout, self.policy.max_bytes)
            return self.succeeded(document, headers)
        except Exception as exc:
            return self.failed(exc)
        finally:
            self.end()
