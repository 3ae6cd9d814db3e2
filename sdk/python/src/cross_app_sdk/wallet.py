"""Server-to-server client of the credit API: :class:`WalletClient` and its async twin
:class:`AsyncWalletClient`.

Who acts: pass ``user`` as the user's ``sub`` (a string) to act with the app's own
client-credentials token (fetched, cached until shortly before it expires, refreshed
single-flight) for a user who granted the app the scope; or as a :class:`UserToken` /
the :class:`~cross_app_sdk.Claims` a guard verified, to forward the user's own token.

Retries: connection errors, 5xx and 429 (honouring ``Retry-After``) are retried with
exponential backoff and full jitter; other 4xx never.  Every mutating call carries an
idempotency key (generated when you give none) that each retry reuses, so a retry after a
dropped connection charges once.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from ._http import require_https
from .claims import Claims
from .errors import (
    ApiError,
    ConfigurationError,
    HoldNotActive,
    RateLimited,
    ServerError,
    TransportError,
    api_error_class,
)
from .models import (
    Balance,
    Checkout,
    Consumption,
    CreditCheck,
    HoldInfo,
    HoldResult,
    Package,
    TokenResponse,
    Transaction,
    TransactionPage,
)

_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_PERMANENT = frozenset({"payments_not_configured"})


@dataclass(frozen=True)
class UserToken:
    """A user's own access token (with the wallet scopes), to act as that user."""

    token: str = field(repr=False)


User = str | UserToken | Claims


def new_idempotency_key() -> str:
    return "sdk-" + uuid.uuid4().hex


@dataclass
class _Call:
    method: str
    path: str
    user: User | None
    params: dict[str, Any] = field(default_factory=dict)
    json: dict[str, Any] | None = None
    idempotency_key: str | None = None
    attempts: int = 0


@dataclass
class _AppToken:
    value: str
    refresh_at: float


class _Base:
    def __init__(
        self,
        issuer: str,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        scope: str | None = None,
        max_retries: int = 3,
        backoff: float = 0.2,
        max_backoff: float = 5.0,
        max_retry_after: float = 30.0,
        timeout: float = 10.0,
        token_endpoint: str | None = None,
        api_base: str | None = None,
        transport: Any = None,
    ) -> None:
        issuer = require_https(issuer, "issuer").rstrip("/")
        if bool(client_id) != bool(client_secret):
            raise ConfigurationError("give both client_id and client_secret, or neither")
        self.client_id = client_id
        self._client_secret = client_secret
        self.scope = scope
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.token_endpoint = require_https(token_endpoint or issuer + "/oauth/token", "token")
        self.api_base = require_https(api_base or issuer + "/api/cross-app", "api_base")
        self._http_options = {
            "timeout": httpx.Timeout(timeout),
            "follow_redirects": False,
            **({"transport": transport} if transport is not None else {}),
        }
        self._app_token: _AppToken | None = None

    # -- pieces shared by both clients ----------------------------------------------------
    def _user_token(self, user: User | None) -> str | None:
        """The user's own token, or None when the app's token is to be used."""
        if isinstance(user, UserToken):
            return user.token
        if isinstance(user, Claims):
            if not user.token:
                raise ConfigurationError("these Claims carry no token to forward")
            return user.token
        if user is None or (isinstance(user, str) and user):
            if not self.client_id:
                raise ConfigurationError("acting for a user by sub needs client credentials")
            return None
        raise ConfigurationError("user must be a sub, a UserToken or Claims")

    @staticmethod
    def _params(call: _Call) -> dict[str, Any]:
        params = {k: v for k, v in call.params.items() if v is not None}
        if isinstance(call.user, str):
            params["user"] = call.user
        return params

    def _headers(self, call: _Call, token: str) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if call.idempotency_key:
            headers["Idempotency-Key"] = call.idempotency_key
        return headers

    def _token_form(self) -> dict[str, str]:
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        return form

    def _store_token(self, body: dict) -> str:
        token = TokenResponse.from_dict(body)
        margin = min(30.0, token.expires_in / 10)
        self._app_token = _AppToken(
            token.access_token, time.monotonic() + token.expires_in - margin
        )
        return token.access_token

    def _cached_app_token(self) -> str | None:
        cached = self._app_token
        if cached is not None and time.monotonic() < cached.refresh_at:
            return cached.value
        return None

    def _delay(self, call: _Call, response: httpx.Response | None) -> float | None:
        """Seconds to wait before retrying, or None for "do not retry"."""
        if call.attempts > self.max_retries:
            return None
        if response is not None:
            if response.status_code not in _RETRY_STATUSES:
                return None
            if _error_code(response) in _PERMANENT:
                return None
            after = retry_after(response)
            if after is not None:
                return after if after <= self.max_retry_after else None
        ceiling = min(self.max_backoff, self.backoff * 2 ** (call.attempts - 1))
        return random.uniform(0, ceiling)  # full jitter

    @staticmethod
    def _result(response: httpx.Response) -> dict:
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            raise _error(response, body if isinstance(body, dict) else {})
        if not isinstance(body, dict):
            raise ServerError(
                "the server answered no JSON object", status_code=response.status_code
            )
        return body

    # -- request shapes --------------------------------------------------------------------
    @staticmethod
    def _consume_call(user, amount, service, idempotency_key) -> _Call:
        key = idempotency_key or new_idempotency_key()
        body = {"amount": amount, "service": service, "idempotency_key": key}
        return _Call("POST", "/credits/consume", user, json=body, idempotency_key=key)

    @staticmethod
    def _hold_call(user, amount, ttl, service, idempotency_key) -> _Call:
        key = idempotency_key or new_idempotency_key()
        body = {"amount": amount, "ttl_seconds": ttl, "service": service, "idempotency_key": key}
        return _Call("POST", "/credits/holds", user, json=body, idempotency_key=key)

    @staticmethod
    def _purchase_call(user, package_id, amount, success_url, cancel_url) -> _Call:
        body = {
            "package_id": package_id,
            "amount": amount,
            "success_url": success_url,
            "cancel_url": cancel_url,
        }
        return _Call("POST", "/credits/purchase", user, json={k: v for k, v in body.items() if v})


def retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date), or None."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
    except (TypeError, ValueError):
        return None


def _error_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None


def _error(response: httpx.Response, body: dict) -> ApiError:
    code = body.get("error") if isinstance(body.get("error"), str) else None
    cls = api_error_class(response.status_code, code)
    kwargs: dict[str, Any] = {"status_code": response.status_code, "error": code, "body": body}
    if cls is RateLimited:
        kwargs["retry_after"] = retry_after(response)
    if code == "insufficient_scope":
        kwargs["scope"] = _challenge_scope(response.headers.get("WWW-Authenticate", ""))
    return cls(body.get("error_description"), **kwargs)


def _challenge_scope(challenge: str) -> str:
    marker = 'scope="'
    start = challenge.find(marker)
    if start < 0:
        return ""
    end = challenge.find('"', start + len(marker))
    return challenge[start + len(marker) : end if end >= 0 else None]


class WalletClient(_Base):
    """The credit API, synchronous.  Thread-safe; build one per process.

    ``issuer``: the IdP's base URL.  ``client_id``/``client_secret``: a confidential app's
    credentials (needed to act for a user by ``sub``).  ``scope``: scopes to ask for in the
    client-credentials request (default: every resource scope the app holds).
    ``max_retries``, ``backoff``, ``max_backoff`` (seconds), ``max_retry_after``: a
    ``Retry-After`` longer than this raises :class:`RateLimited` at once.  ``timeout``: per
    network phase.  ``transport``: an httpx transport (proxies, custom TLS).
    """

    def __init__(self, issuer: str, **options: Any) -> None:
        super().__init__(issuer, **options)
        self._http = httpx.Client(**self._http_options)
        self._token_lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> WalletClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport -------------------------------------------------------------------------
    def _app_access_token(self, force: bool = False) -> str:
        if not force and (token := self._cached_app_token()):
            return token
        stale = self._app_token
        with self._token_lock:  # single flight: whoever waited reuses the fresh token
            if self._app_token is not stale and (token := self._cached_app_token()):
                return token
            call = _Call("POST", self.token_endpoint, None)
            response = self._retrying(
                call,
                lambda: self._http.post(
                    self.token_endpoint,
                    data=self._token_form(),
                    auth=(self.client_id, self._client_secret),
                ),
            )
            return self._store_token(self._result(response))

    def _retrying(self, call: _Call, send) -> httpx.Response:
        while True:
            call.attempts += 1
            try:
                response = send()
            except httpx.TransportError as exc:
                delay = self._delay(call, None)
                if delay is None:
                    raise TransportError(type(exc).__name__, status_code=0) from exc
                time.sleep(delay)
                continue
            delay = self._delay(call, response)
            if delay is None:
                return response
            response.close()
            time.sleep(delay)

    def _send(self, call: _Call) -> dict:
        own = self._user_token(call.user)
        renewed = False
        while True:
            token = own or self._app_access_token()
            response = self._retrying(
                call,
                lambda token=token: self._http.request(
                    call.method,
                    self.api_base + call.path,
                    params=self._params(call),
                    json=call.json,
                    headers=self._headers(call, token),
                ),
            )
            if response.status_code == 401 and own is None and not renewed:
                renewed = True  # the app token was revoked or the clock is off: once more
                self._app_access_token(force=True)
                continue
            return self._result(response)

    # -- the API ---------------------------------------------------------------------------
    def balance(self, user: User) -> Balance:
        """Balance, held, available and the packages on sale (``credits:read``)."""
        return Balance.from_dict(self._send(_Call("GET", "/credits", user)))

    def check(self, user: User, required: int) -> CreditCheck:
        """Whether ``required`` credits are available (``credits:read``)."""
        call = _Call("POST", "/credit-check", user, json={"required": required})
        return CreditCheck.from_dict(self._send(call))

    def consume(
        self, user: User, amount: int, service: str, idempotency_key: str | None = None
    ) -> Consumption:
        """Spend ``amount`` credits (``credits:consume``).  :class:`InsufficientCredits`
        (402), :class:`IdempotencyConflict` (409: the key was used for another request)."""
        return Consumption.from_dict(
            self._send(self._consume_call(user, amount, service, idempotency_key))
        )

    def hold(
        self,
        user: User,
        amount: int,
        ttl: int = 900,
        service: str = "default",
        idempotency_key: str | None = None,
    ) -> Hold:
        """Reserve ``amount`` credits for ``ttl`` seconds; returns a :class:`Hold`, also a
        context manager that releases the hold when the block ends without settling it."""
        call = self._hold_call(user, amount, ttl, service, idempotency_key)
        return Hold(self, user, HoldResult.from_dict(self._send(call)))

    def get_hold(self, user: User, hold_id: str) -> HoldInfo:
        call = _Call("GET", f"/credits/holds/{_segment(hold_id)}", user)
        return HoldResult.from_dict(self._send(call)).hold

    def capture(self, user: User, hold_id: str, amount: int | None = None) -> HoldResult:
        """Charge ``amount`` (default: all) of the hold, release the rest.
        :class:`HoldNotActive` if it was already settled or expired."""
        body = {} if amount is None else {"amount": amount}
        call = _Call("POST", f"/credits/holds/{_segment(hold_id)}/capture", user, json=body)
        try:
            return HoldResult.from_dict(self._send(call))
        except HoldNotActive as error:
            # A retry after a lost answer finds the hold settled by our first attempt.
            return self._settled_by_us(error, call, user, hold_id, "captured")

    def release(self, user: User, hold_id: str) -> HoldResult:
        """Give the whole hold back.  :class:`HoldNotActive` if already settled."""
        call = _Call("POST", f"/credits/holds/{_segment(hold_id)}/release", user, json={})
        try:
            return HoldResult.from_dict(self._send(call))
        except HoldNotActive as error:
            return self._settled_by_us(error, call, user, hold_id, "released")

    def _settled_by_us(self, error, call: _Call, user, hold_id: str, status: str) -> HoldResult:
        if call.attempts > 1:
            info = self.get_hold(user, hold_id)
            if info.status == status:
                return HoldResult(hold=info)
        raise error

    def transactions(
        self, user: User, *, limit: int = 50, client_id: str | None = None
    ) -> Iterator[Transaction]:
        """Every ledger entry, newest first, fetched page by page (``credits:read``)."""
        before = None
        while True:
            params = {"limit": limit, "before": before, "client_id": client_id}
            call = _Call("GET", "/credits/transactions", user, params=params)
            page = TransactionPage.from_dict(self._send(call))
            yield from page.transactions
            if page.next_before is None:
                return
            before = page.next_before

    def purchase(
        self,
        user: User,
        package_id: str | None = None,
        *,
        amount: int | None = None,
        success_url: str | None = None,
        cancel_url: str | None = None,
    ) -> Checkout:
        """Start a checkout (``credits:purchase``); URLs must be under the app's origins."""
        call = self._purchase_call(user, package_id, amount, success_url, cancel_url)
        return Checkout.from_dict(self._send(call))

    def purchase_url(self, user: User, package_id: str | None = None, **options: Any) -> str:
        """The checkout page to send the user's browser to."""
        return self.purchase(user, package_id, **options).url

    def packages(self) -> list[Package]:
        """The public catalogue (no token needed)."""
        call = _Call("GET", "/credits/packages", None)
        response = self._retrying(call, lambda: self._http.get(self.api_base + call.path))
        return [Package.from_dict(p) for p in self._result(response).get("packages", [])]


def _segment(hold_id: str) -> str:
    if not isinstance(hold_id, str) or not hold_id or not hold_id.replace("_", "").isalnum():
        raise ConfigurationError("not a hold id")
    return hold_id


class Hold:
    """An open hold.  ``with wallet.hold(user, 10, service="render") as h: ... h.capture(7)``
    releases it if the block raises (or ends without a capture or release)."""

    def __init__(self, client: WalletClient, user: User, result: HoldResult) -> None:
        self._client = client
        self._user = user
        self.result = result
        self.info = result.hold
        self.settled = result.hold.status != "active"

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def amount(self) -> int:
        return self.info.amount

    def capture(self, amount: int | None = None) -> HoldResult:
        result = self._client.capture(self._user, self.id, amount)
        self.info, self.settled = result.hold, True
        return result

    def release(self) -> HoldResult:
        result = self._client.release(self._user, self.id)
        self.info, self.settled = result.hold, True
        return result

    def __enter__(self) -> Hold:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.settled:
            return
        try:
            self.release()
        except HoldNotActive:
            self.settled = True  # expired meanwhile: nothing is held any more
        except ApiError:
            if exc_type is None:
                raise  # otherwise the block's own exception is the one to see


class AsyncWalletClient(_Base):
    """:class:`WalletClient` for asyncio: the same methods, awaited; ``transactions`` is an
    async iterator and ``hold`` works with ``async with`` as well as ``await``."""

    def __init__(self, issuer: str, **options: Any) -> None:
        super().__init__(issuer, **options)
        self._http = httpx.AsyncClient(**self._http_options)
        self._token_lock: asyncio.Lock | None = None

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncWalletClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _app_access_token(self, force: bool = False) -> str:
        if not force and (token := self._cached_app_token()):
            return token
        stale = self._app_token
        if self._token_lock is None:
            self._token_lock = asyncio.Lock()
        async with self._token_lock:
            if self._app_token is not stale and (token := self._cached_app_token()):
                return token
            call = _Call("POST", self.token_endpoint, None)
            response = await self._retrying(
                call,
                lambda: self._http.post(
                    self.token_endpoint,
                    data=self._token_form(),
                    auth=(self.client_id, self._client_secret),
                ),
            )
            return self._store_token(self._result(response))

    async def _retrying(self, call: _Call, send) -> httpx.Response:
        while True:
            call.attempts += 1
            try:
                response = await send()
            except httpx.TransportError as exc:
                delay = self._delay(call, None)
                if delay is None:
                    raise TransportError(type(exc).__name__, status_code=0) from exc
                await asyncio.sleep(delay)
                continue
            delay = self._delay(call, response)
            if delay is None:
                return response
            await response.aclose()
            await asyncio.sleep(delay)

    async def _send(self, call: _Call) -> dict:
        own = self._user_token(call.user)
        renewed = False
        while True:
            token = own or await self._app_access_token()
            response = await self._retrying(
                call,
                lambda token=token: self._http.request(
                    call.method,
                    self.api_base + call.path,
                    params=self._params(call),
                    json=call.json,
                    headers=self._headers(call, token),
                ),
            )
            if response.status_code == 401 and own is None and not renewed:
                renewed = True
                await self._app_access_token(force=True)
                continue
            return self._result(response)

    async def balance(self, user: User) -> Balance:
        return Balance.from_dict(await self._send(_Call("GET", "/credits", user)))

    async def check(self, user: User, required: int) -> CreditCheck:
        call = _Call("POST", "/credit-check", user, json={"required": required})
        return CreditCheck.from_dict(await self._send(call))

    async def consume(
        self, user: User, amount: int, service: str, idempotency_key: str | None = None
    ) -> Consumption:
        call = self._consume_call(user, amount, service, idempotency_key)
        return Consumption.from_dict(await self._send(call))

    def hold(
        self,
        user: User,
        amount: int,
        ttl: int = 900,
        service: str = "default",
        idempotency_key: str | None = None,
    ) -> _AsyncHoldStart:
        return _AsyncHoldStart(
            self, user, self._hold_call(user, amount, ttl, service, idempotency_key)
        )

    async def get_hold(self, user: User, hold_id: str) -> HoldInfo:
        call = _Call("GET", f"/credits/holds/{_segment(hold_id)}", user)
        return HoldResult.from_dict(await self._send(call)).hold

    async def capture(self, user: User, hold_id: str, amount: int | None = None) -> HoldResult:
        body = {} if amount is None else {"amount": amount}
        call = _Call("POST", f"/credits/holds/{_segment(hold_id)}/capture", user, json=body)
        try:
            return HoldResult.from_dict(await self._send(call))
        except HoldNotActive as error:
            return await self._settled_by_us(error, call, user, hold_id, "captured")

    async def release(self, user: User, hold_id: str) -> HoldResult:
        call = _Call("POST", f"/credits/holds/{_segment(hold_id)}/release", user, json={})
        try:
            return HoldResult.from_dict(await self._send(call))
        except HoldNotActive as error:
            return await self._settled_by_us(error, call, user, hold_id, "released")

    async def _settled_by_us(self, error, call, user, hold_id, status) -> HoldResult:
        if call.attempts > 1:
            info = await self.get_hold(user, hold_id)
            if info.status == status:
                return HoldResult(hold=info)
        raise error

    async def transactions(
        self, user: User, *, limit: int = 50, client_id: str | None = None
    ) -> AsyncIterator[Transaction]:
        before = None
        while True:
            params = {"limit": limit, "before": before, "client_id": client_id}
            call = _Call("GET", "/credits/transactions", user, params=params)
            page = TransactionPage.from_dict(await self._send(call))
            for entry in page.transactions:
                yield entry
            if page.next_before is None:
                return
            before = page.next_before

    async def purchase(
        self,
        user: User,
        package_id: str | None = None,
        *,
        amount: int | None = None,
        success_url: str | None = None,
        cancel_url: str | None = None,
    ) -> Checkout:
        call = self._purchase_call(user, package_id, amount, success_url, cancel_url)
        return Checkout.from_dict(await self._send(call))

    async def purchase_url(self, user: User, package_id: str | None = None, **options) -> str:
        return (await self.purchase(user, package_id, **options)).url

    async def packages(self) -> list[Package]:
        call = _Call("GET", "/credits/packages", None)
        response = await self._retrying(call, lambda: self._http.get(self.api_base + call.path))
        return [Package.from_dict(p) for p in self._result(response).get("packages", [])]


class _AsyncHoldStart:
    """``await wallet.hold(...)`` or ``async with wallet.hold(...) as h``."""

    def __init__(self, client: AsyncWalletClient, user: User, call: _Call) -> None:
        self._client, self._user, self._call = client, user, call
        self._hold: AsyncHold | None = None

    async def _start(self) -> AsyncHold:
        result = HoldResult.from_dict(await self._client._send(self._call))
        self._hold = AsyncHold(self._client, self._user, result)
        return self._hold

    def __await__(self):
        return self._start().__await__()

    async def __aenter__(self) -> AsyncHold:
        return await self._start()

    async def __aexit__(self, exc_type, exc, tb) -> None:
        hold = self._hold
        if hold is None or hold.settled:
            return
        try:
            await hold.release()
        except HoldNotActive:
            hold.settled = True
        except ApiError:
            if exc_type is None:
                raise


class AsyncHold:
    """An open hold of :class:`AsyncWalletClient`."""

    def __init__(self, client: AsyncWalletClient, user: User, result: HoldResult) -> None:
        self._client = client
        self._user = user
        self.result = result
        self.info = result.hold
        self.settled = result.hold.status != "active"

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def amount(self) -> int:
        return self.info.amount

    async def capture(self, amount: int | None = None) -> HoldResult:
        result = await self._client.capture(self._user, self.id, amount)
        self.info, self.settled = result.hold, True
        return result

    async def release(self) -> HoldResult:
        result = await self._client.release(self._user, self.id)
        self.info, self.settled = result.hold, True
        return result
